// Interactive queries of a StreamsApplication (Kafka Streams' KafkaStreams.store()): read-only
// views of the committed state of this instance's stores: key-value, global, window and session
// stores, standby copies and their lag. A key is answered here only when its task is active here
// (key-query-router.ts says who owns it); docs/engine.md "Interactive queries".
import { StreamsError } from './streams-error.ts'
import type { LogAdmin } from '../log/log-port.ts'
import type { KeyValue, RangeOptions } from '../stores/key-value-store.ts'
import type { QueryableKeyValueStore, ReadOnlyTypedKeyValueStore, StoreState } from '../stores/typed-key-value-store.ts'
import type { OrderedBytes, ReadOnlyWindowStore } from '../stores/window-store.ts'
import type { ReadOnlySessionStore } from '../stores/session-store.ts'
import { queryableSessionStore, queryableWindowStore, type WindowedQueryHost } from './dsl/windowed-queries.ts'
import { KeyQueryRouter, type KeyQueryMetadata, type KeyQueryRouterOptions } from './key-query-router.ts'
import { StandbyQueries, type StandbyView } from './standby-queries.ts'

/** How far one of this instance's store copies is behind its changelog (KIP-535's LagInfo). */
export interface LocalTaskLag {
  readonly task: string
  readonly role: 'active' | 'standby' | 'warmup'
  /** Records behind the changelogs' committed ends: 0 for a running active (it writes them),
   *  null for an active still restoring (restore progress tells more). */
  readonly lagRecords: number | null
}

export interface InteractiveQueriesOptions extends KeyQueryRouterOptions {
  readonly admin: () => LogAdmin
  /** The application is RUNNING (else a store's state is at best RESTORING). */
  readonly running: () => boolean
  /** The queryable view of a global store (undefined before the global stores are open). */
  readonly globalStore: (name: string) => ReadOnlyTypedKeyValueStore<unknown, unknown> | undefined
}

type QueryableStore<K, V> = QueryableKeyValueStore<K, V> & { readonly state: StoreState }

export class InteractiveQueries {
  readonly #o: InteractiveQueriesOptions
  readonly router: KeyQueryRouter
  readonly #standbyQueries: StandbyQueries

  constructor (options: InteractiveQueriesOptions) {
    this.#o = options
    this.router = new KeyQueryRouter(options)
    this.#standbyQueries = new StandbyQueries({ admin: options.admin, copy: task => options.thread()?.standbyCopy(task), pending: task => options.thread()?.copyPending(task), running: task => options.thread()?.runningState(task) })
  }

  /** A read-only view of this instance's standby copy of the task holding `key` of `storeName`,
   *  if it is at most `maxLagRecords` behind (topology/standby-queries.ts). */
  async standbyView<K> (storeName: string, key: K, options: { maxLagRecords: number }): Promise<StandbyView> {
    return await this.#standbyQueries.view(this.router.metadataForKey(storeName, key).task, options.maxLagRecords)
  }

