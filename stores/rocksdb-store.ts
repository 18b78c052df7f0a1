// The persistent BytesStore: one RocksDB instance per task and store, through @nxtedition/rocksdb.
//
// Everything the hot path calls is synchronous in this binding, and we use only those entry points
// (measured in bench/store-layers.ts; see notes/performance-floor.md for why an awaited get per
// record is not an option):
// - get: `db._getManySync([key])` (one MultiGet on the calling thread; no libuv round trip).
// - range: `db.querySync(options)` creates a native iterator with iterate_lower/upper_bound, reads
//   up to `limit` rows on the calling thread and closes it (binding.cc db_query → Iterator::nextv).
// - write: a chained batch written with `_writeSync` (one rocksdb::WriteBatch, atomic). The
//   BytesStore contract returns a Promise; it resolves once the synchronous write returned.
// We call the batch's `_put`/`_del` (not `put`/`del`): the public methods run abstract-level's
// key encoding, which turns a Buffer key into a UTF-8 string (0xff becomes U+FFFD).
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { StreamsError } from '../topology/streams-error.ts'
import { MIN_BLOCK_CACHE_BYTES_PER_STORE, MIN_MEMTABLE_BYTES_PER_STORE } from '../lib/memory-budget.ts'
import type { BytesStore } from './key-value-store.ts'
import { rangeLimit, type BytesRangeOptions } from './bytes-range.ts'
import { nativeBatchWriters, type NativeBatchWrite, type NativeColumnsWrite } from './rocksdb-native-batch.ts'
import { columnEntries, type RestoreColumns } from './restore-columns.ts'

/** The part of @nxtedition/rocksdb (no type declarations shipped) this file uses. */
interface RocksBatch {
  _put (key: Buffer, value: Buffer, options: object): void
  _del (key: Buffer, options: object): void
  _writeSync (options: { sync?: boolean }): void
  _closeSync (): void
}
interface RocksDb {
  readonly status: string
  open (options: Record<string, unknown>): Promise<void>
  close (): Promise<void>
  _getManySync (keys: Buffer[], options: object): Array<Buffer | undefined | null>
  _chainedBatch (): RocksBatch
  querySync (options: Record<string, unknown>): { rows: Buffer[], finished: boolean }
  getProperty (name: string): string
}
interface RocksModule {
  RocksLevel: new (location: string, options?: object) => RocksDb
}
const { RocksLevel } = createRequire(import.meta.url)('@nxtedition/rocksdb') as RocksModule

/** Memory per store, worst case: blockCacheBytes + 1.5 × memtableBudgetBytes (the binding cannot
 *  share a block cache or a write-buffer manager between instances, and a process runs one
 *  instance per task and store: the rewards processor on 12 partitions opens 8 × 12 = 96). With
 *  the defaults (512 KiB / 1 MiB, the floors of lib/memory-budget.ts's per-store share): 2 MiB
 *  worst case per store, 192 MiB for 96, far less in practice (a memtable is flushed once two are
 *  full: 2 × 256 KiB). 16 MiB caches and 32 MiB budgets took the processor to 793 MiB RSS on 1M
 *  members and 2M dedupe entries (bench/rewards-memory.ts, docs/benchmarks.md "Memory"); the
 *  state stays on disk, and the caching layer's read cache sits in front of the block cache. */
export interface RocksDbStoreOptions {
  /** Block cache (HyperClockCache) per store, bytes; default 512 KiB. Index and filter blocks are
   *  kept in it too, so the bound is real. */
  readonly blockCacheBytes?: number
  /** Memtable budget, bytes; default 1 MiB. The binding's level-compaction profile makes
   *  write_buffer_size a quarter of it (256 KiB), merges 2 memtables per flush and allows up to 6
   *  (1.5 MiB) before it stalls writes. */
  readonly memtableBudgetBytes?: number
  /** fsync the WAL on every committed batch (default true). A `.checkpoint` must never claim a
   *  batch that is not durable: a power loss could leave the store behind it, and the restore
   *  would skip the batch. With false, whoever writes a checkpoint calls syncUnsynced() first
   *  (TaskStateManager.writeCheckpoint does: one fsync per store per checkpoint instead of one per
   *  store per commit). A kill -9 alone never loses unsynced WAL data (it sits in the OS page
   *  cache). */
  readonly syncWrites?: boolean
}

export const ROCKSDB_DEFAULTS = {
  blockCacheBytes: MIN_BLOCK_CACHE_BYTES_PER_STORE,
  memtableBudgetBytes: MIN_MEMTABLE_BYTES_PER_STORE,
  syncWrites: true
} as const

const QUERY_ENCODING = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const
const MAX_QUERY_LIMIT = 0x7fff_ffff
const NO_OPTIONS = {}
const NO_SYNC = { sync: false }
const SYNC = { sync: true }

/** Every RocksDbStore open in this process: what rocksDbMemoryByStore() adds up. */
const OPEN_STORES = new Set<RocksDbStore>()

