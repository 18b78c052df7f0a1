// What a record's store access costs through the store layers (stores/), against the raw binding's
// awaited get (one libuv round trip per key), which is what an engine awaiting one read per record
// would pay. Prints ops/s and the ratio to that baseline.
//
//   node_modules/.bin/node bench/store-layers.ts [keys] [rounds]    (default 100000 keys, 5 rounds)
//
// Keys are member-id-like strings, values ~150-byte JSON balances; reads go in a shuffled order.
// The machine is shared and noisy (load moves figures by 2–5× between runs), so the operations run
// interleaved — every operation once per round, baseline included — and each figure is the median
// of its rounds; the ratios are then taken against a baseline measured under the same load.
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CachingChangelogStore } from '../stores/caching-changelogging-store.ts'
import { RocksDbStore } from '../stores/rocksdb-store.ts'
import { TypedKeyValueStore } from '../stores/typed-key-value-store.ts'
import { Serdes } from '../topology/serdes.ts'

const KEYS = Number(process.argv[2] ?? 100_000)
const ROUNDS = Number(process.argv[3] ?? 5)
const COMMIT = 1000
const AWAITED_GETS = Math.min(KEYS, 10_000)
const CACHE_HITS = Math.min(KEYS, 10_000)
const HIT_ROUNDS = 10

interface Balance { memberId: string, earned: number, reversed: number, redeemed: number, available: number, tier: string, lastActivityAt: string, events: number }
const balance = (i: number): Balance => ({ memberId: `M${i}`, earned: i * 10, reversed: 0, redeemed: i, available: i * 9, tier: 'GOLD', lastActivityAt: '2026-11-24T15:00:00.000Z', events: i % 50 })
const memberKey = (i: number): string => `M${String(i).padStart(9, '0')}`

function shuffled (n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i)
  let seed = 42
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    const j = seed % (i + 1)
    ;[a[i], a[j]] = [a[j] as number, a[i] as number]
  }
  return a
}

interface Operation {
  readonly name: string
  readonly ops: number
  readonly run: () => unknown
  readonly rates: number[]
}

interface RawLevel {
  open (): Promise<void>
  get (key: Buffer): Promise<Buffer | undefined>
  batch (): { put (key: Buffer, value: Buffer): void, write (): Promise<void> }
  close (): Promise<void>
}

