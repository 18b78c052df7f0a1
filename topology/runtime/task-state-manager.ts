// ProcessorStateManager's job for one task: open its stores (RocksDB or in-memory, wrapped in the
// write cache and the typed layer), decide where each restore starts from the checkpoint, restore
// from the changelogs (through a ChangelogReader shared by all restoring tasks), keep the changelog offsets the stores reflect, and write the checkpoint on
// a clean close.
//
// Exactly-once: the checkpoint file is deleted once read, and written again only when the task
// closes (clean: at the changelog's end after a commit; dirty: at the offsets of the last commit,
// which is what the stores hold, as writes reach them only after their commit); so after a crash
// there is none, and the stores are wiped and restored from the changelog (as Kafka Streams
// does). At-least-once: the checkpoint is kept while the task runs (a restore after a crash
// starts from it and replays what the stores may already hold).
//
// RocksDB stores apply commits without fsync; writeCheckpoint() syncs each written store's WAL
// before the checkpoint, the one thing that claims their writes (as Kafka Streams, which writes
// with the WAL off and flushes the stores before its checkpoint).
import { rmSync } from 'node:fs'
import type { LogAdmin, TopicPartition } from '../../log/log-port.ts'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import { CheckpointFile, checkpointKey } from '../../stores/checkpoint-file.ts'
import { InMemoryStore } from '../../stores/in-memory-store.ts'
import type { BytesStore } from '../../stores/key-value-store.ts'
import { RocksDbStore, type RocksDbStoreOptions } from '../../stores/rocksdb-store.ts'
import type { RestoreColumns } from '../../stores/restore-columns.ts'
import type { StateDirectory } from '../../stores/state-directory.ts'
import type { ThreadCache } from '../../stores/thread-cache.ts'
import type { ReadOnlyTypedKeyValueStore} from '../../stores/typed-key-value-store.ts';
import { TypedKeyValueStore } from '../../stores/typed-key-value-store.ts'
import type { AnyStoreDefinition } from '../topology.ts'
import type { ChangelogRestore } from './changelog-restore.ts'
import { changelogTopicName } from './task-names.ts'
import type { TaskStore } from './task-store.ts'

export interface TaskStateManagerOptions {
  readonly applicationId: string
  readonly taskName: string
  readonly partition: number
  readonly definitions: AnyStoreDefinition[]
  readonly stateDirectory: StateDirectory
  readonly exactlyOnce: boolean
  readonly maxDirtyEntries?: number
  readonly maxDirtyBytes?: number
  /** The stream thread's cache budget, shared by every store of its tasks. */
  readonly cache?: ThreadCache
  /** Per RocksDB store instance (stores/rocksdb-store.ts). */
  readonly rocksDb?: RocksDbStoreOptions
}

interface OpenStore {
  readonly definition: AnyStoreDefinition
  readonly caching: CachingChangelogStore
  readonly typed: TypedKeyValueStore<unknown, unknown>
  readonly queryable: ReadOnlyTypedKeyValueStore<unknown, unknown>
  readonly changelog: TopicPartition | null
}

export class TaskStateManager {
  readonly #options: TaskStateManagerOptions
  readonly #stores = new Map<string, OpenStore>()
  readonly #checkpoint: CheckpointFile
  /** Per changelog partition: the next offset after what the stores hold. */
  readonly #changelogOffsets = new Map<string, { tp: TopicPartition, offset: bigint }>()
  /** Where each changelog's restore starts (null: from the beginning). */
  readonly #restoreFrom = new Map<string, bigint | null>()
  #closed = false
  /** The cache budget the stores' write cache layers count against (handOver() may set it). */
  #cache: ThreadCache | undefined

  constructor (options: TaskStateManagerOptions) {
    this.#options = options
    this.#cache = options.cache
    this.#checkpoint = new CheckpointFile(options.stateDirectory.taskDir(options.taskName))
  }

