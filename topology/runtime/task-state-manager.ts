// ProcessorStateManager's job for one task: open its stores (RocksDB or in-memory, wrapped in the
// write cache and the typed layer), decide where each restore starts from the checkpoint, restore
// from the changelogs, keep the changelog offsets the stores reflect, and write the checkpoint on
// a clean close.
//
// Exactly-once: the checkpoint file is deleted once read, and written again only when the task
// closes (clean: at the changelog's end after a commit; dirty: at the offsets of the last commit,
// which is what the stores hold, as writes reach them only after their commit); so after a crash
// there is none, and the stores are wiped and restored from the changelog (as Kafka Streams
// does). At-least-once: the checkpoint is rewritten after commits.
import { rmSync } from 'node:fs'
import type { LogAdmin, PartitionReader, TopicPartition } from '../../log/log-port.ts'
import { CachingChangelogStore } from '../../stores/caching-changelogging-store.ts'
import { CheckpointFile, checkpointKey } from '../../stores/checkpoint-file.ts'
import { InMemoryStore } from '../../stores/in-memory-store.ts'
import type { BytesStore } from '../../stores/key-value-store.ts'
import { RocksDbStore } from '../../stores/rocksdb-store.ts'
import type { StateDirectory } from '../../stores/state-directory.ts'
import type { ReadOnlyTypedKeyValueStore} from '../../stores/typed-key-value-store.ts';
import { TypedKeyValueStore } from '../../stores/typed-key-value-store.ts'
import type { AnyStoreDefinition } from '../topology.ts'
import { changelogTopicName } from './stream-task.ts'
import type { TaskStore } from './task-store.ts'

export interface RestoreProgress {
  readonly task: string
  readonly store: string
  readonly restored: number
  readonly total: number
}

export interface TaskStateManagerOptions {
  readonly applicationId: string
  readonly taskName: string
  readonly partition: number
  readonly definitions: AnyStoreDefinition[]
  readonly stateDirectory: StateDirectory
  readonly exactlyOnce: boolean
  readonly maxDirtyEntries?: number
  readonly maxDirtyBytes?: number
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

  constructor (options: TaskStateManagerOptions) {
    this.#options = options
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
    for (const definition of definitions) {
      const changelog = definition.changelog ? { topic: changelogTopicName(applicationId, definition.name), partition } : null
      const key = changelog ? checkpointKey(changelog) : null
      const from = key ? checkpointed.get(key) : undefined
      let bytes: BytesStore
      const dir = stateDirectory.storeDir(taskName, definition.name)
      if (definition.kind === 'rocksdb') {
        if (from === undefined) rmSync(dir, { recursive: true, force: true })
        bytes = new RocksDbStore(definition.name)
      } else {
        bytes = new InMemoryStore(definition.name)
      }
      await bytes.open(dir)
      const caching = new CachingChangelogStore(bytes, {
        ...(this.#options.maxDirtyEntries ? { maxDirtyEntries: this.#options.maxDirtyEntries } : {}),
        ...(this.#options.maxDirtyBytes ? { maxDirtyBytes: this.#options.maxDirtyBytes } : {})
      })
      const typed = new TypedKeyValueStore<unknown, unknown>(caching, definition.keySerde, definition.valueSerde)
      this.#stores.set(definition.name, { definition, caching, typed, queryable: typed.queryable(), changelog })
      if (changelog && key) {
        // In-memory stores hold nothing after a restart: always from the beginning.
        this.#restoreFrom.set(key, definition.kind === 'rocksdb' && from !== undefined ? from : null)
      }
    }
  }

  /** Brings every changelogged store up to the changelog's end. */
  async restore (admin: LogAdmin, reader: PartitionReader, onProgress?: (p: RestoreProgress) => void): Promise<void> {
    for (const store of this.#stores.values()) {
      const tp = store.changelog
      if (!tp) continue
      const key = checkpointKey(tp)
      const [earliest] = await admin.listOffsets([tp], 'earliest')
      const [latest] = await admin.listOffsets([tp], 'latest')
      let endOffset = latest?.offset ?? 0n
      const from = this.#restoreFrom.get(key) ?? earliest?.offset ?? 0n
      let position = from < (earliest?.offset ?? 0n) ? earliest!.offset : from
      const total = Number(endOffset > position ? endOffset - position : 0n)
      let restored = 0
      let assigned = false
      try {
        for (;;) {
          if (position >= endOffset) {
            // The end is the last stable offset, and a transaction the previous owner committed
            // just before may not have its marker yet (markers are written after EndTxn
            // returns): look again, and go on while it still moves. Nobody else writes this
            // partition while we own the task.
            const [again] = await admin.listOffsets([tp], 'latest')
            if ((again?.offset ?? 0n) <= position) break
            endOffset = again!.offset
          }
          if (!assigned) { reader.assign([{ ...tp, offset: position }]); assigned = true }
          const records = await reader.poll(500)
          const entries = []
          // Everything returned is committed, even past the end measured earlier: apply it all
          // (the position moves past every returned record).
          for (const r of records) if (r.key !== null) entries.push({ key: r.key, value: r.value })
          if (entries.length > 0) await store.caching.restoreBatch(entries)
          restored += entries.length
          position = reader.position(tp)
          if (records.length === 0 && position < endOffset) {
            // Nothing came: make sure the end did not move back (topic recreated, records
            // deleted) so a restore can never hang.
            const [now] = await admin.listOffsets([tp], 'latest')
            if ((now?.offset ?? 0n) <= position) break
          }
          onProgress?.({ task: this.#options.taskName, store: store.definition.name, restored, total })
        }
      } finally {
        if (assigned) reader.unassign([tp])
      }
      this.#changelogOffsets.set(key, { tp, offset: position > endOffset ? position : endOffset })
      onProgress?.({ task: this.#options.taskName, store: store.definition.name, restored, total })
    }
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

  writeCheckpoint (): void {
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
