// Property: the caching/changelogging layer over either bytes store behaves like a plain sorted map
// with commit/abort: random puts, deletes, commits (flush + applyFlushed), aborts (discardDirty)
// and ranges agree with a model; the committed view always equals the model's committed state.
import t from 'tap'
import fc from 'fast-check'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import type { BytesRangeOptions } from '../../stores/bytes-range.ts'
import { BYTES_STORES, openBytesStore } from './helpers.ts'

type Op =
  | { op: 'put', key: number[], value: number }
  | { op: 'delete', key: number[] }
  | { op: 'commit' }
  | { op: 'abort' }
  | { op: 'get', key: number[] }
  | { op: 'prefetch', keys: number[][] }
  | { op: 'range', from: number[] | null, to: number[] | null, limit: number, reverse: boolean, toExclusive: boolean }

// Tiny alphabet with the edge bytes so keys collide and share prefixes.
const keyArb = fc.array(fc.constantFrom(0x00, 0x01, 0x61, 0x62, 0xfe, 0xff), { minLength: 1, maxLength: 3 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('put' as const), key: keyArb, value: fc.nat(1000) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ op: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'abort' as const }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('get' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('prefetch' as const), keys: fc.array(keyArb, { maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('range' as const), from: fc.option(keyArb), to: fc.option(keyArb), limit: fc.integer({ min: 0, max: 8 }), reverse: fc.boolean(), toExclusive: fc.boolean() }) }
)

const hex = (key: number[]): string => Buffer.from(key).toString('hex')

function modelRange (map: Map<string, string>, op: Extract<Op, { op: 'range' }>): Array<[string, string]> {
  const from = op.from === null ? undefined : Buffer.from(op.from)
  const to = op.to === null ? undefined : Buffer.from(op.to)
  const rows = [...map.entries()]
    .map(([k, v]) => [Buffer.from(k, 'hex'), v] as const)
    .filter(([k]) => (from === undefined || Buffer.compare(k, from) >= 0) && (to === undefined || (op.toExclusive ? Buffer.compare(k, to) < 0 : Buffer.compare(k, to) <= 0)))
    .sort((a, b) => Buffer.compare(a[0], b[0]))
  if (op.reverse) rows.reverse()
  return rows.slice(0, op.limit).map(([k, v]) => [k.toString('hex'), v])
}

// Read cache off, tiny (constant eviction), and default.
const CACHE_CONFIGS = [{ maxCachedEntries: 0 }, { maxCachedEntries: 2 }, { maxCachedBytes: 12 }, {}]

for (const { kind, create } of BYTES_STORES) for (const cacheConfig of CACHE_CONFIGS) {
  t.test(`${kind}: caching layer agrees with a model (read cache ${JSON.stringify(cacheConfig)})`, async t => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 80, size: 'max' }), async ops => {
      const sub = { teardowns: [] as Array<() => unknown>, teardown (fn: () => unknown) { this.teardowns.push(fn) } }
      const bytes = await openBytesStore(sub, create)
      try {
        const cache = new CachingChangelogStore(bytes, cacheConfig)
        let committed = new Map<string, string>()
        let current = new Map<string, string>()
        for (const op of ops) {
          if (op.op === 'put') {
            cache.put(Buffer.from(op.key), Buffer.from(String(op.value)))
            current.set(hex(op.key), String(op.value))
          } else if (op.op === 'delete') {
            cache.delete(Buffer.from(op.key))
            current.delete(hex(op.key))
          } else if (op.op === 'commit') {
            cache.flush()
            await cache.applyFlushed()
            committed = new Map(current)
          } else if (op.op === 'abort') {
            cache.discardDirty()
            current = new Map(committed)
          } else if (op.op === 'get') {
            if (cache.get(Buffer.from(op.key))?.toString() !== current.get(hex(op.key))) return false
          } else if (op.op === 'prefetch') {
            cache.prefetch(op.keys.map(k => Buffer.from(k)))
          } else {
            const options: BytesRangeOptions = { limit: op.limit, reverse: op.reverse, toExclusive: op.toExclusive }
            const from = op.from === null ? undefined : Buffer.from(op.from)
            const to = op.to === null ? undefined : Buffer.from(op.to)
            const got = cache.range(from, to, options).map(([k, v]) => [k.toString('hex'), v.toString()])
            if (JSON.stringify(got) !== JSON.stringify(modelRange(current, op))) return false
            const view = cache.committedView().range(from, to, options).map(([k, v]) => [k.toString('hex'), v.toString()])
            if (JSON.stringify(view) !== JSON.stringify(modelRange(committed, op))) return false
          }
          for (const key of [[0x61], [0x61, 0xff], [0xff]]) {
            if (cache.get(Buffer.from(key))?.toString() !== current.get(hex(key))) return false
            if (cache.committedView().get(Buffer.from(key))?.toString() !== committed.get(hex(key))) return false
          }
        }
        return true
      } finally {
        for (const fn of sub.teardowns.reverse()) await fn()
      }
    }), { numRuns: kind === 'rocksdb' ? 40 : 200 })
    t.pass('model holds')
  })
}