/** The memory RocksDB reports for the instances open in this process, per kind. */
export interface RocksDbMemory {
  /** rocksdb.block-cache-usage: data, index and filter blocks held in the block caches. */
  readonly blockCacheBytes: number
  /** rocksdb.cur-size-all-mem-tables: active and immutable memtables. */
  readonly memtableBytes: number
  /** rocksdb.estimate-table-readers-mem: table readers outside the block cache. */
  readonly tableReaderBytes: number
  readonly instances: number
}

/** RocksDB's own memory figures of every open instance, summed per store name (the instances of
 *  all tasks). A few property reads per instance: meant for a metrics scrape, not a hot path. */
export function rocksDbMemoryByStore (): Map<string, RocksDbMemory> {
  const out = new Map<string, RocksDbMemory>()
  for (const store of OPEN_STORES) {
    const read = (property: string): number => {
      const value = store.numericProperty(property)
      return Number.isFinite(value) ? value : 0
    }
    const sum = out.get(store.name) ?? { blockCacheBytes: 0, memtableBytes: 0, tableReaderBytes: 0, instances: 0 }
    out.set(store.name, {
      blockCacheBytes: sum.blockCacheBytes + read('rocksdb.block-cache-usage'),
      memtableBytes: sum.memtableBytes + read('rocksdb.cur-size-all-mem-tables'),
      tableReaderBytes: sum.tableReaderBytes + read('rocksdb.estimate-table-readers-mem'),
      instances: sum.instances + 1
    })
  }
  return out
}

export class RocksDbStore implements BytesStore {
  readonly name: string
  readonly persistent = true
  readonly #options: Required<RocksDbStoreOptions>
  readonly #writeOptions: { sync: boolean }
  #db: RocksDb | undefined
  #dir: string | undefined
  /** Restore writes without the chained batch's per-record overhead (rocksdb-native-batch.ts);
   *  undefined while closed or if the binding does not allow it. */
  #restoreWrite: NativeBatchWrite | undefined
  #restoreWriteColumns: NativeColumnsWrite | undefined
  /** A batch was written without fsync since the last syncWal(). */
  #unsynced = false

  constructor (name: string, options: RocksDbStoreOptions = {}) {
    this.name = name
    this.#options = { ...ROCKSDB_DEFAULTS, ...options }
    this.#writeOptions = { sync: this.#options.syncWrites }
  }

  get dir (): string | undefined {
    return this.#dir
  }

  async open (dir: string): Promise<void> {
    if (this.#db !== undefined) throw new Error(`store ${this.name} is already open in ${this.#dir}`)
    mkdirSync(dir, { recursive: true })
    const db = new RocksLevel(dir)
    await db.open({
      createIfMissing: true,
      // Level compaction, L0/L1 uncompressed and ZSTD below (binding's "level" profile).
      compaction: 'level',
      memtableMemoryBudget: this.#options.memtableBudgetBytes,
      cacheSize: this.#options.blockCacheBytes,
      // Point lookups dominate (a balance per record): hash index in data blocks + ribbon filter.
      optimize: 'point-lookup',
      cacheIndexAndFilterBlocks: true,
      // Background threads for flush and compaction; a process runs many small stores.
      parallelism: 2,
      // The binding compresses the WAL with ZSTD by default: CPU on every write (a restore spends
      // ~15% more time in RocksDB with it, bench/engine-restore.ts) to save disk bytes of a log
      // that is deleted at each memtable flush.
      walCompression: false,
      // Without this the binding sets ZSTD dictionaries (16 KiB dictionary, 1.6 MiB of training
      // samples) on every level it compresses (L2 and below): each compaction into those levels
      // buffers its output's data blocks for the training, and malloc keeps those pages resident
      // afterwards. The level profile's ZSTD for L2 and below stays; only the dictionary goes
      // (docs/benchmarks.md "Memory at 500k, fourth pass (branch memory5)").
      compression: false
    })
    this.#db = db
    this.#dir = dir
    const writers = nativeBatchWriters(db)
    this.#restoreWrite = writers?.write
    this.#restoreWriteColumns = writers?.writeColumns
    OPEN_STORES.add(this)
  }

  get (key: Buffer): Buffer | undefined {
    const value = this.#open()._getManySync([key], NO_OPTIONS)[0]
    // null means aborted/timed out (only with a deadline, which we never set).
    if (value === null) throw new Error(`RocksDB get aborted in store ${this.name}`)
    return value
  }

  /** Several keys in one MultiGet (prefetch of a fetched batch's keys). */
  getMany (keys: Buffer[]): Array<Buffer | undefined> {
    const values = this.#open()._getManySync(keys, NO_OPTIONS)
    for (const value of values) if (value === null) throw new Error(`RocksDB get aborted in store ${this.name}`)
    return values as Array<Buffer | undefined>
  }

  async write (entries: ReadonlyArray<{ key: Buffer, value: Buffer | null }>): Promise<void> {
    this.writeSync(entries)
  }

  /** The same atomic batch write, for callers that want no Promise. */
  writeSync (entries: ReadonlyArray<{ key: Buffer, value: Buffer | null }>): void {
    this.#writeBatch(entries, this.#writeOptions)
  }

  #writeBatch (entries: ReadonlyArray<{ key: Buffer, value: Buffer | null }>, options: { sync: boolean }): void {
    const db = this.#open()
    if (entries.length === 0) return
    const batch = db._chainedBatch()
    try {
      for (const { key, value } of entries) {
        if (value === null) batch._del(key, NO_OPTIONS)
        else batch._put(key, value, NO_OPTIONS)
      }
      batch._writeSync(options)
      if (!options.sync) this.#unsynced = true
    } finally {
      batch._closeSync()
    }
  }

