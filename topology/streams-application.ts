// A running stream application (Kafka Streams' KafkaStreams): runs a topology on a log with state
// stores under a state directory, exposes its state machine, interactive queries and the key ->
// instance metadata the API uses to forward queries.
//
//   CREATED -> REBALANCING <-> RUNNING -> PENDING_SHUTDOWN -> NOT_RUNNING
//                     \__________\______________________________-> ERROR
import { Registry } from 'prom-client'
import type { Log } from '../log/log-port.ts'
import { partitionForKey } from '../log/murmur2-partitioner.ts'
import { RewardsError } from '../lib/errors.ts'
import type { KeyValue, RangeOptions } from '../stores/key-value-store.ts'
import { StateDirectory } from '../stores/state-directory.ts'
import type { QueryableKeyValueStore, StoreState } from '../stores/typed-key-value-store.ts'
import { describeAsMermaid, describeAsText, describeTopology, type TopologyDescription } from './describe.ts'
import type { AssignmentInfo } from './runtime/co-partition-assignor.ts'
import { EngineMetrics } from './runtime/engine-metrics.ts'
import { changelogTopicName, taskIdToString } from './runtime/stream-task.ts'
import { StreamThread, type CommitFailure, type TaskRestored } from './runtime/stream-thread.ts'
import { resolveStreamsConfig, type StreamsConfig, type StreamsConfigInput } from './runtime/streams-config.ts'
import type { Subtopology, Topology } from './topology.ts'

export type ApplicationState = 'CREATED' | 'REBALANCING' | 'RUNNING' | 'PENDING_SHUTDOWN' | 'NOT_RUNNING' | 'ERROR'

const TRANSITIONS: Record<ApplicationState, ApplicationState[]> = {
  CREATED: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  REBALANCING: ['RUNNING', 'PENDING_SHUTDOWN', 'ERROR', 'REBALANCING'],
  RUNNING: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  PENDING_SHUTDOWN: ['NOT_RUNNING', 'ERROR'],
  NOT_RUNNING: [],
  ERROR: ['PENDING_SHUTDOWN', 'NOT_RUNNING']
}

export type StateListener = (newState: ApplicationState, oldState: ApplicationState, error?: unknown) => void

export interface KeyQueryMetadata {
  readonly partition: number
  readonly task: string
  /** host:port of the owner's API, or null when unknown (rebalancing, or it has no listener). */
  readonly host: string | null
  /** This instance owns the key's task. */
  readonly local: boolean
}

export interface StreamsApplicationOptions {
  readonly log: Log
  readonly config: StreamsConfigInput
  /** Prometheus registry for the engine's metrics; default: a private one. */
  readonly registry?: Registry
  readonly clock?: () => number
  /** The state directory, already locked by the caller (`rewards start` locks it before any log
   *  client exists); default: one for config.stateDir, locked by start(). Released by close(). */
  readonly stateDirectory?: StateDirectory
}

export class StreamsApplication {
  readonly topology: Topology
  readonly config: StreamsConfig
  readonly registry: Registry
  readonly metrics: EngineMetrics
  readonly #log: Log
  readonly #subtopologies: Subtopology[]
  readonly #stateDirectory: StateDirectory
  readonly #listeners = new Set<StateListener>()
  readonly #restoreListeners = new Set<(restored: TaskRestored) => void>()
  readonly #commitFailureListeners = new Set<(failure: CommitFailure) => void>()
  readonly #clock: () => number
  #state: ApplicationState = 'CREATED'
  #thread: StreamThread | undefined
  #assignment: AssignmentInfo | null = null
  #partitions = new Map<number, number>()
  #error: unknown

  constructor (topology: Topology, options: StreamsApplicationOptions) {
    topology.validate()
    this.topology = topology
    this.config = resolveStreamsConfig(options.config)
    this.#log = options.log
    this.registry = options.registry ?? new Registry()
    this.metrics = new EngineMetrics(this.registry)
    this.#clock = options.clock ?? Date.now
    this.#subtopologies = topology.subtopologies()
    this.#stateDirectory = options.stateDirectory ?? new StateDirectory(this.config.stateDir, this.config.applicationId)
    if (this.#stateDirectory.appDir !== new StateDirectory(this.config.stateDir, this.config.applicationId).appDir) {
      throw new RewardsError('CONFIG_INVALID', `the state directory given (${this.#stateDirectory.appDir}) is not the configured one (${this.config.stateDir}, application ${this.config.applicationId})`)
    }
    this.#setMetricState()
  }

