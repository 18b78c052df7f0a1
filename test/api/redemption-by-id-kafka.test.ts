// GET /v1/redemptions/{id} without memberId across instances on the real broker: two processor
// instances and one API-only instance. Redemptions are made through processor A for members of
// both A and B; each is then found by id alone through the API-only instance (which asks every
// processor) and through A (its own tasks, then B). An unknown id is 404. Then B leaves: while A
// takes over B's tasks, a lookup of B's redemption is the decision or 503 + Retry-After, never 404.
import t from 'tap'
import { call, earn, eventually, redeem, startKafkaCluster } from './api-harness.ts'
import { memberTasks } from './member-tasks.ts'

const now = (offsetMs = 0): string => new Date(Date.now() + offsetMs).toISOString()

t.test('a redemption is found by id alone from any instance; unknown is 404; a hand-over is 503, never 404', async t => {
  const cluster = await startKafkaCluster(t, 'apiri', 4)
  const { run, platform, a, b, api } = cluster
  await eventually(async () => [a.app!.state, b.app!.state, memberTasks(a.app!).length, memberTasks(b.app!).length] as const, s => s[0] === 'RUNNING' && s[1] === 'RUNNING' && s[2] > 0 && s[3] > 0 && s[2] + s[3] === 4, 120_000)
  t.ok(memberTasks(a.app!).length > 0 && memberTasks(b.app!).length > 0, `tasks split: ${memberTasks(a.app!).length} + ${memberTasks(b.app!).length}`)

  const token = await platform.token(['balances:read', 'events:write', 'redemptions:write'])
  const members = Array.from({ length: 12 }, (_, i) => `rm${i}`)
  const ownedByA = members.find(m => a.app!.queryMetadataForKey('balances', m).local)!
  const ownedByB = members.find(m => !a.app!.queryMetadataForKey('balances', m).local)!
  t.ok(ownedByA !== undefined && ownedByB !== undefined, `members on both instances (${ownedByA} on A, ${ownedByB} on B)`)
  t.equal((await call(`${api.url}/v1/events`, token, { body: [earn(ownedByA, `${run}-ea`, 10_000, now()), earn(ownedByB, `${run}-eb`, 10_000, now())] })).status, 202)
  await eventually(() => call(`${api.url}/v1/members/${ownedByB}/balance`, token), r => r.status === 200 && r.body.available === 1000, 60_000)
  await eventually(() => call(`${api.url}/v1/members/${ownedByA}/balance`, token), r => r.status === 200 && r.body.available === 1000, 60_000)

  // Both redemptions through A (B's member is forwarded for the wait), with the decision.
  const ra = `${run}:ra`
  const rb = `${run}:rb`
  const onA = await call(`${a.url}/v1/redemptions`, token, { body: redeem(ownedByA, ra, 400, now()), headers: { prefer: 'wait=20' } })
  const onB = await call(`${a.url}/v1/redemptions`, token, { body: redeem(ownedByB, rb, 5000, now()), headers: { prefer: 'wait=20' } })
  t.equal(onA.status, 200, 'decision of A\'s member')
  t.equal(onA.body.status, 'CONFIRMED')
  t.equal(onB.status, 200, 'decision of B\'s member')
  t.equal(onB.body.status, 'REJECTED')

  for (const [name, url] of [['API-only', api.url], ['processor A', a.url], ['processor B', b.url]] as const) {
    const gotA = await call(`${url}/v1/redemptions/${encodeURIComponent(ra)}`, token)
    const gotB = await call(`${url}/v1/redemptions/${encodeURIComponent(rb)}`, token)
    t.equal(gotA.status, 200, `${name}: A's redemption by id`)
    t.same(gotA.body, onA.body, `${name}: the decision of ${ra}`)
    t.equal(gotB.status, 200, `${name}: B's redemption by id`)
    t.same(gotB.body, onB.body, `${name}: the decision of ${rb}`)
    const unknown = await call(`${url}/v1/redemptions/${run}-nothing`, token)
    t.equal(unknown.status, 404, `${name}: unknown id is 404`)
    t.equal(unknown.body?.error?.code, 'REDEMPTION_NOT_FOUND')
  }
  t.equal((await call(`${api.url}/v1/redemptions/${encodeURIComponent(rb)}?memberId=${ownedByB}`, token)).body.redemptionId, rb, 'the memberId fast path still works')
  t.match(await api.registry.metrics(), /rewards_api_queries_total\{route="redemption_by_id",where="forwarded"\} [1-9]/)

  // B leaves; A restores B's tasks. A lookup of B's redemption meanwhile: decision or 503.
  const closing = cluster.closeB()
  const seen = { ok: 0, unavailable: 0, wrong: [] as string[] }
  const deadline = Date.now() + 90_000
  while (!(cluster.bClosed && a.app!.state === 'RUNNING' && memberTasks(a.app!).length === 4 && memberTasks(a.app!).every(x => x.ready) && seen.ok > 0) && Date.now() < deadline) {
    const r = await call(`${api.url}/v1/redemptions/${encodeURIComponent(rb)}`, token)
    if (r.status === 200 && r.body.redemptionId === rb && r.body.status === 'REJECTED') seen.ok++
    else if (r.status === 503 && r.headers.get('retry-after') !== null) seen.unavailable++
    else seen.wrong.push(`${r.status} ${JSON.stringify(r.body)}`)
    if (r.status !== 200) seen.ok = 0 // count answers after the hand-over only
  }
  await closing
  t.same(seen.wrong, [], `during the hand-over: ${seen.unavailable} × 503 with Retry-After, no 404 and no wrong decision`)
  const after = await eventually(() => call(`${api.url}/v1/redemptions/${encodeURIComponent(rb)}`, token), r => r.status === 200, 60_000)
  t.same(after.body, onB.body, 'after the hand-over the API-only instance finds it on A')
  t.equal((await eventually(() => call(`${api.url}/v1/redemptions/${run}-nothing`, token), r => r.status !== 503, 60_000)).status, 404, 'unknown is 404 again')
})
