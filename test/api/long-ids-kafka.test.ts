// Ids at the contract's longest (docs/contract.md: redemptionId 1–128 chars) through every route
// that carries one in its path, on the real broker with two processors and an API-only instance:
// the 202's status URL, the lookup by id (scatter to every processor), the repeat of the same
// redemption (answered with its decision) and another body under the id (409). Fastify's router
// refused path parameters over 100 characters (414), so a valid 101–128-char id got a status URL
// that never answered.
import t from 'tap'
import { call, earn, eventually, redeem, startKafkaCluster } from './api-harness.ts'
import { memberTasks } from './member-tasks.ts'

t.test('a 128-character redemptionId is found by its status URL from every instance', async t => {
  const cluster = await startKafkaCluster(t, 'apilong', 2)
  const { run, platform, a, b, api } = cluster
  await eventually(async () => [a.app!.state, b.app!.state, memberTasks(a.app!).length, memberTasks(b.app!).length] as const, s => s[0] === 'RUNNING' && s[1] === 'RUNNING' && s[2] > 0 && s[3] > 0, 120_000)
  const token = await platform.token(['balances:read', 'events:write', 'redemptions:write'])
  const member = Array.from({ length: 12 }, (_, i) => `lm${i}`).find(m => !a.app!.queryMetadataForKey('balances', m).local)!
  const now = new Date().toISOString()
  t.equal((await call(`${api.url}/v1/events`, token, { body: earn(member, `${run}-e`, 10_000, now) })).status, 202)
  await eventually(() => call(`${api.url}/v1/members/${member}/balance`, token), r => r.status === 200 && r.body.available === 1000, 60_000)

  // 128 characters, with a '/' and non-ASCII ones, percent-encoded in the URL (438 characters).
  const id = `${run}/é€`.padEnd(128, 'x')
  t.equal([...id].length, 128)
  const body = redeem(member, id, 300, now)
  const pending = await call(`${a.url}/v1/redemptions`, token, { body, headers: { prefer: 'wait=0' } })
  t.ok(pending.status === 202 || pending.status === 200, `accepted (${pending.status})`)
  const statusUrl = `/v1/redemptions/${encodeURIComponent(id)}`
  if (pending.status === 202) t.equal(pending.body.statusUrl, statusUrl, 'the status URL encodes the id')
  for (const [name, url] of [['processor A (not the owner)', a.url], ['processor B (the owner)', b.url], ['API-only', api.url]] as const) {
    const got = await eventually(() => call(`${url}${statusUrl}`, token), r => r.status !== 404, 30_000)
    t.equal(got.status, 200, `${name}: the status URL answers`)
    t.match(got.body, { redemptionId: id, memberId: member, status: 'CONFIRMED' }, `${name}: the decision`)
    t.equal((await call(`${url}${statusUrl}?memberId=${member}`, token)).status, 200, `${name}: with the memberId fast path`)
  }
  const repeat = await call(`${api.url}/v1/redemptions`, token, { body })
  t.equal(repeat.status, 200, 'the same redemption again: its decision')
  t.equal(repeat.body.balance?.redeemed, 300, 'counted once')
  const other = await call(`${api.url}/v1/redemptions`, token, { body: { ...body, points: 301 } })
  t.equal(other.status, 409, 'another body under the id')
  t.equal(other.body.code, 'REDEMPTION_ID_CONFLICT')
  t.equal((await call(`${api.url}/v1/redemptions/${'x'.repeat(257)}`, token)).status, 414, 'a path parameter longer than any id is still 414')
})
