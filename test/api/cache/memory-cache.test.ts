// The in-process cache (api/cache/shared-cache.ts MemoryCache, on lru-cache): entries expire after
// their TTL, setIfAbsent sets once, increment counts within a window that starts at the first
// increment, and the size is bounded (least recently used evicted).
import t from 'tap'
import { MemoryCache } from '../../../api/cache/shared-cache.ts'

// A clock the test moves: the TTL is what is under test, and wall time on a loaded machine can
// pass a 30 ms TTL between two calls.
const manualClock = (): { now: () => number, advance: (ms: number) => void } => {
  let nowMs = 1_000_000
  return { now: () => nowMs, advance: ms => { nowMs += ms } }
}

t.test('get / set / del, and entries expire after their TTL', async t => {
  const clock = manualClock()
  const cache = new MemoryCache({ clock })
  t.teardown(() => cache.close())
  await cache.set('a', '1', 60_000)
  await cache.set('short', 'x', 30)
  t.equal(await cache.get('a'), '1')
  t.equal(await cache.get('short'), 'x')
  clock.advance(29)
  t.equal(await cache.get('short'), 'x', 'not yet expired')
  clock.advance(31)
  t.equal(await cache.get('short'), null, 'expired')
  t.equal(await cache.get('a'), '1', 'the other still there')
  await cache.del(['a', 'missing'])
  t.equal(await cache.get('a'), null)
})

t.test('setIfAbsent sets once, again after expiry', async t => {
  const clock = manualClock()
  const cache = new MemoryCache({ clock })
  t.equal(await cache.setIfAbsent('k', 'first', 30), true)
  t.equal(await cache.setIfAbsent('k', 'second', 30), false)
  t.equal(await cache.get('k'), 'first')
  clock.advance(60)
  t.equal(await cache.setIfAbsent('k', 'third', 1000), true, 'absent again once expired')
  t.equal(await cache.get('k'), 'third')
})

t.test('bounded: beyond maxEntries the least recently used goes', async t => {
  const cache = new MemoryCache({ maxEntries: 3 })
  for (const k of ['a', 'b', 'c']) await cache.set(k, k, 60_000)
  await cache.get('a') // a is now the most recently used
  await cache.set('d', 'd', 60_000)
  t.equal(await cache.get('b'), null, 'b evicted')
  t.same(await Promise.all(['a', 'c', 'd'].map(k => cache.get(k))), ['a', 'c', 'd'])
})
