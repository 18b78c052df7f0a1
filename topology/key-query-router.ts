// Which instance answers a key of a store (Kafka Streams' KafkaStreams.queryMetadataForKey): the
// key is serialized with the store's key serde and placed on a partition of the store's
// sub-topology, whose task is active here, or on the host the last assignment named, with the
// hosts of its standby copies (docs/engine.md "Interactive queries").
import { partitionForKey } from '../log/murmur2-partitioner.ts'
import { StreamsError } from './streams-error.ts'
import type { QueryableKeyValueStore } from '../stores/typed-key-value-store.ts'
import { isWindowedStoreDefinition } from './dsl/windowed-store-definition.ts'
import type { QueryMetadata } from './runtime/assignment/query-metadata.ts'
import { taskIdToString } from './runtime/task-names.ts'
import type { StreamThread } from './runtime/stream-thread.ts'
import type { Subtopology, Topology } from './topology.ts'

export interface KeyQueryMetadata {
  readonly partition: number
  readonly task: string
  /** host:port of the owner's API, or null when unknown (rebalancing, or it has no listener). */
  readonly host: string | null
  /** This instance owns the key's task. */
  readonly local: boolean
  /** host:port of the instances keeping a standby (then a warm-up) copy of the task. */
  readonly standbyHosts: readonly string[]
  /** This instance keeps a standby or warm-up copy of the key's task (standbyView reads it). */
  readonly localStandby: boolean
}

/** What queries read of the running stream thread. */
export type QueriedThread = Pick<StreamThread, 'activeTasks' | 'standbyCopy' | 'copyPending' | 'runningState' | 'standbyTasks'>

export interface KeyQueryRouterOptions {
  readonly topology: Topology
  readonly subtopologies: readonly Subtopology[]
  /** Partitions per sub-topology as the application found them at start (shared, filled later). */
  readonly partitions: ReadonlyMap<number, number>
  /** This instance's host:port (config.applicationServer). */
  readonly applicationServer: string | null
  readonly thread: () => QueriedThread | undefined
  /** The group's hosts of every task from the last assignment (null before one). */
  readonly queryMetadata: () => QueryMetadata | null
}

export interface StoreInfo<K> {
  readonly sub: Subtopology
  readonly serialize: (key: K) => Buffer
}

export class KeyQueryRouter {
  readonly #o: KeyQueryRouterOptions
  /** storeInfo by store name (the topology does not change once built): every query asks. */
  readonly #storeInfos = new Map<string, StoreInfo<never>>()

  constructor (options: KeyQueryRouterOptions) {
    this.#o = options
  }

  /** Which instance owns `key` of `storeName` (the partition of the key in the store's sub-topology). */
  metadataForKey<K> (storeName: string, key: K): KeyQueryMetadata {
    return this.metadataForKeyBytes(storeName, this.storeInfo<K>(storeName).serialize(key))
  }

  /** metadataForKey of a key already serialized with the store's key serde. */
  metadataForKeyBytes (storeName: string, keyBytes: Buffer): KeyQueryMetadata {
    const { sub } = this.storeInfo(storeName)
    const partition = partitionForKey(keyBytes, this.#partitionsOf(sub))
    const task = taskIdToString({ subtopology: sub.id, partition })
    const thread = this.#o.thread()
    const local = thread?.activeTasks.has(task) ?? false
    const hosts = this.#o.queryMetadata()?.forPartition(sub.id, partition)
    return {
      partition,
      task,
      host: hosts?.activeHost ?? (local ? this.#o.applicationServer : null),
      local,
      standbyHosts: hosts?.standbyHosts.map(h => h.host) ?? [],
      localStandby: thread?.standbyCopy(task) !== undefined || thread?.copyPending(task) !== undefined
    }
  }

  /** `key`'s value in this instance's active copy of `storeName` when this instance owns the key's
   *  task, else the key's metadata for the caller to route the query, with the key serialized and
   *  placed once and no metadata built for a local key (docs/benchmarks.md "API balance query,
   *  third pass"). STORE_NOT_READY while the task moves. */
  getIfLocal<K, V> (storeName: string, key: K): { readonly local: true, readonly value: V | undefined } | KeyQueryMetadata {
    const info = this.storeInfo<K>(storeName)
    const keyBytes = info.serialize(key)
    const task = taskIdToString({ subtopology: info.sub.id, partition: partitionForKey(keyBytes, this.#partitionsOf(info.sub)) })
    const active = this.#o.thread()?.activeTasks.get(task)
    if (active === undefined) return this.metadataForKeyBytes(storeName, keyBytes)
    const taskStore = active.state.queryableStore(storeName)
    if (!taskStore) throw new StreamsError('STORE_NOT_READY', `task ${task} is moving`)
    return { local: true, value: (taskStore as unknown as QueryableKeyValueStore<K, V>).get(key) }
  }

  /** The store's sub-topology and key serializer; STORE_NOT_FOUND for a name not in the topology. */
  storeInfo<K> (storeName: string): StoreInfo<K> {
    const known = this.#storeInfos.get(storeName)
    if (known !== undefined) return known as StoreInfo<K>
    const info = this.#describeStore<K>(storeName)
    this.#storeInfos.set(storeName, info as StoreInfo<never>)
    return info
  }

  #partitionsOf (sub: Subtopology): number {
    const partitions = this.#o.partitions.get(sub.id) ?? this.#o.queryMetadata()?.partitions(sub.id) ?? 0
    if (partitions === 0) throw new StreamsError('STORE_NOT_READY', 'partition metadata is not known yet (not started, or rebalancing)')
    return partitions
  }

  #describeStore<K> (storeName: string): StoreInfo<K> {
    const definition = this.#o.topology.storeDefinition(storeName)
    if (!definition) throw new StreamsError('STORE_NOT_FOUND', `no state store "${storeName}" in this topology`)
    const sub = this.#o.subtopologies.find(s => s.stores.includes(storeName))!
    // A window or session store is bytes to the runtime; its keys are serialized (and so
    // partitioned) with the windowed key serde the DSL declared.
    const keySerde = isWindowedStoreDefinition(definition) ? definition.windowed.keySerde : definition.keySerde
    return { sub, serialize: (key: K) => keySerde.serialize(key) }
  }
}