async function main (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rewards-bench-stores-'))
  const closers: Array<() => Promise<void>> = []
  try {
    const order = shuffled(KEYS)
    const keyBytes = order.map(i => Buffer.from(memberKey(i)))

    // The layers, as a task has them, once with fsync per commit (default) and once without.
    const layers = async (syncWrites: boolean): Promise<{ bytes: RocksDbStore, cache: CachingChangelogStore, store: TypedKeyValueStore<string, Balance> }> => {
      const bytes = new RocksDbStore('balances', { syncWrites })
      await bytes.open(join(dir, `balances-${syncWrites ? 'sync' : 'nosync'}`))
      // Read cache off: the read figures measure RocksDB; the cache has its own figure below.
      const cache = new CachingChangelogStore(bytes, { maxDirtyEntries: COMMIT * 2, maxCachedEntries: 0 })
      closers.push(() => cache.close())
      return { bytes, cache, store: new TypedKeyValueStore(cache, Serdes.string(), Serdes.json<Balance>()) }
    }
    const synced = await layers(true)
    const unsynced = await layers(false)
    const loadThroughLayers = async ({ cache, store }: { cache: CachingChangelogStore, store: TypedKeyValueStore<string, Balance> }): Promise<void> => {
      for (let i = 0; i < KEYS; i++) {
        store.put(memberKey(i), balance(i))
        if ((i + 1) % COMMIT === 0) {
          cache.flush()
          await cache.applyFlushed()
        }
      }
      cache.flush()
      await cache.applyFlushed()
    }
    await loadThroughLayers(synced)
    // Warm the block cache: every read figure is on a warm cache.
    for (const key of keyBytes) synced.cache.get(key)

    // Baseline: the raw binding on its own copy of the data, one awaited get per key
    // (abstract-level get → async MultiGet on the libuv pool).
    const { RocksLevel } = createRequire(import.meta.url)('@nxtedition/rocksdb') as { RocksLevel: new (location: string, options: object) => RawLevel }
    const raw = new RocksLevel(join(dir, 'raw'), { keyEncoding: 'buffer', valueEncoding: 'buffer' })
    await raw.open()
    closers.push(() => raw.close())
    for (let i = 0; i < KEYS; i += COMMIT) {
      const batch = raw.batch()
      for (let j = i; j < Math.min(KEYS, i + COMMIT); j++) batch.put(Buffer.from(memberKey(j)), Buffer.from(JSON.stringify(balance(j))))
      await batch.write()
    }
    for (let i = 0; i < AWAITED_GETS; i++) await raw.get(keyBytes[i] as Buffer)

    let readCached = new CachingChangelogStore(synced.bytes, { maxCachedEntries: CACHE_HITS })
    readCached.prefetch(keyBytes.slice(0, CACHE_HITS))
    const writeCached = new CachingChangelogStore(synced.bytes)
    for (let i = 0; i < CACHE_HITS; i++) writeCached.put(keyBytes[i] as Buffer, Buffer.from(JSON.stringify(balance(i))))

    const missing = (): never => { throw new Error('missing key') }
    const operations: Operation[] = [
      {
        name: 'BASELINE raw binding: await db.get(key), 1 call/key',
        ops: AWAITED_GETS,
        run: async () => { for (let i = 0; i < AWAITED_GETS; i++) if ((await raw.get(keyBytes[i] as Buffer)) === undefined) missing() }
      },
      {
        name: 'get hit in write cache (dirty, bytes)',
        ops: CACHE_HITS * HIT_ROUNDS,
        run: () => { for (let r = 0; r < HIT_ROUNDS; r++) for (let i = 0; i < CACHE_HITS; i++) if (writeCached.get(keyBytes[i] as Buffer) === undefined) missing() }
      },
      {
        name: 'get hit in read cache (committed, bytes)',
        ops: CACHE_HITS * HIT_ROUNDS,
        run: () => { for (let r = 0; r < HIT_ROUNDS; r++) for (let i = 0; i < CACHE_HITS; i++) if (readCached.get(keyBytes[i] as Buffer) === undefined) missing() }
      },
      {
        name: 'get from RocksDB, sync (bytes: _getManySync of 1 key)',
        ops: KEYS,
        run: () => { for (const key of keyBytes) if (synced.cache.get(key) === undefined) missing() }
      },
      {
        name: 'get from RocksDB, sync (typed: + string serde + JSON.parse)',
        ops: KEYS,
        run: () => { for (const i of order) if (synced.store.get(memberKey(i)) === undefined) missing() }
      },
      {
        name: `prefetch into an empty read cache, batches of ${COMMIT} (1 MultiGet each)`,
        ops: CACHE_HITS,
        run: () => {
          readCached = new CachingChangelogStore(synced.bytes, { maxCachedEntries: CACHE_HITS })
          for (let i = 0; i < CACHE_HITS; i += COMMIT) readCached.prefetch(keyBytes.slice(i, i + COMMIT))
        }
      },
      {
        name: 'range scan, sync, 100 rows/call (rows/s, typed)',
        ops: 100 * 1000,
        run: () => { for (let i = 0; i < 1000; i++) if (synced.store.range(memberKey(i * 50), undefined, { limit: 100 }).length === 0) missing() }
      },
      {
        name: `put ×${COMMIT} + flush + applyFlushed (typed, syncWrites: fsync per commit)`,
        ops: KEYS,
        run: () => loadThroughLayers(synced)
      },
      {
        name: `put ×${COMMIT} + flush + applyFlushed (typed, syncWrites: false)`,
        ops: KEYS,
        run: () => loadThroughLayers(unsynced)
      }
    ].map(op => ({ ...op, rates: [] }))

    for (let round = 0; round < ROUNDS; round++) {
      for (const op of operations) {
        const start = process.hrtime.bigint()
        await op.run()
        op.rates.push(op.ops / (Number(process.hrtime.bigint() - start) / 1e9))
      }
    }
    if (readCached.cacheStats.misses !== 0) throw new Error(`read cache missed ${readCached.cacheStats.misses} times`)

    const median = (rates: number[]): number => [...rates].sort((a, b) => a - b)[rates.length >> 1] as number
    const baseline = median(operations[0]?.rates ?? [])
    console.log(`store layers on @nxtedition/rocksdb: ${KEYS} keys, ${ROUNDS} interleaved rounds (median), Node ${process.version}`)
    const width = Math.max(...operations.map(op => op.name.length))
    for (const op of operations) {
      const m = median(op.rates)
      const spread = `${Math.round(Math.min(...op.rates)).toLocaleString('en-US')}–${Math.round(Math.max(...op.rates)).toLocaleString('en-US')}`
      console.log(`${op.name.padEnd(width)}  ${Math.round(m).toLocaleString('en-US').padStart(11)} ops/s  ×${(m / baseline).toFixed(1).padStart(6)} vs awaited get   (range ${spread})`)
    }
  } finally {
    for (const close of closers.reverse()) await close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
