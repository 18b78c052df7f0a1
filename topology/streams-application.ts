// A running stream application (Kafka Streams' KafkaStreams): runs a topology on a log with state
// stores under a state directory, exposes its state machine, interactive queries and the key ->
// instance metadata the API uses to forward queries (those two behind it: interactive-queries.ts,
// key-query-router.ts). The states: application-state.ts; the topics it checks and creates
// before joining its group: application-topics.ts.
//
// A stream thread that dies is replaced (REBALANCING again) or moves the application to ERROR,
// as config.onStreamError says (Kafka Streams' StreamsUncaughtExceptionHandler); see
// docs/engine.md "Faults and recovery".
import { Registry } from 'prom-client'
import type { Log } from '../log/log-port.ts'
import { isStreamsError, StreamsError } from './streams-error.ts'
import { StateDirectory } from '../stores/state-directory.ts'
import type { QueryableKeyValueStore, StoreState } from '../stores/typed-key-value-store.ts'
import type { ReadOnlyWindowStore } from '../stores/window-store.ts'
import type { ReadOnlySessionStore } from '../stores/session-store.ts'
import { describeAsMermaid, describeAsText, describeTopology, type TopologyDescription } from './describe.ts'
import { QueryMetadata } from './runtime/assignment/query-metadata.ts'
import type { StandbyView } from './standby-queries.ts'
import { InteractiveQueries, type LocalTaskLag } from './interactive-queries.ts'
import type { KeyQueryMetadata } from './key-query-router.ts'
import { EngineMetrics } from './runtime/engine-metrics.ts'
import type { RecoveryEvent } from './runtime/commit-recovery.ts'
import type { ProductionExceptionHandler } from './runtime/production-exception-handler.ts'
import { StreamThread, type CommitFailure, type StandbyTaskInfo, type TaskRestored } from './runtime/stream-thread.ts'
import type { RestoreProgressReport } from './runtime/restore-progress.ts'
import { resolveStreamsConfig, type StreamsConfig, type StreamsConfigInput } from './runtime/streams-config.ts'
import type { Subtopology, Topology } from './topology.ts'
import { APPLICATION_STATES, assertTransition, type ApplicationState, type StateListener } from './application-state.ts'
import { prepareTopics } from './application-topics.ts'
import { ThreadReplacements } from './thread-replacement.ts'
import { GlobalStoreMetrics } from './runtime/global-metrics.ts'
import { GlobalStateUpdater } from './runtime/global-state-updater.ts'

export type { KeyQueryMetadata } from './key-query-router.ts'
export type { LocalTaskLag } from './interactive-queries.ts'

export interface StreamsApplicationOptions {
  readonly log: Log
  readonly config: StreamsConfigInput
  /** Prometheus registry for the engine's metrics; default: a private one. */
  readonly registry?: Registry
  readonly clock?: () => number
  /** Output records the broker refuses (invalid timestamp, too large): default FAIL. */
  readonly productionExceptionHandler?: ProductionExceptionHandler
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
  /** Keeps the global stores (docs/engine.md "Global tables"); undefined without global tables. */
  readonly #global: GlobalStateUpdater | undefined
  readonly #subtopologies: Subtopology[]
  readonly #stateDirectory: StateDirectory
  readonly #listeners = new Set<StateListener>()
  readonly #restoreListeners = new Set<(restored: TaskRestored) => void>()
  readonly #restoreProgressListeners = new Set<(progress: RestoreProgressReport) => void>()
  readonly #standbyProgressListeners = new Set<(progress: RestoreProgressReport) => void>()
  readonly #commitFailureListeners = new Set<(failure: CommitFailure) => void>()
  readonly #recoveryListeners = new Set<(event: RecoveryEvent) => void>()
  readonly #productionExceptionHandler: ProductionExceptionHandler | undefined
  readonly #replacements: ThreadReplacements
  #replacing: Promise<void> | undefined
  readonly #clock: () => number
  #state: ApplicationState = 'CREATED'
  #thread: StreamThread | undefined
  /** The group's hosts of every task (active, standbys, warm-ups) from the last assignment. */
  #queryMetadata: QueryMetadata | null = null
  #partitions = new Map<number, number>()
  #error: unknown
  /** Interactive queries: store views and key routing (topology/interactive-queries.ts). */
  readonly #queries: InteractiveQueries

