// What a task needs from each of its state stores (built by state-manager.ts from the layers in
// stores/): the typed writable store for processors, and the commit protocol of the write cache.
import type { KeyValueStore } from '../../stores/key-value-store.ts'
import type { AnyStoreDefinition } from '../topology.ts'

export interface ChangelogEntry {
  readonly key: Buffer
  /** null: the key was deleted (a tombstone in the compacted changelog). */
  readonly value: Buffer | null
}

export interface TaskStore {
  readonly definition: AnyStoreDefinition
  readonly store: KeyValueStore<unknown, unknown>
  /** Dirty entries since the last commit, last write per key, without applying them. */
  flush (): ChangelogEntry[]
  /** Writes the flushed entries to the bytes store, after their changelog records committed. */
  applyFlushed (): Promise<void>
  /** Drops uncommitted writes (the transaction aborted). */
  discardDirty (): void
  /** The write cache is over its bound: commit soon. */
  isFull (): boolean
}
