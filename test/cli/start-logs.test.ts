// What `rewards start` says (docs/observability.md "Logs"): a short start line instead of the
// whole configuration, the configuration only at debug, one "ready on <URL> (roles: …)" line; and
// coloured text when its stderr is a terminal (run under `script`, which gives it a pty).
import { spawn } from 'node:child_process'
import t from 'tap'
import { cleanEnv, CLI, NODE, RunningCli, waitForStatus } from './cli-helpers.ts'

t.setTimeout(600_000)

t.test('JSON off a terminal: a short start line, then one ready line with the URLs', async t => {
  const cli = new RunningCli(['start', '--role', 'processor', '--http-port', '0'], { cwd: t.testdir({}), env: cleanEnv() })
  t.teardown(() => cli.kill())
  const ready = await cli.waitForLine(l => l.event === 'ready', 120_000)
  const port = await cli.httpPort()
  const first = cli.lines[0]!
  t.match(first.msg, /^rewards \d+\.\d+\.\d+ starting \(roles: processor; log: the embedded log in .*; archive: embedded PostgreSQL in .*; cache: in-process cache\)$/)
  t.ok(JSON.stringify(first).length < 600, `the first line is short (${JSON.stringify(first).length} bytes)`)
  t.notOk(cli.lines.some(l => 'config' in l), 'no configuration at info level')
  t.equal(ready.msg, `ready on http://127.0.0.1:${port} (roles: processor; health http://127.0.0.1:${port}/health/ready, metrics http://127.0.0.1:${port}/metrics)`)
  t.same(ready.roles, ['processor'])
  t.equal(cli.lines.filter(l => l.event === 'ready').length, 1, 'one ready line')
  await waitForStatus(`http://127.0.0.1:${port}/health/ready`, 200)
  cli.child.kill('SIGTERM')
  t.same(await cli.waitForExit(60_000), { code: 0, signal: null })
})

t.test('--log-level debug adds the effective configuration, secrets masked', async t => {
  const cli = new RunningCli(['start', '--role', 'processor', '--http-port', '0', '--log-level', 'debug', '--redis-url', 'redis://:s3cret@127.0.0.1:1'], { cwd: t.testdir({}), env: cleanEnv() })
  t.teardown(() => cli.kill())
  const line = await cli.waitForLine(l => l.msg === 'effective configuration', 120_000)
  t.match(line.config, { REWARDS_REDIS_URL: 'redis://:***@127.0.0.1:1', REWARDS_LOG_LEVEL: 'debug' })
  t.notMatch(cli.stderr, 's3cret')
})

t.test('on a terminal: coloured text, and still the ready line', async t => {
  // bash runs rewards and then says its exit status: the assertion is on rewards' own status,
  // and `script`'s (which is bash's) is reported beside it, so a failure says whose it was.
  const command = [NODE, CLI, 'start', '--role', 'processor', '--http-port', '0'].map(a => `'${a}'`).join(' ')
  const child = spawn('script', ['-qfec', `${command}; echo "[rewards exit status $?]"`, '/dev/null'], { cwd: t.testdir({}), env: cleanEnv({ TERM: 'xterm', SHELL: '/bin/bash' }), stdio: ['pipe', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', chunk => { output += chunk })
  const exited = new Promise<string>(resolve => child.on('close', (code, signal) => resolve(signal === null ? `exit ${code}` : `signal ${signal}`)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 120 s\n${output}`)), 120_000)
    const check = (): void => { if (/ready on http:\/\/127\.0\.0\.1:\d+/.test(output)) { clearTimeout(timer); resolve() } }
    child.stdout.on('data', check)
  })
  t.notMatch(output, /^\{"level"/m, 'no JSON lines')
  t.match(output, '\u001b[32mINFO\u001b[39m', 'levels in colour')
  t.match(output, /rewards \d+\.\d+\.\d+ starting \(roles: processor/)
  // Ctrl-C as typed into the terminal.
  child.stdin.write('\u0003')
  const script = await exited
  t.match(output, /\[rewards exit status 0\]/, `Ctrl-C: a clean stop, exit 0 (script: ${script})\n${output.slice(-3000)}`)
  // script's own status is the harness's, not rewards': said, not asserted.
  if (script !== 'exit 0') t.comment(`script ended with ${script} after rewards exited 0`)
  t.match(output, /stopped/)
})