  constructor (topology: Topology, options: StreamsApplicationOptions) {
    topology.validate()
    this.config = resolveStreamsConfig(options.config)
    // Repartition topics are named `<applicationId>-<name>` (docs/engine.md "Repartition topics").
    this.topology = topology.withApplicationId(this.config.applicationId)
    this.#log = options.log
    this.registry = options.registry ?? new Registry()
    this.metrics = new EngineMetrics(this.registry)
    this.#clock = options.clock ?? Date.now
    this.#productionExceptionHandler = options.productionExceptionHandler
    this.#replacements = new ThreadReplacements(this.config)
    this.#subtopologies = this.topology.subtopologies()
    this.#stateDirectory = options.stateDirectory ?? new StateDirectory(this.config.stateDir, this.config.applicationId)
    if (this.#stateDirectory.appDir !== new StateDirectory(this.config.stateDir, this.config.applicationId).appDir) {
      throw new StreamsError('CONFIG_INVALID', `the state directory given (${this.#stateDirectory.appDir}) is not the configured one (${this.config.stateDir}, application ${this.config.applicationId})`)
    }
    this.#queries = new InteractiveQueries({
      topology: this.topology,
      subtopologies: this.#subtopologies,
      partitions: this.#partitions,
      applicationServer: this.config.applicationServer,
      thread: () => this.#thread,
      queryMetadata: () => this.#queryMetadata,
      admin: () => this.#log.admin,
      running: () => this.#state === 'RUNNING',
      globalStore: name => this.#global?.queryable(name)
    })
    this.#setMetricState()
    const globalSpecs = this.topology.globalStores()
    // Registered whatever the topology: their HELP/TYPE lines are exported from start-up (docs/metrics.md).
    const globalMetrics = new GlobalStoreMetrics(this.registry)
    this.#global = globalSpecs.length === 0
      ? undefined
      : new GlobalStateUpdater({
        specs: globalSpecs,
        log: this.#log,
        appDir: this.#stateDirectory.appDir,
        clientId: `${this.config.applicationId}-${this.#stateDirectory.instanceId()}-global`,
        pollMs: this.config.pollMs,
        checkpointIntervalMs: this.config.commitIntervalMs,
        clock: this.#clock,
        metrics: globalMetrics,
        rocksDb: { blockCacheBytes: this.config.rocksDbBlockCacheBytesPerStore, memtableBudgetBytes: this.config.rocksDbMemtableBytesPerStore }
      })
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

  /** While tasks restore, every 5 s and once at the end: records restored and remaining, rate,
   *  ETA (the processor role can log it). */
  onRestoreProgress (listener: (progress: RestoreProgressReport) => void): () => void {
    this.#restoreProgressListeners.add(listener)
    return () => this.#restoreProgressListeners.delete(listener)
  }

  /** While standby and warm-up tasks catch up (from their creation to the changelog ends seen
   *  then), every 5 s and once when all have: the same report as onRestoreProgress (docs/engine.md
   *  "Standby tasks"). */
  onStandbyProgress (listener: (progress: RestoreProgressReport) => void): () => void {
    this.#standbyProgressListeners.add(listener)
    return () => this.#standbyProgressListeners.delete(listener)
  }

  /** Called each time a commit fails and the application recovers from it (the processor role logs
   *  it); a failure it cannot recover from moves it to ERROR instead. */
  onCommitFailed (listener: (failure: CommitFailure) => void): () => void {
    this.#commitFailureListeners.add(listener)
    return () => this.#commitFailureListeners.delete(listener)
  }

  /** Called for each recovery (task migrated or corrupted, producer replaced, refused record
   *  replaced, stream thread replaced); the processor role logs each as one line. */
  onRecovery (listener: (event: RecoveryEvent) => void): () => void {
    this.#recoveryListeners.add(listener)
    return () => this.#recoveryListeners.delete(listener)
  }

  /** A stream thread is running (or being started); false once it died and is not replaced, and
   *  while a dead one waits for its replacement (liveness: /health/live). */
  get streamThreadAlive (): boolean {
    return this.#thread?.alive === true
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
    if (this.#state !== 'CREATED') throw new StreamsError('CONFIG_INVALID', `start() in state ${this.#state}`)
    this.#stateDirectory.lock()
    try {
      await prepareTopics(this.#log.admin, this.topology, this.#subtopologies, this.config.applicationId, this.#partitions)
    } catch (error) {
      this.#stateDirectory.unlock()
      throw error
    }
    this.#transition('REBALANCING')
    try {
      // The global stores catch up before any task runs (Kafka Streams' GlobalStreamThread).
      if (this.#global !== undefined) {
        await this.#global.bootstrap()
        if ((this.#state as ApplicationState) !== 'REBALANCING') return // closed meanwhile
        this.#global.start(error => { this.#globalDied(error) })
      }
      await this.#startThread()
    } catch (error) {
      await this.#global?.close().catch(() => {})
      this.#stateDirectory.unlock()
      this.#fail(error)
      throw error
    }
  }

  async #startThread (): Promise<void> {
    const thread = new StreamThread({
      config: this.config,
      topology: this.topology,
      subtopologies: this.#subtopologies,
      log: this.#log,
      stateDirectory: this.#stateDirectory,
      instanceId: this.#stateDirectory.instanceId(),
      metrics: this.metrics,
      clock: this.#clock,
      partitionsPerSubtopology: this.#partitions,
      onAssignment: info => { this.#queryMetadata = info === null ? null : new QueryMetadata(info) },
      onRebalancing: () => { if (this.#state === 'RUNNING') this.#transition('REBALANCING') },
      onRunning: () => { if (this.#state === 'REBALANCING') this.#transition('RUNNING') },
      onTaskRestored: restored => { notify(this.#restoreListeners, restored) },
      onRestoreProgress: progress => { notify(this.#restoreProgressListeners, progress) },
      onStandbyProgress: progress => { notify(this.#standbyProgressListeners, progress) },
      onCommitFailed: failure => { notify(this.#commitFailureListeners, failure) },
      onRecovery: event => { notify(this.#recoveryListeners, event) },
      ...(this.#productionExceptionHandler === undefined ? {} : { productionExceptionHandler: this.#productionExceptionHandler }),
      ...(this.#global === undefined ? {} : { globalStores: this.#global.processorStores })
    })
    this.#thread = thread
    await thread.start(error => this.#threadDied(error))
  }

  /** The stream thread died (it closed its tasks dirty, its clients, and left the group). */
  #threadDied (error: unknown): void {
    if (this.#state === 'PENDING_SHUTDOWN' || this.#state === 'NOT_RUNNING' || this.#state === 'ERROR') return
    const why = this.#replacements.whyNotReplace(error, this.#clock())
    if (why !== null) {
      this.#fail(new StreamsError(isStreamsError(error) ? error.code : 'PROCESSING_FAILED', `the stream thread died and is not replaced (${why}): ${(error as Error)?.message ?? String(error)}`, { cause: error }))
      return
    }
    const replacements = this.#replacements.record(this.#clock())
    this.metrics.threadsReplaced.inc()
    notify(this.#recoveryListeners, { event: 'stream-thread.replaced', replacements, error })
    if (this.#state === 'RUNNING') this.#transition('REBALANCING')
    const backoffMs = this.#replacements.backoffMs(replacements)
    this.#replacing = (async () => {
      await new Promise(resolve => setTimeout(resolve, backoffMs))
      if (this.#state === 'PENDING_SHUTDOWN' || this.#state === 'NOT_RUNNING') return
      // A start that fails (e.g. the broker is unreachable) counts as one more death.
      await this.#startThread().catch(startError => { this.#threadDied(startError) })
    })().finally(() => { this.#replacing = undefined })
  }

  /** The global updater failed: the tasks would join against a store that no longer follows its
   *  topic, so the application stops (ERROR), as Kafka Streams does on a global thread's death. */
  #globalDied (error: unknown): void {
    if (this.#state === 'PENDING_SHUTDOWN' || this.#state === 'NOT_RUNNING' || this.#state === 'ERROR') return
    this.#fail(new StreamsError(isStreamsError(error) ? error.code : 'PROCESSING_FAILED', `the global store updater failed: ${(error as Error)?.message ?? String(error)}`, { cause: error }))
    void this.#thread?.stop()
  }

  /** Graceful shutdown: readiness goes false first (PENDING_SHUTDOWN), then in-flight work is
   *  committed, stores are checkpointed and closed, and the group is left. */
  async close (): Promise<void> {
    if (this.#state === 'NOT_RUNNING' || this.#state === 'PENDING_SHUTDOWN') return
    this.#transition('PENDING_SHUTDOWN')
    try {
      await this.#replacing
      await this.#thread?.stop()
      await this.#global?.close()
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
    return this.#queries.router.metadataForKey(storeName, key)
  }

  /** `key`'s value in this instance's active copy of `storeName` when this instance owns the key's
   *  task, else the key's metadata (as queryMetadataForKey) for the caller to route the query:
   *  the same answer as queryMetadataForKey then store().get(), with the key serialized and placed
   *  once instead of twice and no metadata built for a local key (the balance query's path,
   *  docs/benchmarks.md "API balance query, third pass"). STORE_NOT_READY as store().get. */
  getIfLocal<K, V> (storeName: string, key: K): { readonly local: true, readonly value: V | undefined } | KeyQueryMetadata {
    return this.#queries.router.getIfLocal<K, V>(storeName, key)
  }

  /** A read-only view of this instance's standby copy of the task holding `key` of `storeName`,
   *  if it is at most `maxLagRecords` behind the changelogs' committed ends, measured as the read
   *  begins (0: it holds exactly the committed state). STORE_NOT_READY otherwise
   *  (topology/standby-queries.ts; docs/engine.md "Interactive queries"). */
  async standbyView<K> (storeName: string, key: K, options: { maxLagRecords: number }): Promise<StandbyView> {
    return await this.#queries.standbyView(storeName, key, options)
  }

  /** The lag of every store copy on this instance, actives and standbys, with the standbys'
   *  committed ends asked now (Kafka Streams' allLocalStorePartitionLags). */
  async allLocalTaskLags (): Promise<LocalTaskLag[]> {
    return await this.#queries.allLocalTaskLags()
  }

  /** Where every task's active, standbys and warm-ups are, as of the last assignment (null before
   *  one): for queries served from standbys (docs/engine.md "Standby tasks"). */
  get assignmentMetadata (): QueryMetadata | null {
    return this.#queryMetadata
  }

  /** This instance's standby and warm-up tasks: how far their stores got and their lag. */
  localStandbyTasks (): StandbyTaskInfo[] {
    return this.#thread?.standbyTasks() ?? []
  }

  /** Interactive queries on the committed state of a store across this instance's tasks. get()
   *  throws KEY_OWNED_ELSEWHERE (details.host) for a key of another instance, and
   *  STORE_NOT_READY while its task restores or the group rebalances. Scans cover local tasks. */
  store<K, V> (storeName: string): QueryableKeyValueStore<K, V> & { readonly state: StoreState } {
    return this.#queries.store<K, V>(storeName)
  }

  /** Interactive queries on a global store: this instance holds all of it, so every key and scan
   *  is answered here (never KEY_OWNED_ELSEWHERE); STORE_NOT_READY until the bootstrap at start
   *  ended. store() answers the same for a global store's name (docs/engine.md "Global tables"). */
  globalStore<K, V> (storeName: string): QueryableKeyValueStore<K, V> & { readonly state: StoreState } {
    return this.#queries.globalStore<K, V>(storeName)
  }

  /** Interactive queries on a window store (fetch by key and time range, all keys in a time
   *  range), like store(): a key's fetch routes to its task (KEY_OWNED_ELSEWHERE, STORE_NOT_READY). */
  windowStore<K, V> (storeName: string): ReadOnlyWindowStore<K, V> {
    return this.#queries.windowStore<K, V>(storeName)
  }

  /** Interactive queries on a session store (a key's sessions). */
  sessionStore<K, V> (storeName: string): ReadOnlySessionStore<K, V> {
    return this.#queries.sessionStore<K, V>(storeName)
  }

  /** The active tasks of this instance; with `storeName`, only those of the sub-topology that
   *  holds that store (a topology with a repartition has tasks of several kinds). */
  localTasks (storeName?: string): Array<{ task: string, ready: boolean }> {
    return this.#queries.localTasks(storeName)
  }

  #fail (error: unknown): void {
    this.#error = error
    if (this.#state !== 'ERROR' && this.#state !== 'NOT_RUNNING') this.#transition('ERROR', error)
  }

  #transition (next: ApplicationState, error?: unknown): void {
    const old = this.#state
    if (old === next && next !== 'REBALANCING') return
    assertTransition(old, next)
    this.#state = next
    this.#setMetricState()
    for (const l of this.#listeners) {
      try { l(next, old, error) } catch { /* a listener's failure is its own */ }
    }
  }

  #setMetricState (): void {
    for (const s of APPLICATION_STATES) this.metrics.state.set({ state: s }, s === this.#state ? 1 : 0)
  }
}

function notify<E> (listeners: ReadonlySet<(event: E) => void>, event: E): void {
  for (const l of listeners) {
    try { l(event) } catch { /* a listener's failure is its own */ }
  }
}
