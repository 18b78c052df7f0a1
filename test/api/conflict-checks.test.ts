// The pieces of the conflict check on their own (the HTTP behaviour is test/api/conflicts-kafka
// .test.ts): digests ignore key order, Idempotency-Key forms, and checkEvents against a store
// that answers, answers null (an entry older than digests), or cannot answer.
import t from 'tap'
import { MemoryCache } from '../../api/cache/shared-cache.ts'
import type { MemberQueries } from '../../api/query/member-queries.ts'
import { checkEvents, checkRedemption, eventCacheKey, redemptionCacheKey } from '../../api/routes/conflicts.ts'
import { parseIdempotencyKey } from '../../api/routes/idempotency.ts'
import { RewardsError } from '../../lib/errors.ts'
import { canonicalJson, contentDigest } from '../../processors/rewards/content-digest.ts'
import type { RedeemConfirmed, RedeemEvent, RewardEvent } from '../../processors/rewards/schemas.ts'

const call = { authorization: undefined, requestId: 'r' }
const event = (eventId: string, amountCents: number): RewardEvent => ({ eventId, memberId: 'm1', source: 'HOTEL', type: 'EARN', amountCents, currency: 'USD', occurredAt: '2026-03-01T12:00:00Z', propertyId: 'P' })

t.test('the digest is independent of key order and changes with the content', async t => {
  const a = { b: 1, a: { y: [2, { d: 1, c: 2 }], x: 'é' } }
  const b = { a: { x: 'é', y: [2, { c: 2, d: 1 }] }, b: 1 }
  t.equal(canonicalJson(a), '{"a":{"x":"é","y":[2,{"c":2,"d":1}]},"b":1}')
  t.equal(contentDigest(a), contentDigest(b))
  t.match(contentDigest(a), /^sha256:[A-Za-z0-9_-]{43}$/)
  t.not(contentDigest(event('e', 1)), contentDigest(event('e', 2)))
})

