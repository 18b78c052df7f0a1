// State store contracts. Interactive queries only ever get the read-only type; processors get the
// writable one. All calls are synchronous: reads are served from the task's write cache or from
// RocksDB's synchronous get, so a processor never awaits per record (see
// docs/decisions/0001-rocksdb-binding.md for the measured reason).
//
// Null rules (as Kafka Streams): keys are never null/undefined; `get` returns undefined for a
// missing key; `put(key, undefined)` is not allowed — use delete().

import type { Serde } from '../topology/serdes.ts'

export interface KeyValue<K, V> {
  readonly key: K
  readonly value: V
}

export interface RangeOptions {
  /** At most this many entries (scans are bounded; default 1000). */
  readonly limit?: number
  /** Newest-first / descending key order. */
  readonly reverse?: boolean
}

export interface ReadOnlyKeyValueStore<K, V> {
  readonly name: string
  get (key: K): V | undefined
  /** Keys in [from, to] inclusive, in key byte order; either bound may be omitted. */
  range (from: K | undefined, to: K | undefined, options?: RangeOptions): KeyValue<K, V>[]
  /** Keys whose serialized form starts with the serialized prefix. */
  prefixScan (prefix: K, options?: RangeOptions): KeyValue<K, V>[]
  approximateNumEntries (): number
}

export interface KeyValueStore<K, V> extends ReadOnlyKeyValueStore<K, V> {
  put (key: K, value: V): void
  putIfAbsent (key: K, value: V): V | undefined
  delete (key: K): V | undefined
}

/** The bytes layer under the typed store: RocksDB or in-memory. Writes arrive only as atomic
 *  batches at commit (from the caching layer); reads are synchronous. */
export interface BytesStore {
  readonly name: string
  readonly persistent: boolean
  /** Opens (creating if needed) the store in `dir` (ignored by in-memory stores). */
  open (dir: string): Promise<void>
  get (key: Buffer): Buffer | undefined
  /** Atomic: all entries or none. `value: null` deletes. */
  write (entries: ReadonlyArray<{ key: Buffer, value: Buffer | null }>): Promise<void>
  range (from: Buffer | undefined, to: Buffer | undefined, options?: RangeOptions): Array<[Buffer, Buffer]>
  approximateNumEntries (): number
  /** Bytes the store takes on disk and in memory, estimated; persistent stores only. */
  approximateSizeBytes? (): number
  close (): Promise<void>
}

export type StoreKind = 'rocksdb' | 'in-memory'

/** How a topology declares a store; the runtime builds one instance per task from it. */
export interface StoreDefinition<K, V> {
  readonly name: string
  readonly kind: StoreKind
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>
  /** Back the store with `<application-id>-<name>-changelog` (compacted). Default true. */
  readonly changelog: boolean
  /** Topic configs of the changelog over the default `cleanup.policy: compact` (window and
   *  session stores: `compact,delete` with a retention, docs/engine.md "Windows"). */
  readonly changelogConfig?: Readonly<Record<string, string>>
}
