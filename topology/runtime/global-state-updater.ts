// The global updater (Kafka Streams' GlobalStreamThread): keeps every global store a full copy of
// its topic. It reads all partitions of the global tables' topics with a partition reader of its
// own — no group, committed records only — as the topics are the stores' changelogs.
//
// bootstrap(): opens the stores under `<appDir>/global/`, resumes each from the checkpoint
// (`<appDir>/global/.checkpoint`, offsets of the source partitions) or, without a usable one
// (none, in-memory store, an offset out of the topic's range), wipes it and starts from the
// beginning; then reads until every partition reaches the end it had when the bootstrap began.
// The application starts its stream thread only after that (docs/engine.md "Global tables").
// start(): keeps applying new records in the background, checkpointing at most once per commit
// interval when records were applied (after syncing RocksDB's WAL) and sampling the lag every few
// seconds; close() checkpoints last.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Log, LogRecord, PartitionOffset, PartitionReader, TopicPartition } from '../../log/log-port.ts'
import { CheckpointFile, checkpointKey } from '../../stores/checkpoint-file.ts'
import type { KeyValueStore } from '../../stores/key-value-store.ts'
import type { RocksDbStoreOptions } from '../../stores/rocksdb-store.ts'
import type { ReadOnlyTypedKeyValueStore } from '../../stores/typed-key-value-store.ts'
import { StreamsError } from '../streams-error.ts'
import type { GlobalStoreSpec } from '../topology.ts'
import type { GlobalStoreMetrics } from './global-metrics.ts'
import { GlobalStateStore } from './global-state-store.ts'

export const GLOBAL_STATE_DIR = 'global'
const LAG_SAMPLE_INTERVAL_MS = 5000

export interface GlobalStateUpdaterOptions {
  readonly specs: readonly GlobalStoreSpec[]
  readonly log: Log
  /** The application's state directory (`<stateDir>/<applicationId>`). */
  readonly appDir: string
  readonly clientId: string
  readonly pollMs: number
  readonly checkpointIntervalMs: number
  readonly clock: () => number
  readonly metrics: GlobalStoreMetrics
  readonly rocksDb?: RocksDbStoreOptions
}

export class GlobalStateUpdater {
  readonly #o: GlobalStateUpdaterOptions
  readonly #stores = new Map<string, GlobalStateStore>()
  readonly #byTopic = new Map<string, GlobalStateStore>()
  readonly #processorStores = new Map<string, KeyValueStore<unknown, unknown>>()
  readonly #partitions: TopicPartition[] = []
  readonly #checkpoint: CheckpointFile
  #reader: PartitionReader | undefined
  #running = false
  #closed = false
  #loop: Promise<void> | undefined
  #bootstrapping: Promise<void> | undefined
  #lastCheckpointMs = 0
  /** Records applied since the last checkpoint (an idle updater writes none). */
  #dirty = false
  #lastLagSampleMs = 0
  #lagSampling = false

  constructor (options: GlobalStateUpdaterOptions) {
    this.#o = options
    const dir = join(options.appDir, GLOBAL_STATE_DIR)
    mkdirSync(dir, { recursive: true })
    this.#checkpoint = new CheckpointFile(dir)
  }

