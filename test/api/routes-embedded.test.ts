// Every public route on one instance (embedded log, real stream application): events single and
// batch (all or nothing, per-item errors, Idempotency-Key), balance, activity pages, redemptions
// (decision over HTTP; two concurrent redemptions exceeding the balance: exactly one CONFIRMED),
// redemption status, OpenAPI, x-request-id, the error shape.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openEmbeddedLog } from '../../log/embedded/index.ts'
import { REWARDS_TOPICS } from '../../processors/rewards/index.ts'
import { ensurePlatformTopics } from '../../lib/platform-topics.ts'
import { call, earn, eventually, redeem, startPlatform, startProcessor } from './api-harness.ts'

t.test('the public API end to end on the embedded log', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'api-embedded-'))
  const log = await openEmbeddedLog({ dir: join(dir, 'log') })
  await ensurePlatformTopics(log, { topicPrefix: '', partitions: 4 })
  const platform = await startPlatform({ log, topics: REWARDS_TOPICS, applicationId: `api-emb-${Date.now()}` })
  const node = await startProcessor(platform, { stateDir: join(dir, 'state'), publicApi: true })
  t.teardown(async () => {
    await node.close()
    await platform.close()
    await log.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const all = await platform.token(['balances:read', 'events:write', 'redemptions:write'])
  const base = node.url

  // Single event, then a batch.
  const single = await call(`${base}/v1/events`, all, { body: earn('alice', 'e-1', 12345), headers: { 'x-request-id': 'req-test-1' } })
  t.equal(single.status, 202)
  t.same(single.body, { accepted: 1, eventIds: ['e-1'] })
  t.equal(single.headers.get('x-request-id'), 'req-test-1', 'x-request-id echoed')
  const batch = await call(`${base}/v1/events`, all, { body: [earn('alice', 'e-2', 10000), earn('bob', 'e-3', 5000), earn('alice', 'e-1', 12345)] })
  t.equal(batch.status, 202)
  t.same(batch.body.eventIds, ['e-2', 'e-3', 'e-1'])

  // A batch with bad items: 400 listing each, nothing published.
  const bad = await call(`${base}/v1/events`, all, { body: [earn('carol', 'e-4', 100), { ...earn('carol', 'e-5', 100), currency: 'EUR' }, { ...earn('carol', 'e-6', 100), amountCents: -1 }] })
  t.equal(bad.status, 400)
  t.equal(bad.body.error.code, 'INVALID_EVENTS')
  t.same(bad.body.error.details.errors.map((e: { index: number, code: string }) => [e.index, e.code]), [[1, 'UNSUPPORTED_CURRENCY'], [2, 'SCHEMA_VIOLATION']])
  t.equal((await call(`${base}/v1/events`, all, { body: [] })).status, 400, 'empty batch refused')

  // Balance: alice earned 1234 + 1000 (MEMBER, HOTEL 10 pts/$), e-1 counted once.
  const balance = await eventually(() => call(`${base}/v1/members/alice/balance`, all), r => r.status === 200 && r.body.events === 2)
  t.equal(balance.status, 200)
  t.same(balance.body, { ...balance.body, memberId: 'alice', earned: 2234, available: 2234, redeemed: 0, reversed: 0, tier: 'MEMBER', events: 2 })
  t.equal((await call(`${base}/v1/members/carol/balance`, all)).status, 404, 'nothing of the refused batch was published')
  const missing = await call(`${base}/v1/members/nobody/balance`, all)
  t.equal(missing.status, 404)
  t.equal(missing.body.error.code, 'MEMBER_NOT_FOUND')
  t.equal((await call(`${base}/v1/members/bad%20id/balance`, all)).status, 400, 'member id pattern checked')

  // Idempotency-Key: same body replayed; another body with the same key is 409.
  const idem = { 'idempotency-key': 'k-1' }
  const first = await call(`${base}/v1/events`, all, { body: earn('dave', 'e-7', 1000), headers: idem })
  const again = await call(`${base}/v1/events`, all, { body: earn('dave', 'e-7', 1000), headers: idem })
  t.equal(first.status, 202)
  t.equal(again.status, 202)
  t.equal(again.headers.get('idempotent-replayed'), 'true')
  t.equal((await call(`${base}/v1/events`, all, { body: earn('dave', 'e-8', 1000), headers: idem })).status, 409)

  // Redemption: the decision over HTTP.
  const confirmed = await call(`${base}/v1/redemptions`, all, { body: redeem('alice', 'r-1', 2000) })
  t.equal(confirmed.status, 200)
  t.equal(confirmed.body.status, 'CONFIRMED')
  t.equal(confirmed.body.balance.available, 234)
  const status = await call(`${base}/v1/redemptions/r-1?memberId=alice`, all)
  t.equal(status.status, 200)
  t.equal(status.body.status, 'CONFIRMED')
  t.equal((await call(`${base}/v1/redemptions/r-none?memberId=alice`, all)).status, 404)
  // By id alone (the documented route): found through the redemption-index store, no memberId needed.
  const byId = await call(`${base}/v1/redemptions/r-1`, all)
  t.equal(byId.status, 200, 'found by id without memberId')
  t.same(byId.body, status.body, 'the same decision as the memberId fast path')
  const unknown = await call(`${base}/v1/redemptions/r-none`, all)
  t.equal(unknown.status, 404, 'unknown id without memberId: 404 (every task searched)')
  t.equal(unknown.body.error.code, 'REDEMPTION_NOT_FOUND')
  t.equal((await call(`${base}/v1/redemptions/r`, all)).status, 404, 'a prefix of a known id is not a match')
  t.equal((await call(`${base}/v1/redemptions/r-1`, await platform.token(['events:write']))).status, 403, 'scope checked')
  t.equal((await call(`${base}/v1/members/alice/balance`, all)).body.available, 234, 'the balance after the redemption (cache invalidated)')

  // Two concurrent redemptions that together exceed the balance (234): exactly one CONFIRMED.
  const [a, b] = await Promise.all([
    call(`${base}/v1/redemptions`, all, { body: redeem('alice', 'r-2', 200, '2026-03-03T12:00:00Z') }),
    call(`${base}/v1/redemptions`, all, { body: redeem('alice', 'r-3', 200, '2026-03-03T12:00:01Z') })
  ])
  t.same([a.status, b.status], [200, 200])
  t.same([a.body.status, b.body.status].sort(), ['CONFIRMED', 'REJECTED'], 'exactly one CONFIRMED')
  t.equal([a.body, b.body].find(d => d.status === 'REJECTED').reason, 'INSUFFICIENT_POINTS')
  t.equal((await eventually(() => call(`${base}/v1/members/alice/balance`, all), r => r.body?.available === 34)).body.available, 34)

  // A redemption that is not decided within the wait: 202 with the status URL.
  const invalid = await call(`${base}/v1/redemptions`, all, { body: { ...redeem('alice', 'r-x', 0) } })
  t.equal(invalid.status, 400)
  t.equal(invalid.body.error.code, 'INVALID_REDEMPTION')
  const pending = await call(`${base}/v1/redemptions`, all, { body: redeem('erin', 'r-4', 5), headers: { prefer: 'wait=0' } })
  t.equal(pending.status, 202)
  t.equal(pending.body.statusUrl, '/v1/redemptions/r-4', 'the status URL is the plain documented path')
  t.equal(pending.headers.get('location'), '/v1/redemptions/r-4')
  const decided = await eventually(() => call(`${base}${pending.body.statusUrl}`, all), r => r.status === 200)
  t.equal(decided.body.status, 'REJECTED', 'erin has no points')

  // Activity, newest first, in pages.
  const page1 = await call(`${base}/v1/members/alice/activity?limit=2`, all)
  t.equal(page1.status, 200)
  t.equal(page1.body.items.length, 2)
  t.ok(page1.body.items[0].seq > page1.body.items[1].seq, 'newest first')
  t.type(page1.body.nextCursor, 'string')
  const page2 = await call(`${base}/v1/members/alice/activity?limit=10&cursor=${page1.body.nextCursor}`, all)
  t.equal(page2.body.items.length, 3)
  t.equal(page2.body.nextCursor, null)
  t.equal(page2.body.items[0].seq, page1.body.items[1].seq - 1, 'the next page continues where the first stopped')
  t.equal((await call(`${base}/v1/members/alice/activity?cursor=zzz`, all)).status, 400)

  // OpenAPI and the error shape of unknown routes.
  const openapi = await (await fetch(`${base}/openapi.json`)).json() as { openapi: string, paths: Record<string, unknown>, components: { schemas: Record<string, unknown> } }
  t.equal(openapi.openapi, '3.1.0')
  for (const path of ['/v1/members/{memberId}/balance', '/v1/members/{memberId}/activity', '/v1/events', '/v1/redemptions', '/v1/redemptions/{redemptionId}']) t.ok(openapi.paths[path], `OpenAPI has ${path}`)
  t.notOk(Object.keys(openapi.paths).some(p => p.startsWith('/internal')), 'internal routes are not published')
  t.ok(openapi.components.schemas.Balance)
  const notFound = await call(`${base}/v1/nothing`, all)
  t.equal(notFound.status, 404)
  t.equal(notFound.body.error.code, 'NOT_FOUND')
  t.equal((await fetch(`${base}/health/live`)).status, 200, "ops routes beside the API")
  const metrics = await (await fetch(`${base}/metrics`)).text()
  t.match(metrics, /rewards_api_queries_total/)
  t.match(metrics, /rewards_api_queries_total\{route="redemption_by_id",where="local"\} [1-9]/, 'lookups by id counted')
})
