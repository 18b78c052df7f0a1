// A user's mistakes on the command line (docs/cli.md "Exit status"): each answer says what is
// wrong and what to do, through the CLI as a user runs it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { StateDirectory } from '../../stores/state-directory.ts'
import { cleanEnv, freePort, runCli } from './cli-helpers.ts'

t.test('store get on a locked state directory names the holder: pid, host, since when', async t => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rewards-usage-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  // This test process stands for the running instance: it holds the application's lock.
  const held = new StateDirectory(join(dataDir, 'state'), 'rewards')
  held.lock()
  t.teardown(() => held.unlock())
  const result = await runCli(['store', 'get', 'balances', 'M-1', '--data-dir', dataDir], { env: cleanEnv() })
  t.equal(result.code, 1)
  t.match(result.stderr, /\[STATE_DIR_LOCKED\] .*in use by a running instance/)
  t.match(result.stderr, new RegExp(`pid ${process.pid} on host \\S+.*, since \\d{4}-\\d\\d-\\d\\dT`), 'the holder as the lock file names it')
  t.notMatch(result.stderr, /pid \?/)
})

t.test('a usage error of any command exits 1 and points to that command\'s --help', async t => {
  const cases: Array<[string[], string, RegExp]> = [
    [['start', '--kafka-broker', 'x'], 'rewards start', /unknown option '--kafka-broker'\s+\(Did you mean --kafka-brokers\?\)/],
    [['topology', '--format', 'xml'], 'rewards topology', /argument 'xml' is invalid\. Allowed choices are text, mermaid, json/],
    [['store', 'get', 'balances'], 'rewards store get', /missing required argument 'key'/],
    [['clients', 'create'], 'rewards clients create', /required option '--name <name>' not specified/],
    [['demo', '--rate', '-1'], 'rewards demo', /--rate must be an integer ≥ 0/],
    [['lag', 'extra'], 'rewards lag', /too many arguments for 'lag'/]
  ]
  const results = await Promise.all(cases.map(([args]) => runCli(args, { env: cleanEnv() })))
  cases.forEach(([args, command, what], i) => {
    const result = results[i]!
    t.equal(result.code, 1, `${args.join(' ')}: exit 1`)
    t.match(result.stderr, what, `${args.join(' ')}: says what is wrong`)
    t.ok(result.stderr.includes(`(run \`${command} --help\` for usage)`), `${args.join(' ')}: points to \`${command} --help\`: ${result.stderr}`)
  })
})

t.test('rewards start with no broker at the address: its fatal line names the code and the cause', async t => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rewards-nokafka-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const port = await freePort() // closed again: nothing listens there
  const started = Date.now()
  const result = await runCli(['start', '--role', 'processor', '--kafka-brokers', `127.0.0.1:${port}`, '--data-dir', dataDir, '--http-port', '0', '--log-format', 'json'], { env: cleanEnv(), timeoutMs: 120_000 })
  t.equal(result.code, 1, `exit 1 (after ${Date.now() - started} ms)`)
  const fatal = result.stderr.split('\n').flatMap(line => { try { return [JSON.parse(line) as { msg?: string }] } catch { return [] } }).find(l => l.msg?.startsWith('fatal:') === true)
  t.ok(fatal !== undefined, 'one fatal line')
  // Before: `fatal: listTopics: Listing topics failed.` — neither the code nor what failed where.
  t.match(fatal?.msg, new RegExp(`^fatal: \\[LOG_CONNECTION\\] .*\\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)$`))
})