  /** Read-only views for processors, by store name (passed to every task). */
  get processorStores (): ReadonlyMap<string, KeyValueStore<unknown, unknown>> { return this.#processorStores }

  /** The queryable view of a global store (undefined before bootstrap() opened it). */
  queryable (name: string): ReadOnlyTypedKeyValueStore<unknown, unknown> | undefined {
    return this.#stores.get(name)?.queryable
  }

  /** Opens the stores and catches them up to the topics' ends (see the file comment). */
  async bootstrap (): Promise<void> {
    this.#bootstrapping = this.#bootstrap()
    await this.#bootstrapping
  }

  async #bootstrap (): Promise<void> {
    const { log, specs } = this.#o
    const described = new Map((await log.admin.describeTopics(specs.map(s => s.topic))).map(d => [d.name, d.partitions]))
    for (const spec of specs) {
      const n = described.get(spec.topic)
      if (n === undefined) throw new StreamsError('LOG_TOPIC_NOT_FOUND', `topic ${spec.topic} of global table ${spec.definition.name} is missing`)
      for (let partition = 0; partition < n; partition++) this.#partitions.push({ topic: spec.topic, partition })
    }
    const [earliest, latest] = await Promise.all([log.admin.listOffsets(this.#partitions, 'earliest'), log.admin.listOffsets(this.#partitions, 'latest')])
    const lo = new Map(earliest.map(o => [checkpointKey(o), o.offset]))
    const hi = new Map(latest.map(o => [checkpointKey(o), o.offset]))
    let checkpointed: Map<string, bigint>
    try {
      checkpointed = this.#checkpoint.readMap()
    } catch {
      checkpointed = new Map() // corrupt: start over
    }
    const positions: PartitionOffset[] = []
    let wiped = false
    for (const spec of specs) {
      const tps = this.#partitions.filter(tp => tp.topic === spec.topic)
      const usable = spec.definition.kind === 'rocksdb' && tps.every(tp => {
        const at = checkpointed.get(checkpointKey(tp))
        return at !== undefined && at >= lo.get(checkpointKey(tp))! && at <= hi.get(checkpointKey(tp))!
      })
      if (!usable) wiped = true
      const dir = join(this.#o.appDir, GLOBAL_STATE_DIR, spec.definition.name)
      const store = await GlobalStateStore.open(spec, dir, !usable, this.#o.rocksDb)
      this.#stores.set(spec.definition.name, store)
      this.#byTopic.set(spec.topic, store)
      this.#processorStores.set(spec.definition.name, store.processorView)
      for (const tp of tps) positions.push({ ...tp, offset: usable ? checkpointed.get(checkpointKey(tp))! : lo.get(checkpointKey(tp))! })
    }
    // A store starting over may go below the offsets the file holds.
    if (wiped) this.#checkpoint.delete()
    const reader = this.#reader = log.createPartitionReader({ clientId: this.#o.clientId })
    reader.assign(positions)
    const behind = (): TopicPartition[] => this.#partitions.filter(tp => reader.position(tp) < hi.get(checkpointKey(tp))!)
    this.#setLag(hi)
    for (let left = behind(); left.length > 0 && !this.#closed; left = behind()) {
      this.#apply(await reader.poll(Math.min(this.#o.pollMs, 100)), 'bootstrap')
      this.#setLag(hi)
    }
    if (this.#closed) return // close() checkpoints
    this.#writeCheckpoint()
    for (const store of this.#stores.values()) store.setQueryableState('READY')
  }

  /** Keeps the stores current in the background; `onFatal` if reading or applying fails. */
  start (onFatal: (error: unknown) => void): void {
    this.#running = true
    this.#loop = this.#run().catch(error => { if (!this.#closed) onFatal(error) })
  }

  async #run (): Promise<void> {
    const reader = this.#reader!
    while (this.#running) {
      const records = await reader.poll(this.#o.pollMs)
      if (!this.#running) break
      this.#apply(records, 'update')
      const now = this.#o.clock()
      if (this.#dirty && now - this.#lastCheckpointMs >= this.#o.checkpointIntervalMs) this.#writeCheckpoint()
      this.#sampleLag(now)
    }
  }

  /** Stops reading, checkpoints what the stores hold, closes them. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#running = false
    await this.#bootstrapping?.catch(() => {})
    await this.#loop
    try {
      if (this.#reader !== undefined && this.#stores.size === this.#o.specs.length) this.#writeCheckpoint()
    } finally {
      await this.#reader?.close().catch(() => {})
      for (const store of this.#stores.values()) await store.close()
      for (const spec of this.#o.specs) this.#o.metrics.lag.remove({ store: spec.definition.name })
    }
  }

  #apply (records: LogRecord[], phase: 'bootstrap' | 'update'): void {
    if (records.length === 0) return
    this.#dirty = true
    // One batch per run of a topic's records (a poll mixes partitions and topics).
    let start = 0
    for (let i = 1; i <= records.length; i++) {
      if (i < records.length && records[i]!.topic === records[start]!.topic) continue
      const store = this.#byTopic.get(records[start]!.topic)!
      const applied = store.apply(records.slice(start, i))
      if (applied > 0) this.#o.metrics.recordsApplied.inc({ store: store.spec.definition.name, phase }, applied)
      start = i
    }
  }

  /** Syncs the stores, then records the reader's positions as what they hold. */
  #writeCheckpoint (): void {
    for (const store of this.#stores.values()) store.sync()
    const reader = this.#reader!
    this.#checkpoint.write(this.#partitions.filter(tp => this.#stores.get(this.#byTopic.get(tp.topic)!.spec.definition.name)!.persistent).map(tp => ({ ...tp, offset: reader.position(tp) })))
    this.#lastCheckpointMs = this.#o.clock()
    this.#dirty = false
  }

  #setLag (ends: ReadonlyMap<string, bigint>): void {
    const reader = this.#reader!
    for (const store of this.#stores.values()) {
      let lag = 0n
      for (const tp of this.#partitions) {
        if (tp.topic !== store.spec.topic) continue
        const behind = (ends.get(checkpointKey(tp)) ?? 0n) - reader.position(tp)
        if (behind > 0n) lag += behind
      }
      this.#o.metrics.lag.set({ store: store.spec.definition.name }, Number(lag))
    }
  }

  /** Every few seconds, in the background: the topics' ends against the reader's positions. */
  #sampleLag (now: number): void {
    if (this.#lagSampling || now - this.#lastLagSampleMs < LAG_SAMPLE_INTERVAL_MS) return
    this.#lastLagSampleMs = now
    this.#lagSampling = true
    this.#o.log.admin.listOffsets(this.#partitions, 'latest').then(ends => {
      if (!this.#closed) this.#setLag(new Map(ends.map(e => [checkpointKey(e), e.offset])))
    }, () => { /* a lag sample is best effort */ }).finally(() => { this.#lagSampling = false })
  }
}
