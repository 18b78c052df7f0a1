// The PostgreSQL policy (lib/resilience/postgres-policy.ts): outage errors back off and open the
// breaker, which half-opens after openMs and closes on a good trial; rows the database refuses
// (real refusals of the local server) never count; a new policy (a restart) starts CLOSED.
import t from 'tap'
import pg from 'pg'
import { PostgresPolicy, type BreakerState } from '../../../lib/resilience/postgres-policy.ts'
import { classifyDatabaseError } from '../../../lib/db/database-errors.ts'
import { PG_ADMIN_URL } from '../../archive/archive-helpers.ts'

const outage = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
const refused = (): Error => Object.assign(new Error('invalid input syntax for type json'), { code: '22P02' })
const fail = (error: Error) => async (): Promise<never> => { throw error }
const ok = async (): Promise<string> => 'ok'
const waitUntilAttemptable = async (policy: PostgresPolicy): Promise<void> => {
  while (!policy.canAttempt()) await new Promise(resolve => setTimeout(resolve, policy.nextAttemptInMs()))
}

t.test('classifies the real server\'s refusals as row-refused and outages as retriable', async t => {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL })
  await client.connect()
  t.teardown(() => client.end())
  const refusal = async (sql: string, params: unknown[]): Promise<unknown> => await client.query(sql, params).then(() => null, (e: unknown) => e)
  const json = await refusal('SELECT $1::jsonb', ['{"eventId":"x\\ud800y"}'])
  t.equal((json as { code: string }).code, '22P02', 'lone surrogate in JSON: 22P02')
  t.equal(classifyDatabaseError(json), 'row-refused')
  const nul = await refusal('SELECT $1::text', ['a\u0000b'])
  t.equal((nul as { code: string }).code, '22021', 'NUL in text: 22021')
  t.equal(classifyDatabaseError(nul), 'row-refused')
  await client.query('CREATE TEMP TABLE policy_unique (id int PRIMARY KEY)')
  await client.query('INSERT INTO policy_unique VALUES (1)')
  const duplicate = await refusal('INSERT INTO policy_unique VALUES ($1)', [1])
  t.equal(classifyDatabaseError(duplicate), 'row-refused', 'integrity violation (23505)')
  const down = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/test', connectionTimeoutMillis: 1000 })
  const unreachable = await down.connect().then(() => null, (e: unknown) => e)
  t.equal(classifyDatabaseError(unreachable), 'retriable', 'connection refused')
  t.equal(classifyDatabaseError(Object.assign(new Error('could not serialize access'), { code: '40001' })), 'retriable', 'serialization failure')
  t.equal(classifyDatabaseError(Object.assign(new Error('too many connections'), { code: '53300' })), 'retriable', 'too many connections')
  t.equal(classifyDatabaseError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })), 'retriable', 'admin shutdown')
  t.equal(classifyDatabaseError(new Error('no code')), 'retriable', 'unknown: waited out, never skipped')
})

t.test('outages back off, open the breaker, half-open after openMs; a failed trial reopens, a good one closes', async t => {
  const states: BreakerState[] = []
  const policy = new PostgresPolicy({ failureThreshold: 3, baseBackoffMs: 200, maxBackoffMs: 400, openMs: 600, onStateChange: s => states.push(s) })
  t.equal(policy.state, 'CLOSED')
  await t.rejects(policy.execute(fail(outage())), { code: 'ECONNREFUSED' })
  const firstBackoff = policy.nextAttemptInMs()
  t.ok(firstBackoff > 50 && firstBackoff <= 200, `first backoff within half and all of baseBackoffMs (${firstBackoff} ms)`)
  await t.rejects(policy.execute(ok), { name: 'NotAttemptedError' }, 'not attempted during the backoff')
  await waitUntilAttemptable(policy)
  await t.rejects(policy.execute(fail(outage())))
  await waitUntilAttemptable(policy)
  await t.rejects(policy.execute(fail(outage())))
  t.equal(policy.state, 'OPEN', 'opens at the threshold')
  const openFor = policy.nextAttemptInMs()
  t.ok(openFor > 200 && openFor <= 600, `stays open about openMs (${openFor} ms left)`)
  let called = false
  await t.rejects(policy.execute(async () => { called = true }), { name: 'NotAttemptedError' })
  t.notOk(called, 'an open breaker does not call PostgreSQL')
  await waitUntilAttemptable(policy)
  await t.rejects(policy.execute(fail(outage())), { code: 'ECONNREFUSED' }, 'the trial call runs and fails')
  t.equal(policy.state, 'OPEN', 'a failed trial reopens')
  await waitUntilAttemptable(policy)
  t.equal(await policy.execute(ok), 'ok')
  t.equal(policy.state, 'CLOSED', 'a good trial closes')
  t.equal(policy.nextAttemptInMs(), 0)
  t.same(states, ['OPEN', 'HALF_OPEN', 'OPEN', 'HALF_OPEN', 'CLOSED'])
})

t.test('refused rows never open the breaker nor delay the next attempt', async t => {
  const states: BreakerState[] = []
  const policy = new PostgresPolicy({ failureThreshold: 2, openMs: 60_000, onStateChange: s => states.push(s) })
  for (let i = 0; i < 20; i++) {
    await t.rejects(policy.execute(fail(refused())), { code: '22P02' })
    t.equal(policy.canAttempt(), true)
  }
  t.equal(policy.state, 'CLOSED', '20 refused rows later, still closed')
  await t.rejects(policy.execute(fail(outage())))
  await waitUntilAttemptable(policy)
  await t.rejects(policy.execute(fail(refused())))
  await waitUntilAttemptable(policy)
  await t.rejects(policy.execute(fail(outage())))
  t.equal(policy.state, 'OPEN', 'refusals are not counted at all: the two outages around one are consecutive')
  t.same(states, ['OPEN'])
})

t.test('the backoff grows and is bounded by maxBackoffMs', async t => {
  const policy = new PostgresPolicy({ failureThreshold: 1000, baseBackoffMs: 10, maxBackoffMs: 80 })
  const waits: number[] = []
  for (let i = 0; i < 8; i++) {
    await t.rejects(policy.execute(fail(outage())))
    waits.push(policy.nextAttemptInMs())
    await waitUntilAttemptable(policy)
  }
  t.ok(waits.every(w => w <= 80), `bounded: ${waits.join(', ')} ms`)
  t.ok(Math.max(...waits.slice(4)) > Math.min(...waits.slice(0, 2)), 'grows')
})

t.test('state is in memory: a new policy (a restart) starts CLOSED whatever the last one was', async t => {
  const before = new PostgresPolicy({ failureThreshold: 1, openMs: 60_000 })
  await t.rejects(before.execute(fail(outage())))
  t.equal(before.state, 'OPEN')
  const after = new PostgresPolicy({ failureThreshold: 1, openMs: 60_000 })
  t.equal(after.state, 'CLOSED')
  t.equal(await after.execute(ok), 'ok')
})
