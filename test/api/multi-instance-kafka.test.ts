// Two processor instances and one API-only instance on the real broker. Every member's balance is
// correct whichever instance is asked (owner: local read; other processor: forwarded; API-only:
// forwarded through the consumer group). Then one processor leaves: the other takes its tasks
// and restores them from the changelogs; meanwhile every answer is either the right balance or
// 503 with Retry-After (rarely, now that reads wait through a move) — never a wrong number.
import t from 'tap'
import { call, earn, eventually, startKafkaCluster } from './api-harness.ts'
import { memberTasks } from './member-tasks.ts'

const MEMBERS = 60
const EVENTS_PER_MEMBER = 25
// 1000 cents at HOTEL, MEMBER tier: 100 points per event; members stay below SILVER.
const expected = (): number => EVENTS_PER_MEMBER * 100

t.test('any instance answers any member; a restore gives 503, never a wrong number', async t => {
  const cluster = await startKafkaCluster(t, 'apimi', 6)
  const { platform, a, b, api } = cluster
  await Promise.all([a.app!.waitForState('RUNNING', 120_000), b.app!.waitForState('RUNNING', 120_000)])
  await eventually(async () => [a.app!.state, b.app!.state, memberTasks(a.app!).length, memberTasks(b.app!).length] as const, s => s[0] === 'RUNNING' && s[1] === 'RUNNING' && s[2] > 0 && s[3] > 0 && s[2] + s[3] === 6, 60_000)
  t.ok(memberTasks(a.app!).length > 0 && memberTasks(b.app!).length > 0, `tasks split: ${memberTasks(a.app!).length} + ${memberTasks(b.app!).length}`)

  const token = await platform.token(['balances:read', 'events:write'])
  const members = Array.from({ length: MEMBERS }, (_, i) => `m${i}`)
  const events = members.flatMap(m => Array.from({ length: EVENTS_PER_MEMBER }, (_, i) => earn(m, `${m}-e${i}`, 1000, `2026-03-01T12:${String(i).padStart(2, '0')}:00Z`)))
  for (let i = 0; i < events.length; i += 500) {
    const response = await call(`${api.url}/v1/events`, token, { body: events.slice(i, i + 500) })
    t.equal(response.status, 202, 'batch accepted through the API-only instance')
  }

  const wrong: string[] = []
  const where = { local: 0, forwarded: 0 }
  for (const m of members) {
    for (const [name, instance] of [['processor A', a], ['processor B', b], ['API-only', api]] as const) {
      const r = await eventually(() => call(`${instance.url}/v1/members/${m}/balance`, token), x => x.status === 200 && x.body.available === expected(), 60_000)
      if (r.status !== 200 || r.body.available !== expected()) wrong.push(`${name} ${m}: ${r.status} ${JSON.stringify(r.body)}`)
    }
    const owner = a.app!.queryMetadataForKey('balances', m).local ? 'a' : 'b'
    if (owner === 'a') where.local++
    else where.forwarded++
  }
  t.same(wrong, [], 'every member correct on every instance')
  t.ok(where.local > 0 && where.forwarded > 0, `members owned by both (${where.local} on A, ${where.forwarded} on B)`)
  const metrics = await a.registry.metrics()
  t.match(metrics, /rewards_api_queries_total\{route="balance",where="forwarded"\} [1-9]/, 'A forwarded queries for B\'s members')

  // B leaves: A takes over and restores B's tasks. Query all members through the API meanwhile.
  const tasksOfABefore = memberTasks(a.app!).length
  const closing = cluster.closeB()
  const seen = { ok: 0, unavailable: 0, wrong: [] as string[] }
  const deadline = Date.now() + 60_000
  let settled = false
  // Until B is gone, A owns every task and a whole pass over the members is correct.
  while (!(settled && cluster.bClosed && memberTasks(a.app!).length === 6 && a.app!.state === 'RUNNING') && Date.now() < deadline) {
    settled = true
    for (const m of members) {
      const r = await call(`${api.url}/v1/members/${m}/balance`, token)
      if (r.status === 200 && r.body.available === expected()) seen.ok++
      else if (r.status === 503) {
        seen.unavailable++
        settled = false
        if (r.headers.get('retry-after') === null) seen.wrong.push(`${m}: 503 without Retry-After`)
      } else {
        settled = false
        seen.wrong.push(`${m}: ${r.status} ${JSON.stringify(r.body)}`)
      }
    }
  }
  await closing
  t.same(seen.wrong, [], `during the hand-over: ${seen.ok} correct answers, ${seen.unavailable} × 503, no wrong number`)
  // Reads through a move wait for a copy (docs/api.md "Answers from standby replicas"), so a 503
  // is allowed (with Retry-After, checked above) but no longer expected: the hand-over itself is
  // what must have happened.
  t.ok(tasksOfABefore < 6 && memberTasks(a.app!).length === 6, `the hand-over happened: A ran ${tasksOfABefore} member tasks, then all 6 (${seen.unavailable} × 503 meanwhile)`)
  t.ok(settled, 'afterwards every member is answered correctly by the remaining instance')
  t.equal(memberTasks(a.app!).length, 6, 'A owns every task')
})