  /** Opens every store. With no usable checkpoint for a persistent store, its directory is
   *  wiped first (it will be restored from the changelog's beginning). */
  async open (): Promise<void> {
    const { stateDirectory, taskName, definitions, applicationId, partition } = this.#options
    let checkpointed: Map<string, bigint>
    try {
      checkpointed = this.#checkpoint.readMap()
    } catch {
      checkpointed = new Map() // corrupt: start over
    }
    if (this.#options.exactlyOnce) this.#checkpoint.delete()
    const opening = definitions.map(definition => {
      const changelog = definition.changelog ? { topic: changelogTopicName(applicationId, definition.name), partition } : null
      const key = changelog ? checkpointKey(changelog) : null
      const from = key ? checkpointed.get(key) : undefined
      let bytes: BytesStore
      const dir = stateDirectory.storeDir(taskName, definition.name)
      if (definition.kind === 'rocksdb') {
        if (from === undefined) rmSync(dir, { recursive: true, force: true })
        // No fsync per applied commit: writeCheckpoint() syncs each store's WAL before the
        // checkpoint claims its writes (docs/engine.md "State, checkpoints, restore").
        bytes = new RocksDbStore(definition.name, { syncWrites: false, ...this.#options.rocksDb })
      } else {
        bytes = new InMemoryStore(definition.name)
      }
      return { definition, changelog, key, from, bytes, opened: bytes.open(dir) }
    })
    // The stores open together (RocksDB opens run off the event loop): one after the other, a
    // task's several stores made each standby open of a cold start take their sum
    // (docs/engine.md "Standby tasks"). One failing: the others close again.
    const results = await Promise.allSettled(opening.map(o => o.opened))
    const failed = results.find(r => r.status === 'rejected')
    if (failed !== undefined) {
      await Promise.allSettled(opening.filter((_, i) => results[i]!.status === 'fulfilled').map(o => o.bytes.close()))
      throw failed.reason
    }
    for (const { definition, changelog, key, from, bytes } of opening) {
      this.#stores.set(definition.name, this.#layers(definition, bytes, changelog))
      if (changelog && key) {
        // In-memory stores hold nothing after a restart: always from the beginning.
        this.#restoreFrom.set(key, definition.kind === 'rocksdb' && from !== undefined ? from : null)
      }
    }
  }

  /** The write cache and typed layers over an open bytes store (queryable as RESTORING). */
  #layers (definition: AnyStoreDefinition, bytes: BytesStore, changelog: TopicPartition | null): OpenStore {
    const caching = new CachingChangelogStore(bytes, {
      ...(this.#cache !== undefined ? { cache: this.#cache } : {}),
      ...(this.#options.maxDirtyEntries ? { maxDirtyEntries: this.#options.maxDirtyEntries } : {}),
      ...(this.#options.maxDirtyBytes ? { maxDirtyBytes: this.#options.maxDirtyBytes } : {})
    })
    const typed = new TypedKeyValueStore<unknown, unknown>(caching, definition.keySerde, definition.valueSerde)
    return { definition, caching, typed, queryable: typed.queryable(), changelog }
  }

  /** A standby's stores become its task's active's, here, without closing them (task-manager.ts,
   *  docs/engine.md "Standby tasks"): reopening several RocksDB stores per task was most of a
   *  moved task's pause in a rolling restart. The restore goes on from `offsets`, where the
   *  standby reader got (only the delta is read); under exactly-once the standby's checkpoint is
   *  deleted, as an active's is once opened (a crash must not trust it); the write cache layers
   *  are rebuilt over the same open bytes stores in the active's cache budget (a standby's never
   *  held anything: its records go straight into the bytes stores, its reads past the cache).
   *  Queryable as RESTORING until the restore ends. */
  handOver (offsets: ReadonlyArray<TopicPartition & { offset: bigint }>, cache: ThreadCache | undefined): void {
    if (this.#closed) throw new Error(`task ${this.#options.taskName}: handOver() of closed stores`)
    if (this.#options.exactlyOnce) this.#checkpoint.delete()
    for (const { offset, ...tp } of offsets) {
      const key = checkpointKey(tp)
      if (this.#restoreFrom.has(key)) this.#restoreFrom.set(key, offset)
    }
    this.#cache = cache
    for (const [name, old] of this.#stores) {
      const store = this.#layers(old.definition, old.caching.inner, old.changelog)
      this.#stores.set(name, store)
    }
  }

  /** What to restore: each changelogged store's partition, where to start, and how to apply a
   *  fetched batch (one atomic write). A ChangelogReader drives it, with other tasks' restores. */
  changelogRestores (): ChangelogRestore[] {
    const out: ChangelogRestore[] = []
    for (const store of this.#stores.values()) {
      const tp = store.changelog
      if (!tp) continue
      const caching = store.caching
      const inner = caching.inner
      out.push({
        changelog: tp,
        store: store.definition.name,
        from: this.#restoreFrom.get(checkpointKey(tp)) ?? null,
        // RocksDB: straight into the store, unsynced (writeCheckpoint() syncs the WAL before a
        // checkpoint claims the records). A restoring store was just opened: its write cache
        // holds nothing to keep consistent.
        apply: inner instanceof RocksDbStore
          ? entries => { if (entries.length > 0) inner.restoreWriteSync(entries) }
          : entries => caching.restoreBatch(entries),
        ...(inner instanceof RocksDbStore ? { applyColumns: (columns: RestoreColumns) => { if (columns.count > 0) inner.restoreWriteColumnsSync(columns) } } : {}),
        // RocksDB copies every put into its write batch; the in-memory store copies each new key
        // and every value that is a small view of a large buffer (ownedValue), which a value of a
        // fetch's arena always is (log/kafka/fetch-response.ts FetchArena.take).
        keepsNoViews: inner instanceof RocksDbStore || inner instanceof InMemoryStore
      })
    }
    return out
  }

  /** The restore is done: the stores hold each changelog up to `offsets` (exclusive). */
  restored (offsets: ReadonlyArray<TopicPartition & { offset: bigint }>): void {
    // No fsync here: the restored records become durable when a checkpoint claims them
    // (writeCheckpoint() syncs every store written since its last sync), not on the loop at the
    // end of every restore, where an fsync per store held back a cold start.
    for (const { offset, ...tp } of offsets) this.#changelogOffsets.set(checkpointKey(tp), { tp: { topic: tp.topic, partition: tp.partition }, offset })
  }

  /** The stores as the task uses them. */
  taskStores (): Map<string, TaskStore> {
    const out = new Map<string, TaskStore>()
    for (const [name, s] of this.#stores) {
      out.set(name, {
        definition: s.definition,
        store: s.typed,
        flush: () => s.caching.flush(),
        applyFlushed: () => s.caching.applyFlushed(),
        discardDirty: () => s.caching.discardDirty(),
        isFull: () => s.caching.isFull()
      })
    }
    return out
  }

  queryableStore (name: string): ReadOnlyTypedKeyValueStore<unknown, unknown> | undefined {
    return this.#stores.get(name)?.queryable
  }

  /** A second read facade of a store, READY whatever the task's queryable state: reads of a
   *  standby's copy, whose staleness the caller checked (topology/standby-queries.ts). */
  standbyReadView (name: string): ReadOnlyTypedKeyValueStore<unknown, unknown> | undefined {
    const view = this.#stores.get(name)?.typed.queryable()
    view?.setState('READY')
    return view
  }

  setQueryableState (state: 'RESTORING' | 'READY' | 'CLOSED'): void {
    for (const s of this.#stores.values()) s.queryable.setState(state)
  }

  approximateEntries (): Map<string, number> {
    const out = new Map<string, number>()
    for (const [name, s] of this.#stores) out.set(name, s.caching.inner.approximateNumEntries())
    return out
  }

  /** Estimated bytes of each store that can tell (RocksDB). */
  approximateSizesBytes (): Map<string, number> {
    const out = new Map<string, number>()
    for (const [name, s] of this.#stores) {
      const bytes = s.caching.inner.approximateSizeBytes?.()
      if (bytes !== undefined) out.set(name, bytes)
    }
    return out
  }

  /** Records that a commit appended changelog records up to `offset` (exclusive) on `tp`. */
  advanceChangelog (tp: TopicPartition, nextOffset: bigint): void {
    const key = checkpointKey(tp)
    const known = this.#changelogOffsets.get(key)
    if (!known) return
    if (nextOffset > known.offset) this.#changelogOffsets.set(key, { tp, offset: nextOffset })
  }

  ownsChangelog (tp: TopicPartition): boolean {
    return this.#changelogOffsets.has(checkpointKey(tp))
  }

  /** The changelog partitions this task writes. */
  changelogPartitions (): TopicPartition[] {
    return [...this.#changelogOffsets.values()].map(v => v.tp)
  }

  /** After a commit, with nothing in flight: the stores hold the changelog up to its end. */
  async checkpointAtEnd (admin: LogAdmin): Promise<void> {
    const tps = this.changelogPartitions()
    if (tps.length === 0) return
    for (const end of await admin.listOffsets(tps, 'latest')) this.advanceChangelog(end, end.offset)
    this.writeCheckpoint()
  }

  /** Writes the checkpoint: the changelog offsets the stores hold. Their writes are made durable
   *  first (one WAL fsync per RocksDB store written to since its last sync), so the checkpoint
   *  never claims a batch a power loss could take; if a sync throws, no checkpoint is written. */
  writeCheckpoint (): void {
    for (const s of this.#stores.values()) if (s.caching.inner instanceof RocksDbStore) s.caching.inner.syncUnsynced()
    this.#checkpoint.write([...this.#changelogOffsets.values()].map(({ tp, offset }) => ({ ...tp, offset })))
  }

  /** Closes the stores. A clean close is preceded by checkpointAtEnd() (the caller's job, as it
   *  needs the log), a dirty one by writeCheckpoint() (the offsets of the last commit). */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.setQueryableState('CLOSED')
    for (const s of this.#stores.values()) await s.caching.close()
  }
}