  /** The lag of every store copy on this instance, actives and standbys, with the standbys'
   *  committed ends asked now (Kafka Streams' allLocalStorePartitionLags). */
  async allLocalTaskLags (): Promise<LocalTaskLag[]> {
    const out: LocalTaskLag[] = []
    for (const [name, { state }] of this.#o.thread()?.activeTasks ?? []) {
      const ready = [...state.approximateEntries().keys()].every(store => state.queryableStore(store)?.state === 'READY')
      out.push({ task: name, role: 'active', lagRecords: ready ? 0 : null })
    }
    const standbys = this.#o.thread()?.standbyTasks() ?? []
    const lags = await Promise.all(standbys.map(s => this.#standbyQueries.lag(s.task).catch(() => null)))
    standbys.forEach((s, i) => out.push({ task: s.task, role: s.warmup ? 'warmup' : 'standby', lagRecords: lags[i] ?? null }))
    return out
  }

  /** A key-value store across this instance's active tasks: get() throws KEY_OWNED_ELSEWHERE
   *  (details.host) for a key of another instance, scans cover the local tasks. */
  store<K, V> (storeName: string): QueryableStore<K, V> {
    if (this.#o.topology.globalStore(storeName) !== undefined) return this.globalStore<K, V>(storeName)
    this.router.storeInfo(storeName)
    const o = this.#o
    const router = this.router
    const local = (): Array<QueryableKeyValueStore<K, V> & { state: StoreState }> => {
      const out = []
      for (const { state } of o.thread()?.activeTasks.values() ?? []) {
        const store = state.queryableStore(storeName)
        if (store) out.push(store as unknown as QueryableKeyValueStore<K, V> & { state: StoreState })
      }
      return out
    }
    const collect = (fn: (s: QueryableKeyValueStore<K, V>) => KeyValue<K, V>[], options?: RangeOptions): KeyValue<K, V>[] => {
      const all = local().flatMap(fn)
      return options?.limit === undefined ? all : all.slice(0, options.limit)
    }
    return {
      name: storeName,
      get state (): StoreState {
        const stores = local()
        if (!o.running() || stores.length === 0) return stores.length === 0 ? 'CLOSED' : 'RESTORING'
        return stores.every(s => s.state === 'READY') ? 'READY' : 'RESTORING'
      },
      get (key: K): V | undefined {
        const read = router.getIfLocal<K, V>(storeName, key)
        if (read.local) return (read as { value: V | undefined }).value
        throw ownedElsewhere(storeName, read as KeyQueryMetadata)
      },
      range: (from, to, options) => collect(s => s.range(from, to, options), options),
      prefixScan: (prefix, options) => collect(s => s.prefixScan(prefix, options), options),
      approximateNumEntries: () => local().reduce((n, s) => n + s.approximateNumEntries(), 0)
    }
  }

  /** A global store: this instance holds all of it (never KEY_OWNED_ELSEWHERE); STORE_NOT_READY
   *  until the bootstrap at start ended (docs/engine.md "Global tables"). */
  globalStore<K, V> (storeName: string): QueryableStore<K, V> {
    if (this.#o.topology.globalStore(storeName) === undefined) throw new StreamsError('STORE_NOT_FOUND', `no global store "${storeName}" in this topology`)
    const view = (): QueryableKeyValueStore<K, V> & { state: StoreState } => {
      const store = this.#o.globalStore(storeName)
      if (store === undefined) throw new StreamsError('STORE_NOT_READY', `global store ${storeName} is not open (not started)`, { details: { store: storeName, state: 'CLOSED' } })
      return store as unknown as QueryableKeyValueStore<K, V> & { state: StoreState }
    }
    return {
      name: storeName,
      get state (): StoreState { try { return view().state } catch { return 'CLOSED' } },
      get: key => view().get(key),
      range: (from, to, options) => view().range(from, to, options),
      prefixScan: (prefix, options) => view().prefixScan(prefix, options),
      approximateNumEntries: () => view().approximateNumEntries()
    }
  }

  windowStore<K, V> (storeName: string): ReadOnlyWindowStore<K, V> {
    return queryableWindowStore<K, V>(this.#windowedQueryHost(), storeName)
  }

  sessionStore<K, V> (storeName: string): ReadOnlySessionStore<K, V> {
    return queryableSessionStore<K, V>(this.#windowedQueryHost(), storeName)
  }

  /** The active tasks of this instance; with `storeName`, only those of the sub-topology that
   *  holds that store. */
  localTasks (storeName?: string): Array<{ task: string, ready: boolean }> {
    const prefix = storeName === undefined ? undefined : `${this.router.storeInfo(storeName).sub.id}_`
    const tasks = [...(this.#o.thread()?.activeTasks.values() ?? [])].filter(({ task }) => prefix === undefined || task.name.startsWith(prefix))
    return tasks.map(({ task, state }) => ({
      task: task.name,
      ready: [...state.approximateEntries().keys()].every(name => state.queryableStore(name)?.state === 'READY')
    }))
  }

  #windowedQueryHost (): WindowedQueryHost {
    return {
      definition: name => this.#o.topology.storeDefinition(name),
      bytesForKey: (name, keyBytes) => {
        const meta = this.router.metadataForKeyBytes(name, keyBytes)
        if (!meta.local) throw ownedElsewhere(name, meta)
        const taskStore = this.#o.thread()?.activeTasks.get(meta.task)?.state.queryableStore(name)
        if (!taskStore) throw new StreamsError('STORE_NOT_READY', `task ${meta.task} is moving`)
        return taskStore as unknown as OrderedBytes
      },
      localBytes: name => [...(this.#o.thread()?.activeTasks.values() ?? [])].flatMap(({ state }) => {
        const store = state.queryableStore(name)
        return store ? [store as unknown as OrderedBytes] : []
      })
    }
  }
}

function ownedElsewhere (storeName: string, meta: KeyQueryMetadata): StreamsError {
  return new StreamsError('KEY_OWNED_ELSEWHERE', `key of store ${storeName} is owned by ${meta.host ?? 'an unknown instance'} (task ${meta.task})`, { details: { host: meta.host, task: meta.task, partition: meta.partition } })
}