t.test('Idempotency-Key: Structured Field string or bare token', async t => {
  t.equal(parseIdempotencyKey(undefined), undefined)
  t.equal(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"'), '8e03978e-40d5-43e8-bc93-6894a57f9324', 'the draft\'s form')
  t.equal(parseIdempotencyKey('abc-1'), 'abc-1', 'a bare token')
  t.equal(parseIdempotencyKey('"a \\"b\\" \\\\c"'), 'a "b" \\c', 'SF escapes')
  for (const bad of ['""', '"open', 'a"b', '"a"b"', 'é', '', ' ', 'x'.repeat(256), '"\t"']) t.equal(parseIdempotencyKey(bad), null, `refused: ${JSON.stringify(bad)}`)
  t.equal(parseIdempotencyKey(['a', 'b']), null, 'two headers refused')
  t.equal(parseIdempotencyKey('x'.repeat(255)), 'x'.repeat(255))
})

function queries (digests: (eventIds: readonly string[]) => Promise<Map<string, string | null>>): MemberQueries {
  return { eventDigests: async (_member: string, ids: readonly string[]) => await digests(ids) } as unknown as MemberQueries
}

t.test('checkEvents: store digests, entries without one, a store that cannot answer', async t => {
  const cache = new MemoryCache()
  const stored = contentDigest(event('old', 100))
  const store = queries(async ids => new Map(ids.filter(id => id === 'old' || id === 'legacy').map(id => [id, id === 'old' ? stored : null])))

  const same = await checkEvents({ cache, queries: store, ttlMs: 60_000 }, [event('old', 100), event('legacy', 5)], call)
  t.ok(same.ok, 'the stored content again, and an entry without digest: no conflict')

  const changed = await checkEvents({ cache: new MemoryCache(), queries: store, ttlMs: 60_000 }, [event('new', 1), event('old', 999)], call)
  t.notOk(changed.ok)
  if (!changed.ok) t.same(changed.conflicts, [{ index: 1, eventId: 'old', memberId: 'm1', acceptedDigest: stored, sentDigest: contentDigest(event('old', 999)) }])

  const fresh = new MemoryCache()
  const inBatch = await checkEvents({ cache: fresh, queries: store, ttlMs: 60_000 }, [event('x', 1), event('y', 1), event('x', 2), event('x', 1)], call)
  t.notOk(inBatch.ok)
  if (!inBatch.ok) t.same(inBatch.conflicts.map(c => c.index), [2], 'a second version within the batch conflicts with the first')
  t.equal(await fresh.get(eventCacheKey('m1', 'x')), null, 'claims released when the batch is refused')
  t.equal(await fresh.get(eventCacheKey('m1', 'y')), null)

  const down = queries(async () => { throw new RewardsError('STORE_NOT_READY', 'restoring') })
  const downCache = new MemoryCache()
  const whileDown = await checkEvents({ cache: downCache, queries: down, ttlMs: 60_000 }, [event('z', 1)], call)
  t.ok(whileDown.ok, 'a store that cannot answer does not block ingestion')
  t.equal(await downCache.get(eventCacheKey('m1', 'z')), contentDigest(event('z', 1)), 'the cache remembers the accepted digest')
  const again = await checkEvents({ cache: downCache, queries: down, ttlMs: 60_000 }, [event('z', 2)], call)
  t.notOk(again.ok, 'the cache alone refuses another version')

  const broken = queries(async () => { throw new Error('bug') })
  const brokenCache = new MemoryCache()
  await t.rejects(checkEvents({ cache: brokenCache, queries: broken, ttlMs: 60_000 }, [event('w', 1)], call), /bug/, 'other errors are not swallowed')
  t.equal(await brokenCache.get(eventCacheKey('m1', 'w')), null, 'and the claim is released')
})

t.test('checkRedemption: digest, entries older than digests, unknown ids', async t => {
  const request: RedeemEvent = { redemptionId: 'r1', memberId: 'm1', points: 100, rewardCode: 'ROOM', channel: 'ONLINE', requestedAt: '2026-03-02T12:00:00Z' }
  const decision = { redemptionId: 'r1', memberId: 'm1', points: 100, rewardCode: 'ROOM', status: 'CONFIRMED', requestedAt: '2026-03-02T12:00:00Z', processedAt: '2026-03-02T12:00:01Z' } as unknown as RedeemConfirmed
  const store = (digest: string | null | undefined): MemberQueries => ({ redemptionRecordById: async () => digest === undefined ? undefined : { decision, digest } }) as unknown as MemberQueries
  const check = async (digest: string | null | undefined, sent: RedeemEvent, cache = new MemoryCache()): Promise<string> => (await checkRedemption({ cache, queries: store(digest), ttlMs: 60_000 }, sent, call)).kind

  t.equal(await check(undefined, request), 'new', 'unknown id: new')
  t.equal(await check(contentDigest(request), request), 'decided', 'same digest: the decision')
  t.equal(await check(contentDigest(request), { ...request, channel: 'HOTEL' }), 'conflict', 'other channel: conflict')
  t.equal(await check(null, { ...request, channel: 'HOTEL' }), 'decided', 'older entry: compared on the decision\'s fields (channel not among them)')
  t.equal(await check(null, { ...request, points: 101 }), 'conflict', 'older entry, other points: conflict')
  t.equal(await check(null, { ...request, memberId: 'm2' }), 'conflict', 'older entry, other member: conflict')

  const cache = new MemoryCache()
  t.equal(await check(contentDigest({ ...request, points: 1 }), request, cache), 'conflict')
  t.equal(await cache.get(redemptionCacheKey('r1')), null, 'a refused claim is released')
  await cache.set(redemptionCacheKey('r1'), contentDigest(request), 60_000)
  const conflict = await checkRedemption({ cache, queries: store(undefined), ttlMs: 60_000 }, { ...request, points: 7 }, call)
  t.same(conflict, { kind: 'conflict', acceptedDigest: contentDigest(request), sentDigest: contentDigest({ ...request, points: 7 }), memberId: 'm1' }, 'the cache alone: conflict with both digests')
})
