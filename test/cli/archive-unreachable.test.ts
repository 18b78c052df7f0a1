// The ops commands that read the archive (`rewards db status|migrate`, `report`, `replay`) with a
// PostgreSQL that cannot be reached, or that refuses the login: one line naming the database (its
// password masked) and, for an outage, the catalogue code DATABASE_UNAVAILABLE (docs/cli.md exit
// status: `rewards <command>: [CODE] message`), exit 1. Before, the pool's bare first-query error
// was all they printed (`rewards db status: connect ECONNREFUSED 127.0.0.1:…`).
import t from 'tap'
import { brokers, cleanEnv, freePort, runCli, unique } from './cli-helpers.ts'

t.test('archive commands name an unreachable PostgreSQL', async t => {
  const port = await freePort() // closed again: connections are refused
  const url = `postgres://app:s3cret-pw@127.0.0.1:${port}/rewards`
  const env = cleanEnv({ REWARDS_DATABASE_URL: url })
  const commands = [
    ['db', 'status'],
    ['db', 'migrate'],
    ['report', 'points-issued'],
    ['replay', '--from-archive', '--dry-run', '--kafka-brokers', brokers.join(','), '--topic-prefix', `${unique('audit12-unreach')}.`]
  ]
  for (const args of commands) {
    const run = await runCli(args, { env, timeoutMs: 60_000 })
    const name = args[0] === 'db' ? `db ${args[1]!}` : args[0]!
    t.equal(run.code, 1, `${name}: exit 1`)
    t.equal(run.stdout, '', `${name}: no result`)
    t.match(run.stderr, new RegExp(`^rewards ${name}: \\[DATABASE_UNAVAILABLE\\] cannot reach the archive database \\(PostgreSQL at postgres://app:\\*\\*\\*@127\\.0\\.0\\.1:${port}/rewards\\) \\(connect ECONNREFUSED`), `${name}: names the database and the outage: ${run.stderr}`)
    t.notMatch(run.stderr, /s3cret-pw/, `${name}: the password is masked`)
  }
})

t.test('a login the server refuses is named, not called an outage', async t => {
  const base = process.env.REWARDS_DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/test'
  const wrong = new URL(base)
  wrong.username = 'audit12_no_such_role'
  wrong.password = 'pw-not-shown'
  const run = await runCli(['db', 'status'], { env: cleanEnv({ REWARDS_DATABASE_URL: wrong.toString() }), timeoutMs: 60_000 })
  t.equal(run.code, 1, 'exit 1')
  t.match(run.stderr, /^rewards db status: cannot open the archive database \(PostgreSQL at postgres(ql)?:\/\/audit12_no_such_role:\*\*\*@.*\): .*audit12_no_such_role/, run.stderr)
  t.notMatch(run.stderr, /pw-not-shown/, 'the password is masked')
})
