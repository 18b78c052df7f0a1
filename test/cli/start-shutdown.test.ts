// `rewards start` shutdown details on the embedded log: /health/ready answers 503 while the
// application is closing (readiness goes false before anything closes), REWARDS_METRICS_PORT moves
// /metrics to its own listener, and a second signal exits 1 at once.
import t from 'tap'
import { cleanEnv, freePort, RunningCli, waitForStatus } from './cli-helpers.ts'

t.test('readiness is 503 during the graceful shutdown; /metrics on its own port', async t => {
  const cwd = t.testdir({})
  const metricsPort = await freePort()
  const cli = new RunningCli(['start', '--role', 'processor', '--http-port', '0', '--metrics-port', String(metricsPort)], { cwd, env: cleanEnv() })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${await cli.httpPort()}`
  await waitForStatus(`${base}/health/ready`, 200)

  const onMain = await fetch(`${base}/metrics`)
  t.equal(onMain.status, 404, '/metrics is not on the main listener')
  t.match(await onMain.json(), { error: { code: 'NOT_FOUND' } })
  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
  t.equal(metrics.status, 200)
  t.match(await metrics.text(), /streams_application_state\{state="RUNNING"\} 1/)

  cli.child.kill('SIGTERM')
  // Signals are delivered asynchronously: from the moment the process reacted to it until the
  // listener closes (after the application has closed), readiness must say 503.
  await cli.waitForLine(l => l.msg === 'shutting down (SIGTERM): readiness is now false', 10_000)
  const seen = new Set<string>()
  while (cli.child.exitCode === null) {
    try {
      seen.add(String((await fetch(`${base}/health/ready`)).status))
    } catch {
      seen.add('closed')
    }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  t.same(await cli.waitForExit(30_000), { code: 0, signal: null })
  t.ok(seen.has('503'), `503 while shutting down (saw ${[...seen].join(', ')})`)
  t.notOk(seen.has('200'), 'never ready again once the signal arrived')
})

t.test('a second signal exits 1 without waiting for the graceful shutdown', async t => {
  const cwd = t.testdir({})
  const cli = new RunningCli(['start', '--role', 'processor', '--http-port', '0'], { cwd, env: cleanEnv() })
  t.teardown(() => cli.kill())
  await waitForStatus(`http://127.0.0.1:${await cli.httpPort()}/health/ready`, 200)
  cli.child.kill('SIGTERM')
  await cli.waitForLine(l => l.msg === 'shutting down (SIGTERM): readiness is now false', 10_000)
  cli.child.kill('SIGINT')
  t.same(await cli.waitForExit(10_000), { code: 1, signal: null })
  t.ok(cli.lines.some(l => l.msg === 'second SIGINT: exiting without finishing the shutdown'))
})
