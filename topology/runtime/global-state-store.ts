// One global store (docs/engine.md "Global tables"): the bytes store (RocksDB or in-memory) under
// `<appDir>/global/<store>`, the records of its topic applied as they are (the topic's serdes are
// the store's), a queryable view (RESTORING until the bootstrap ends) and a read-only view for
// processors. Writes are unsynced RocksDB batches; sync() makes them durable before a checkpoint
// claims them (the same rule as a task's restore, task-state-manager.ts).
import { rmSync } from 'node:fs'
import type { LogRecord } from '../../log/log-port.ts'
import { InMemoryStore } from '../../stores/in-memory-store.ts'
import type { BytesStore, KeyValueStore, ReadOnlyKeyValueStore } from '../../stores/key-value-store.ts'
import { RocksDbStore, type RocksDbStoreOptions } from '../../stores/rocksdb-store.ts'
import { ReadOnlyTypedKeyValueStore } from '../../stores/typed-key-value-store.ts'
import { StreamsError } from '../streams-error.ts'
import type { GlobalStoreSpec } from '../topology.ts'

/** A global store as processors see it: reads only (the updater is its only writer). */
export function readOnlyGlobalView (spec: GlobalStoreSpec, reads: ReadOnlyKeyValueStore<unknown, unknown>): KeyValueStore<unknown, unknown> {
  const readOnly = (): never => { throw new StreamsError('TOPOLOGY_INVALID', `global store ${spec.definition.name} is read-only: it is written from its topic ${spec.topic} only`) }
  return {
    name: spec.definition.name,
    get: key => reads.get(key),
    range: (from, to, options) => reads.range(from, to, options),
    prefixScan: (prefix, options) => reads.prefixScan(prefix, options),
    approximateNumEntries: () => reads.approximateNumEntries(),
    put: readOnly,
    putIfAbsent: readOnly,
    delete: readOnly
  }
}

export class GlobalStateStore {
  readonly spec: GlobalStoreSpec
  readonly #bytes: BytesStore
  /** Interactive queries: RESTORING during the bootstrap, READY after, CLOSED at close. */
  readonly queryable: ReadOnlyTypedKeyValueStore<unknown, unknown>
  /** What processors get from getStateStore(): reads only (the updater is the only writer). */
  readonly processorView: KeyValueStore<unknown, unknown>
  #unsynced = false

  private constructor (spec: GlobalStoreSpec, bytes: BytesStore) {
    this.spec = spec
    this.#bytes = bytes
    const { keySerde, valueSerde } = spec.definition
    this.queryable = new ReadOnlyTypedKeyValueStore(bytes, keySerde, valueSerde, 'RESTORING')
    this.processorView = readOnlyGlobalView(spec, new ReadOnlyTypedKeyValueStore(bytes, keySerde, valueSerde, 'READY'))
  }

  /** Opens the store in `dir`; `wipe`: delete what is there first (no usable checkpoint). */
  static async open (spec: GlobalStoreSpec, dir: string, wipe: boolean, rocksDb?: RocksDbStoreOptions): Promise<GlobalStateStore> {
    let bytes: BytesStore
    if (spec.definition.kind === 'rocksdb') {
      if (wipe) rmSync(dir, { recursive: true, force: true })
      bytes = new RocksDbStore(spec.definition.name, rocksDb)
    } else {
      bytes = new InMemoryStore(spec.definition.name)
    }
    await bytes.open(dir)
    return new GlobalStateStore(spec, bytes)
  }

  /** Survives a restart (an in-memory store starts empty: it always bootstraps from the start). */
  get persistent (): boolean { return this.#bytes instanceof RocksDbStore }

  /** Applies records of the topic in one atomic batch: a null value deletes, a null key is skipped
   *  (a table has no null keys). Returns how many were applied. */
  apply (records: readonly LogRecord[]): number {
    const entries: Array<{ key: Buffer, value: Buffer | null }> = []
    for (const r of records) if (r.key !== null) entries.push({ key: r.key, value: r.value })
    if (entries.length === 0) return 0
    const bytes = this.#bytes
    if (bytes instanceof RocksDbStore) { bytes.restoreWriteSync(entries); this.#unsynced = true } else (bytes as InMemoryStore).writeSync(entries)
    return entries.length
  }

  /** Makes the applied records durable (before a checkpoint says the store holds them). */
  sync (): void {
    if (this.#unsynced && this.#bytes instanceof RocksDbStore) this.#bytes.syncWal()
    this.#unsynced = false
  }

  setQueryableState (state: 'RESTORING' | 'READY' | 'CLOSED'): void {
    this.queryable.setState(state)
  }

  async close (): Promise<void> {
    this.queryable.setState('CLOSED')
    await this.#bytes.close()
  }
}