  /** A restore's batch (the changelog is the source of truth while restoring): not fsynced. The
   *  caller ends the restore with syncWal() before anything (a checkpoint) can claim it. */
  restoreWriteSync (entries: ReadonlyArray<{ key: Buffer, value: Buffer | null }>): void {
    this.#open()
    const write = this.#restoreWrite
    if (write === undefined) { this.#writeBatch(entries, NO_SYNC); return }
    if (entries.length === 0) return
    write(entries, NO_SYNC)
    this.#unsynced = true
  }

  /** restoreWriteSync() of a slice as offsets into the fetched bytes (restore-columns.ts): no
   *  object or Buffer view per record on the way. */
  restoreWriteColumnsSync (columns: RestoreColumns): void {
    this.#open()
    const write = this.#restoreWriteColumns
    if (write === undefined) { this.restoreWriteSync(columnEntries(columns)); return }
    if (columns.count === 0) return
    write(columns, NO_SYNC)
    this.#unsynced = true
  }

  /** fsyncs the WAL: every write before it is durable (an empty synced batch, RocksDB's idiom). */
  syncWal (): void {
    const batch = this.#open()._chainedBatch()
    try {
      batch._writeSync(SYNC)
      this.#unsynced = false
    } finally {
      batch._closeSync()
    }
  }

  /** True when a batch was written without fsync since the last syncWal(). */
  get hasUnsyncedWrites (): boolean {
    return this.#unsynced
  }

  /** syncWal() if a batch was written without fsync since the last one (before a checkpoint). */
  syncUnsynced (): void {
    if (this.#unsynced) this.syncWal()
  }

  range (from: Buffer | undefined, to: Buffer | undefined, options?: BytesRangeOptions): Array<[Buffer, Buffer]> {
    const db = this.#open()
    const limit = rangeLimit(options)
    if (limit === 0) return []
    const query: Record<string, unknown> = {
      ...QUERY_ENCODING,
      // The binding keeps only the low 32 bits of the limit (2^53 + 4 reads 4 rows): clamp.
      limit: Math.min(limit, MAX_QUERY_LIMIT),
      reverse: options?.reverse === true
    }
    if (from !== undefined) query.gte = from
    if (to !== undefined) query[options?.toExclusive === true ? 'lt' : 'lte'] = to
    const { rows } = db.querySync(query)
    const result = new Array<[Buffer, Buffer]>(rows.length / 2)
    for (let i = 0, n = 0; i < rows.length; i += 2, n++) result[n] = [rows[i] as Buffer, rows[i + 1] as Buffer]
    return result
  }

  /** RocksDB's estimate (rocksdb.estimate-num-keys): counts memtable and SST entries, so
   *  overwrites and deletes not yet compacted make it approximate, as the name says. */
  approximateNumEntries (): number {
    const value = Number(this.#open().getProperty('rocksdb.estimate-num-keys'))
    return Number.isFinite(value) ? value : 0
  }

  /** Live data in SST files plus the memtables (RocksDB's estimates; cheap property reads). */
  approximateSizeBytes (): number {
    const db = this.#open()
    const bytes = Number(db.getProperty('rocksdb.estimate-live-data-size')) + Number(db.getProperty('rocksdb.cur-size-all-mem-tables'))
    return Number.isFinite(bytes) ? bytes : 0
  }

  /** A numeric RocksDB property (rocksdb.cur-size-all-mem-tables, rocksdb.block-cache-usage,
   *  rocksdb.estimate-table-readers-mem, …); NaN if the store does not know it. */
  numericProperty (name: string): number {
    return Number(this.#open().getProperty(name))
  }

  async close (): Promise<void> {
    const db = this.#db
    if (db === undefined) return
    this.#db = undefined
    this.#restoreWrite = undefined
    this.#restoreWriteColumns = undefined
    OPEN_STORES.delete(this)
    await db.close()
  }

  #open (): RocksDb {
    if (this.#db === undefined) throw new StreamsError('STORE_CLOSED', `State store ${this.name} is not open`)
    return this.#db
  }
}