  get state (): ApplicationState { return this.#state }
  /** The error that moved the application to ERROR. */
  get error (): unknown { return this.#error }
  get instanceId (): string { return this.#stateDirectory.instanceId() }

  onStateChange (listener: StateListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Called each time a task has restored its stores, before it runs (the processor role logs it). */
  onTaskRestored (listener: (restored: TaskRestored) => void): () => void {
    this.#restoreListeners.add(listener)
    return () => this.#restoreListeners.delete(listener)
  }

  /** Called each time a commit fails and the application recovers from it (the processor role logs
   *  it); a failure it cannot recover from moves it to ERROR instead. */
  onCommitFailed (listener: (failure: CommitFailure) => void): () => void {
    this.#commitFailureListeners.add(listener)
    return () => this.#commitFailureListeners.delete(listener)
  }

  /** Resolves once the application is in `state` (rejects if it reaches ERROR or NOT_RUNNING first). */
  waitForState (state: ApplicationState, timeoutMs = 60_000): Promise<void> {
    if (this.#state === state) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { off(); reject(new Error(`timed out after ${timeoutMs} ms waiting for ${state} (state: ${this.#state})`)) }, timeoutMs)
      const off = this.onStateChange(next => {
        if (next === state) { clearTimeout(timer); off(); resolve() } else if (next === 'ERROR' || next === 'NOT_RUNNING') {
          clearTimeout(timer); off(); reject(new Error(`application went ${next} while waiting for ${state}${this.#error ? `: ${(this.#error as Error).message}` : ''}`))
        }
      })
    })
  }

  /** Locks the state directory (a second instance on it fails here, before asking the log
   *  anything), checks the topics, creates missing changelogs, joins the group. */
  async start (): Promise<void> {
    if (this.#state !== 'CREATED') throw new RewardsError('CONFIG_INVALID', `start() in state ${this.#state}`)
    this.#stateDirectory.lock()
    try {
      await this.#prepareTopics()
    } catch (error) {
      this.#stateDirectory.unlock()
      throw error
    }
    this.#transition('REBALANCING')
    this.#thread = new StreamThread({
      config: this.config,
      topology: this.topology,
      subtopologies: this.#subtopologies,
      log: this.#log,
      stateDirectory: this.#stateDirectory,
      instanceId: this.#stateDirectory.instanceId(),
      metrics: this.metrics,
      clock: this.#clock,
      onAssignment: info => { this.#assignment = info },
      onRebalancing: () => { if (this.#state === 'RUNNING') this.#transition('REBALANCING') },
      onRunning: () => { if (this.#state === 'REBALANCING') this.#transition('RUNNING') },
      onTaskRestored: restored => {
        for (const l of this.#restoreListeners) {
          try { l(restored) } catch { /* a listener's failure is its own */ }
        }
      },
      onCommitFailed: failure => {
        for (const l of this.#commitFailureListeners) {
          try { l(failure) } catch { /* a listener's failure is its own */ }
        }
      }
    })
    try {
      await this.#thread.start(error => this.#fail(error))
    } catch (error) {
      this.#stateDirectory.unlock()
      this.#fail(error)
      throw error
    }
  }

  /** Graceful shutdown: readiness goes false first (PENDING_SHUTDOWN), then in-flight work is
   *  committed, stores are checkpointed and closed, and the group is left. */
  async close (): Promise<void> {
    if (this.#state === 'NOT_RUNNING' || this.#state === 'PENDING_SHUTDOWN') return
    this.#transition('PENDING_SHUTDOWN')
    try {
      await this.#thread?.stop()
    } finally {
      this.#stateDirectory.unlock()
      this.#transition('NOT_RUNNING')
    }
  }

  describe (): { description: TopologyDescription, text: string, mermaid: string } {
    const description = describeTopology(this.topology)
    return { description, text: describeAsText(description), mermaid: describeAsMermaid(description) }
  }

  /** Which instance owns `key` of `storeName` (the partition of the key in the store's sub-topology). */
  queryMetadataForKey<K> (storeName: string, key: K): KeyQueryMetadata {
    const { sub, serialize } = this.#storeInfo<K>(storeName)
    const partitions = this.#partitions.get(sub.id) ?? this.#assignment?.partitions[String(sub.id)] ?? 0
    if (partitions === 0) throw new RewardsError('STORE_NOT_READY', 'partition metadata is not known yet (not started, or rebalancing)')
    const partition = partitionForKey(serialize(key), partitions)
    const task = taskIdToString({ subtopology: sub.id, partition })
    const local = this.#thread?.activeTasks.has(task) ?? false
    return { partition, task, host: this.#assignment?.owners[task] ?? (local ? this.config.applicationServer : null), local }
  }

  /** Interactive queries on the committed state of a store across this instance's tasks. get()
   *  throws KEY_OWNED_ELSEWHERE (details.host) for a key of another instance, and
   *  STORE_NOT_READY while its task restores or the group rebalances. Scans cover local tasks. */
  store<K, V> (storeName: string): QueryableKeyValueStore<K, V> & { readonly state: StoreState } {
    this.#storeInfo(storeName)
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the facade's getters need the application's private state
    const app = this
    const local = (): Array<QueryableKeyValueStore<K, V> & { state: StoreState }> => {
      const out = []
      for (const { state } of this.#thread?.activeTasks.values() ?? []) {
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
        if (app.#state !== 'RUNNING' || stores.length === 0) return stores.length === 0 ? 'CLOSED' : 'RESTORING'
        return stores.every(s => s.state === 'READY') ? 'READY' : 'RESTORING'
      },
      get (key: K): V | undefined {
        const meta = app.queryMetadataForKey(storeName, key)
        if (!meta.local) {
          throw new RewardsError('KEY_OWNED_ELSEWHERE', `key of store ${storeName} is owned by ${meta.host ?? 'an unknown instance'} (task ${meta.task})`, { details: { host: meta.host, task: meta.task, partition: meta.partition } })
        }
        const taskStore = app.#thread!.activeTasks.get(meta.task)?.state.queryableStore(storeName)
        if (!taskStore) throw new RewardsError('STORE_NOT_READY', `task ${meta.task} is moving`)
        return (taskStore as unknown as QueryableKeyValueStore<K, V>).get(key)
      },
      range: (from, to, options) => collect(s => s.range(from, to, options), options),
      prefixScan: (prefix, options) => collect(s => s.prefixScan(prefix, options), options),
      approximateNumEntries: () => local().reduce((n, s) => n + s.approximateNumEntries(), 0)
    }
  }

  /** Tasks on this instance and whether their stores are ready. */
  localTasks (): Array<{ task: string, ready: boolean }> {
    return [...(this.#thread?.activeTasks.values() ?? [])].map(({ task, state }) => ({
      task: task.name,
      ready: [...state.approximateEntries().keys()].every(name => state.queryableStore(name)?.state === 'READY')
    }))
  }

  #storeInfo<K> (storeName: string): { sub: Subtopology, serialize: (key: K) => Buffer } {
    const definition = this.topology.storeDefinition(storeName)
    if (!definition) throw new RewardsError('STORE_NOT_FOUND', `no state store "${storeName}" in this topology`)
    const sub = this.#subtopologies.find(s => s.stores.includes(storeName))!
    return { sub, serialize: (key: K) => definition.keySerde.serialize(key) }
  }

  async #prepareTopics (): Promise<void> {
    const admin = this.#log.admin
    const sources = this.topology.sourceTopics()
    const sinks = this.topology.sinkTopics()
    const described = new Map((await admin.describeTopics([...new Set([...sources, ...sinks])])).map(d => [d.name, d.partitions]))
    const missing = [...new Set([...sources, ...sinks])].filter(t => !described.has(t))
    if (missing.length > 0) {
      throw new RewardsError('LOG_TOPIC_NOT_FOUND', `topics missing: ${missing.join(', ')} (create them first, e.g. \`rewards topics create\`)`)
    }
    const changelogs = []
    for (const sub of this.#subtopologies) {
      const counts = sub.sourceTopics.map(t => described.get(t)!)
      if (new Set(counts).size > 1) {
        throw new RewardsError('TOPOLOGY_INVALID', `source topics of sub-topology ${sub.id} are not co-partitioned: ${sub.sourceTopics.map((t, i) => `${t}=${counts[i]}`).join(', ')} partitions`)
      }
      this.#partitions.set(sub.id, counts[0]!)
      for (const store of sub.stores) {
        if (!this.topology.storeDefinition(store)!.changelog) continue
        changelogs.push({ name: changelogTopicName(this.config.applicationId, store), partitions: counts[0]!, config: { 'cleanup.policy': 'compact' } })
      }
    }
    const existing = new Map((await admin.describeTopics(changelogs.map(c => c.name))).map(d => [d.name, d.partitions]))
    for (const c of changelogs) {
      const n = existing.get(c.name)
      if (n !== undefined && n !== c.partitions) {
        throw new RewardsError('TOPOLOGY_INVALID', `changelog ${c.name} has ${n} partitions but its sources have ${c.partitions}; run \`rewards rebuild\` to recreate it`)
      }
    }
    await admin.createTopics(changelogs.filter(c => !existing.has(c.name)))
  }

  #fail (error: unknown): void {
    this.#error = error
    if (this.#state !== 'ERROR' && this.#state !== 'NOT_RUNNING') this.#transition('ERROR', error)
  }

  #transition (next: ApplicationState, error?: unknown): void {
    const old = this.#state
    if (old === next && next !== 'REBALANCING') return
    if (!TRANSITIONS[old].includes(next)) throw new Error(`illegal state transition ${old} -> ${next}`)
    this.#state = next
    this.#setMetricState()
    for (const l of this.#listeners) {
      try { l(next, old, error) } catch { /* a listener's failure is its own */ }
    }
  }

  #setMetricState (): void {
    for (const s of Object.keys(TRANSITIONS)) this.metrics.state.set({ state: s }, s === this.#state ? 1 : 0)
  }
}
