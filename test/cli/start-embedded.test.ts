// `rewards start` with NO configuration, in a temp working directory: the embedded platform comes
// up (log and state under ./data), /health/ready turns 200, /metrics and /v1/topology answer,
// the processor turns pre-published events into balances, SIGTERM shuts down gracefully (exit 0),
// and `rewards store get` then reads the stopped instance's balances from ./data.
import { join } from 'node:path'
import t from 'tap'
import { openEmbeddedLog } from '../../log/embedded/index.ts'
import { ensurePlatformTopics } from '../../lib/platform-topics.ts'
import { ROLE_NAMES, ROLES } from '../../cli/roles/index.ts'
import { cleanEnv, freePort, portIsFree, rewardEvent, runCli, RunningCli, waitForStatus } from './cli-helpers.ts'

t.test('rewards start, embedded, with no configuration', async t => {
  const cwd = t.testdir({})
  // Events published before the platform starts (the embedded log admits one process at a time).
  const log = await openEmbeddedLog({ dir: join(cwd, 'data', 'log') })
  await ensurePlatformTopics(log, { topicPrefix: '', partitions: 12 })
  const producer = await log.createProducer({ clientId: 'test' })
  await producer.send([
    { topic: 'reward-events', key: Buffer.from('M-1'), value: rewardEvent('M-1', 'e-1', 12_345), timestamp: Date.parse('2026-03-01T12:00:00Z') },
    { topic: 'reward-events', key: Buffer.from('M-1'), value: rewardEvent('M-1', 'e-2', 50_000, '2026-03-01T13:00:00Z'), timestamp: Date.parse('2026-03-01T13:00:00Z') },
    { topic: 'reward-events', key: Buffer.from('M-2'), value: rewardEvent('M-2', 'e-3', 100), timestamp: Date.parse('2026-03-01T12:00:00Z') }
  ])
  await producer.close()
  await log.close()

  // No configuration at all; only if another process holds the default port 8080 does the test
  // have to move it (and says so).
  const defaultPortFree = await portIsFree(8080)
  const port = defaultPortFree ? 8080 : await freePort()
  if (!defaultPortFree) t.comment(`port 8080 is taken on this machine: using --http-port ${port}, everything else unconfigured`)
  const cli = new RunningCli(defaultPortFree ? ['start'] : ['start', '--http-port', String(port)], { cwd, env: cleanEnv() })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${port}`

  t.equal(await cli.httpPort(), port)
  t.equal((await waitForStatus(`${base}/health/live`, 200)).status, 200, 'live as soon as it listens')
  const ready = await waitForStatus(`${base}/health/ready`, 200)
  t.match(await ready.json(), { status: 'ready', checks: { processor: { ready: true, detail: /RUNNING with 24 task/ } } })
  for (const name of ROLE_NAMES) {
    const said = cli.lines.some(l => l.level === 'warn' && l.msg.startsWith(`role ${name} is not available yet`))
    t.equal(said, ROLES[name].factory === null, ROLES[name].factory === null ? `says role ${name} is not available yet` : `runs role ${name}`)
  }

  const metrics = await fetch(`${base}/metrics`, { headers: { 'x-request-id': 'test-req-1' } })
  t.equal(metrics.status, 200)
  t.equal(metrics.headers.get('x-request-id'), 'test-req-1', 'x-request-id echoed')
  const text = await metrics.text()
  t.match(text, /streams_application_state\{state="RUNNING"\} 1/)
  t.match(text, /process_cpu_user_seconds_total/, 'default process metrics')
  t.match(text, /nodejs_eventloop_lag_seconds/)

  const topology = await fetch(`${base}/v1/topology`)
  t.equal(topology.status, 200)
  t.ok(topology.headers.get('x-request-id'), 'x-request-id generated')
  const view = await topology.json() as { description: { subtopologies: unknown[] }, text: string, mermaid: string }
  t.equal(view.description.subtopologies.length, 2, "the members' sub-topology and the points windows'")
  t.match(view.text, /Sub-topology: 0/)
  t.match(view.mermaid, /reward-events/)
  const missing = await fetch(`${base}/v1/nope`)
  t.equal(missing.status, 404)
  t.match(missing.headers.get('content-type'), /^application\/problem\+json/)
  t.match(await missing.json(), { type: 'urn:rewards:problem:not-found', status: 404, code: 'NOT_FOUND', instance: '/v1/nope', error: { code: 'NOT_FOUND', message: 'Route GET /v1/nope not found' } })

  // The three events are processed (counted once their batch is processed).
  const deadline = Date.now() + 60_000
  for (;;) {
    const body = await (await fetch(`${base}/metrics`)).text()
    const consumed = [...body.matchAll(/^streams_records_consumed_total\{topic="reward-events"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0)
    if (consumed >= 3) break
    if (Date.now() > deadline) t.fail(`only ${consumed} records consumed`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }

  // While it runs, its state directory is locked: the store command refuses and points to HTTP.
  const locked = await runCli(['store', 'get', 'balances', 'M-1', ...(defaultPortFree ? [] : ['--http-port', String(port)])], { cwd, env: cleanEnv() })
  t.equal(locked.code, 1)
  t.match(locked.stderr, /\[STATE_DIR_LOCKED\].*in use by a running instance.*HTTP API \(e\.g\. GET http:\/\/127\.0\.0\.1:\d+\/v1\/members\//)

  const signalledAt = Date.now()
  cli.child.kill('SIGTERM')
  const exit = await cli.waitForExit(30_000)
  t.same(exit, { code: 0, signal: null }, `exit 0 after SIGTERM (${Date.now() - signalledAt} ms)`)
  const order = ['shutting down (SIGTERM): readiness is now false', 'stream application PENDING_SHUTDOWN -> NOT_RUNNING', 'stopped']
  const at = order.map(msg => cli.lines.findIndex(l => l.msg === msg))
  t.ok(at.every(i => i >= 0) && at[0]! < at[1]! && at[1]! < at[2]!, 'readiness false, then the application closes, then the process stops')

  // The stopped instance's stores, read from ./data.
  const got = await runCli(['store', 'get', 'balances', 'M-1', '--json'], { cwd, env: cleanEnv() })
  t.equal(got.code, 0, got.stderr)
  const entry = JSON.parse(got.stdout) as { task: string, key: string, value: Record<string, unknown> }
  t.equal(entry.key, 'M-1')
  t.match(entry.task, /^0_\d+$/)
  // HOTEL, MEMBER tier: floor(12345 × 10000 × 10000 / 10^9) + floor(50000 × 10000 × 10000 / 10^9)
  t.match(entry.value, { memberId: 'M-1', earned: 1234 + 5000, available: 6234, redeemed: 0, tier: 'MEMBER', events: 2 })

  const absent = await runCli(['store', 'get', 'balances', 'M-404'], { cwd, env: cleanEnv() })
  t.equal(absent.code, 1)
  t.match(absent.stderr, /^rewards store get: \[KEY_NOT_FOUND\] key "M-404" not found in store balances \(12 task\(s\) searched\)/)

  const scan = await runCli(['store', 'scan', 'balances', '--prefix', 'M-', '--limit', '10'], { cwd, env: cleanEnv() })
  t.equal(scan.code, 0, scan.stderr)
  const rows = scan.stdout.trim().split('\n').map(line => JSON.parse(line) as { key: string })
  t.same(rows.map(r => r.key), ['M-1', 'M-2'], 'both members, in key order across tasks')

  const activity = await runCli(['store', 'scan', 'activity', '--prefix', 'M-1:', '--json'], { cwd, env: cleanEnv() })
  t.equal(activity.code, 0, activity.stderr)
  t.equal((JSON.parse(activity.stdout) as unknown[]).length, 2, 'two activity entries for M-1')

  const unknownStore = await runCli(['store', 'get', 'nope', 'x'], { cwd, env: cleanEnv() })
  t.equal(unknownStore.code, 1)
  t.match(unknownStore.stderr, /\[STORE_NOT_FOUND\] no store "nope" in the rewards topology; stores: balances/)

  // Restarting on the same data directory works (lock released, state kept).
  const again = new RunningCli(['start', '--http-port', '0'], { cwd, env: cleanEnv() })
  t.teardown(() => again.kill())
  const againPort = await again.httpPort()
  await waitForStatus(`http://127.0.0.1:${againPort}/health/ready`, 200)
  again.child.kill('SIGINT')
  t.same(await again.waitForExit(30_000), { code: 0, signal: null }, 'SIGINT: exit 0 too')
})

const unavailable = ROLE_NAMES.find(name => ROLES[name].factory === null)
t.test(`rewards start --role ${unavailable ?? '<none>'}: says it is not available, serves the ops endpoints, is never ready`, { skip: unavailable === undefined ? 'every role is available' : false }, async t => {
  const cwd = t.testdir({})
  const cli = new RunningCli(['start', '--role', unavailable!, '--http-port', '0'], { cwd, env: cleanEnv() })
  t.teardown(() => cli.kill())
  const port = await cli.httpPort()
  t.ok(cli.lines.some(l => l.level === 'warn' && l.msg.startsWith(`role ${unavailable!} is not available yet in this build:`)))
  await waitForStatus(`http://127.0.0.1:${port}/health/live`, 200)
  const ready = await fetch(`http://127.0.0.1:${port}/health/ready`)
  t.equal(ready.status, 503)
  t.match(await ready.json(), { error: { code: 'NOT_READY', message: new RegExp(`${unavailable!}: role not available in this build`) } })
  cli.child.kill('SIGTERM')
  t.same(await cli.waitForExit(15_000), { code: 0, signal: null })
})
