// What a record's store access costs through the store layers (stores/), against the raw binding's
// awaited get (one libuv round trip per key), which is what an engine awaiting one read per record
// would pay. Prints ops/s and the ratio to that baseline.
//
//   node_modules/.bin/node bench/store-layers.ts [keys]      (default 100000 keys)
//
// Keys are member-id-like strings, values ~150-byte JSON balances; reads go in a shuffled order.
// Each figure is the median of 3 runs.
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CachingChangelogStore } from '../stores/caching-changelogging-store.ts'
import { RocksDbStore } from '../stores/rocksdb-store.ts'
import { TypedKeyValueStore } from '../stores/typed-key-value-store.ts'
import { Serdes } from '../topology/serdes.ts'

const KEYS = Number(process.argv[2] ?? 100_000)
const COMMIT = 1000
const AWAITED_GETS = Math.min(KEYS, 20_000)
const CACHE_HITS = Math.min(KEYS, 10_000)

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

interface Figure { name: string, ops: number, opsPerSec: number }
const figures: Figure[] = []

/** The machine is shared and noisy: each figure is the median of RUNS runs. */
const RUNS = 3

async function measure (name: string, ops: number, fn: () => unknown): Promise<void> {
  const rates: number[] = []
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint()
    await fn()
    rates.push(ops / (Number(process.hrtime.bigint() - start) / 1e9))
  }
  rates.sort((a, b) => a - b)
  figures.push({ name, ops, opsPerSec: rates[RUNS >> 1] as number })
}

async function main (): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rewards-bench-stores-'))
  try {
    for (const syncWrites of [true, false]) {
      const bytes = new RocksDbStore('balances', { syncWrites })
      await bytes.open(join(dir, `balances-${syncWrites ? 'sync' : 'nosync'}`))
      // Read cache off here: the read figures below measure RocksDB, not the cache.
      const cache = new CachingChangelogStore(bytes, { maxDirtyEntries: COMMIT * 2, maxCachedEntries: 0 })
      const store = new TypedKeyValueStore(cache, Serdes.string(), Serdes.json<Balance>())
      const label = syncWrites ? 'syncWrites' : 'no fsync'
      // Load through the layers: put ×1000, then flush + applyFlushed (one atomic batch).
      await measure(`put + flush + applyFlushed, commits of ${COMMIT} (${label})`, KEYS, async () => {
        for (let i = 0; i < KEYS; i++) {
          store.put(memberKey(i), balance(i))
          if ((i + 1) % COMMIT === 0) {
            cache.flush()
            await cache.applyFlushed()
          }
        }
        cache.flush()
        await cache.applyFlushed()
      })
      if (!syncWrites) {
        await cache.close()
        continue
      }

      const order = shuffled(KEYS)
      const keyBytes = order.map(i => Buffer.from(memberKey(i)))

      // Warm-up pass (untimed): every read figure below is then on a warm block cache.
      for (const key of keyBytes) cache.get(key)
      await measure('get from RocksDB, sync (bytes: caching layer miss → _getManySync)', KEYS, () => {
        for (const key of keyBytes) if (cache.get(key) === undefined) throw new Error('missing')
      })
      await measure('get from RocksDB, sync (typed: serde + JSON.parse)', KEYS, () => {
        for (const i of order) if (store.get(memberKey(i)) === undefined) throw new Error('missing')
      })
      await measure('getMany from RocksDB, batches of 1000 (prefetch)', KEYS, () => {
        for (let i = 0; i < keyBytes.length; i += COMMIT) bytes.getMany(keyBytes.slice(i, i + COMMIT))
      })

      // Read cache: a layer whose cache holds CACHE_HITS committed entries, filled by prefetch.
      let readCached = new CachingChangelogStore(bytes, { maxCachedEntries: CACHE_HITS })
      await measure(`prefetch into an empty read cache, batches of ${COMMIT} (one MultiGet each)`, CACHE_HITS, () => {
        readCached = new CachingChangelogStore(bytes, { maxCachedEntries: CACHE_HITS })
        for (let i = 0; i < CACHE_HITS; i += COMMIT) readCached.prefetch(keyBytes.slice(i, i + COMMIT))
      })
      const HIT_ROUNDS = 10
      await measure('get hit in read cache (bytes)', CACHE_HITS * HIT_ROUNDS, () => {
        for (let r = 0; r < HIT_ROUNDS; r++) for (let i = 0; i < CACHE_HITS; i++) if (readCached.get(keyBytes[i] as Buffer) === undefined) throw new Error('missing')
      })
      if (readCached.cacheStats.misses !== 0) throw new Error(`read cache missed ${readCached.cacheStats.misses} times`)

      // Cache hits: these keys are dirty (written since the last commit).
      for (let i = 0; i < CACHE_HITS; i++) cache.put(keyBytes[i] as Buffer, Buffer.from(JSON.stringify(balance(i))))
      const ROUNDS = 10
      await measure('get hit in write cache (bytes)', CACHE_HITS * ROUNDS, () => {
        for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < CACHE_HITS; i++) if (cache.get(keyBytes[i] as Buffer) === undefined) throw new Error('missing')
      })
      cache.discardDirty()

      await measure('range scan sync, 100 rows/call (rows/s)', 100 * 1000, () => {
        for (let i = 0; i < 1000; i++) if (store.range(memberKey(i * 50), undefined, { limit: 100 }).length === 0) throw new Error('empty')
      })

      await cache.close()

      // Baseline: the raw binding, one awaited get per key (abstract-level get → async MultiGet).
      const { RocksLevel } = createRequire(import.meta.url)('@nxtedition/rocksdb') as {
        RocksLevel: new (location: string, options: object) => { open (): Promise<void>, get (key: Buffer): Promise<Buffer | undefined>, close (): Promise<void> }
      }
      const raw = new RocksLevel(bytes.dir as string, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
      await raw.open()
      await measure('BASELINE raw binding: await db.get(key), 1 call/key', AWAITED_GETS, async () => {
        for (let i = 0; i < AWAITED_GETS; i++) if ((await raw.get(keyBytes[i] as Buffer)) === undefined) throw new Error('missing')
      })
      await raw.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }

  const baseline = figures.find(f => f.name.startsWith('BASELINE'))?.opsPerSec ?? NaN
  console.log(`store layers on @nxtedition/rocksdb, ${KEYS} keys, Node ${process.version}`)
  const width = Math.max(...figures.map(f => f.name.length))
  for (const f of figures) {
    console.log(`${f.name.padEnd(width)}  ${Math.round(f.opsPerSec).toLocaleString('en-US').padStart(12)} ops/s  ×${(f.opsPerSec / baseline).toFixed(1)} vs awaited get`)
  }
}

await main()
