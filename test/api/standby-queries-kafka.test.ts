// Balance and activity queries through a failover, answered by standby replicas (docs/api.md
// "Answers from standby replicas"), on the real broker: two processor instances with one standby
// per task, and an API-only instance. When B's HTTP listener goes away (its owner is unreachable),
// A answers B's members from its standby copies and the API-only instance finds A the same way:
// 200, the exact balance, marked x-rewards-served-by: standby and x-rewards-staleness-records: 0.
// Then B leaves the group and A takes its tasks over: every 200 is the exact balance, the 503
// window (if any) is measured and printed.
import t from 'tap'
import { call, earn, eventually, startKafkaCluster } from './api-harness.ts'
import { memberTasks } from './member-tasks.ts'

const MEMBERS = 40
const EVENTS_PER_MEMBER = 10
// 1000 cents at HOTEL, MEMBER tier: 100 points per event.
const EXPECTED = EVENTS_PER_MEMBER * 100

t.test('standby copies answer while the owner is unreachable, then through its departure', async t => {
  const cluster = await startKafkaCluster(t, 'apisb', 4)
  const { platform, a, b, api } = cluster
  const appA = a.app!
  const appB = b.app!
  await eventually(async () => [appA.state, appB.state, memberTasks(appA).length, memberTasks(appB).length, appA.localStandbyTasks().filter(x => x.task.startsWith('0_')).length], s => s[0] === 'RUNNING' && s[1] === 'RUNNING' && s[2] === 2 && s[3] === 2 && s[4] === 2, 120_000)
  t.equal(appA.localStandbyTasks().filter(x => x.task.startsWith('0_')).length, 2, 'A keeps a standby of each of B\'s two tasks')

  const token = await platform.token(['balances:read', 'events:write'])
  const members = Array.from({ length: MEMBERS }, (_, i) => `m${i}`)
  const events = members.flatMap(m => Array.from({ length: EVENTS_PER_MEMBER }, (_, i) => earn(m, `${m}-e${i}`, 1000, `2026-03-01T12:${String(i).padStart(2, '0')}:00Z`)))
  t.equal((await call(`${api.url}/v1/events`, token, { body: events })).status, 202, 'events accepted')
  for (const m of members) {
    const r = await eventually(() => call(`${a.url}/v1/members/${m}/balance`, token), x => x.status === 200 && x.body.available === EXPECTED, 60_000)
    if (r.status !== 200 || r.body.available !== EXPECTED) t.fail(`${m}: ${r.status} ${JSON.stringify(r.body)}`)
  }
  const ofB = members.filter(m => appB.queryMetadataForKey('balances', m).local)
  t.ok(ofB.length > 0, `${ofB.length} members owned by B`)
  for (const m of ofB) {
    const meta = appA.queryMetadataForKey('balances', m)
    if (!(meta.localStandby && meta.standbyHosts.includes(a.address) && meta.host === b.address)) t.fail(`metadata of ${m}: ${JSON.stringify(meta)}`)
  }
  // Every standby caught up (lag 0 against the committed ends, asked now).
  const lags = await eventually(() => appA.allLocalTaskLags(), l => l.filter(x => x.role === 'standby').every(x => x.lagRecords === 0), 30_000)
  t.same(lags.filter(x => x.role === 'standby' && x.task.startsWith('0_')).map(x => x.lagRecords), [0, 0], 'A\'s standbys of member tasks are 0 records behind')

  // The answers above are in the hot-balance cache for at most its TTL (1 s): outlive it, so
  // that the reads below reach the stores.
  await new Promise(resolve => setTimeout(resolve, 1100))
  // B's listener goes away: its owner does not answer any more (its stream thread runs on).
  await b.server.close()
  const wrong: string[] = []
  for (const m of ofB) {
    for (const [name, instance] of [['processor A', a], ['API-only', api]] as const) {
      const r = await call(`${instance.url}/v1/members/${m}/balance`, token)
      const by = r.headers.get('x-rewards-served-by')
      const lag = r.headers.get('x-rewards-staleness-records')
      if (r.status !== 200 || r.body.available !== EXPECTED || by !== 'standby' || lag !== '0') wrong.push(`${name} ${m}: ${r.status} ${JSON.stringify(r.body)} by=${by} lag=${lag}`)
    }
    const page = await call(`${a.url}/v1/members/${m}/activity?limit=5`, token)
    if (page.status !== 200 || page.body.items.length !== 5 || page.headers.get('x-rewards-served-by') !== 'standby') wrong.push(`activity ${m}: ${page.status} ${JSON.stringify(page.body)}`)
  }
  t.same(wrong, [], 'B\'s members answered by A\'s standbys: exact, marked standby with lag 0')
  const metrics = await a.registry.metrics()
  t.match(metrics, /rewards_api_queries_total\{route="balance",where="standby"\} [1-9]/, 'counted as served by a standby')
  // A's own members are answered by their active, unmarked.
  const ofA = members.filter(m => appA.queryMetadataForKey('balances', m).local)
  const own = await call(`${a.url}/v1/members/${ofA[0]}/balance`, token)
  t.equal(own.headers.get('x-rewards-served-by'), null, 'an active\'s answer carries no standby mark')

  // B leaves the group: A takes over B's tasks (only the delta to restore). Query meanwhile.
  const closing = cluster.closeB()
  const seen = { ok: 0, standby: 0, unavailable: 0, wrong: [] as string[] }
  let first503: number | undefined
  let last503: number | undefined
  const deadline = Date.now() + 60_000
  while (!(cluster.bClosed && memberTasks(appA).length === 4 && appA.state === 'RUNNING') && Date.now() < deadline) {
    for (const m of ofB) {
      const r = await call(`${api.url}/v1/members/${m}/balance`, token)
      if (r.status === 200 && r.body.available === EXPECTED) {
        seen.ok++
        if (r.headers.get('x-rewards-served-by') === 'standby') seen.standby++
      } else if (r.status === 503) {
        seen.unavailable++
        first503 ??= Date.now()
        last503 = Date.now()
        if (r.headers.get('retry-after') === null) seen.wrong.push(`${m}: 503 without Retry-After`)
      } else {
        seen.wrong.push(`${m}: ${r.status} ${JSON.stringify(r.body)}`)
      }
    }
  }
  await closing
  t.same(seen.wrong, [], 'no wrong answer during the hand-over')
  t.comment(`hand-over: ${seen.ok} answers 200 (${seen.standby} by a standby), ${seen.unavailable} answers 503, 503 window ${first503 === undefined ? 0 : last503! - first503} ms`)
  for (const m of members) {
    const r = await eventually(() => call(`${api.url}/v1/members/${m}/balance`, token), x => x.status === 200, 60_000)
    if (r.body?.available !== EXPECTED) t.fail(`${m} after the hand-over: ${r.status} ${JSON.stringify(r.body)}`)
  }
  t.pass('every member exact after the hand-over')
})
