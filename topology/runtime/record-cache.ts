// The record cache of the DSL's aggregations (Kafka Streams' KTable record cache,
// docs/engine.md "Record cache"): count / aggregate / reduce keep the latest update per key and
// forward it downstream when the task commits (or, in the TopologyTestDriver, after each input),
// not once per input record. Between two commits a key updated n times forwards once, with its
// last value, timestamp and input record (the one a refused output is traced back to); the
// store's changelog was already one record per key per commit. The task owns the flush: every
// cache is flushed before the task's outputs and store changelogs are drained for the commit, in
// the order the processors were initialised (parents first, so a cache that feeds another
// is flushed before it), and cleared when the task drops its uncommitted work.
import type { LogRecord } from '../../log/log-port.ts'
import type { ProcessorContext } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'

/** What the task offers a caching processor, on its context under RECORD_CACHE (absent: the
 *  cache is off, StreamsConfig.tableRecordCache false: forward every update at once). */
export interface RecordCacheHost {
  /** The input record being processed (kept with a cached update). */
  currentInput (): LogRecord | null
  /** Runs `forward(record)` as if `input` were being processed (outputs traced back to it). The
   *  record is passed along rather than captured: no closure per flushed update. */
  forwardAs<R> (input: LogRecord | null, forward: (record: R) => void, record: R): void
  /** Called by the task before each commit (flush) and when it drops uncommitted work (clear). */
  register (cache: { flush (): void, clear (): void }): void
}

export const RECORD_CACHE: unique symbol = Symbol('rewards.recordCache')

export function recordCacheHost (context: ProcessorContext<unknown, unknown>): RecordCacheHost | undefined {
  return (context as { [RECORD_CACHE]?: RecordCacheHost })[RECORD_CACHE]
}

interface Entry<K, V> {
  record: Record<K, V>
  input: LogRecord | null
}

/** The latest update per key, forwarded at the task's flush (or at once when the host has no
 *  cache). Keys are compared by `id` (the serialized key, as the store does). */
export class ForwardingCache<K, V> {
  readonly #context: ProcessorContext<K, V>
  readonly #host: RecordCacheHost | undefined
  readonly #id: (key: K) => string
  readonly #merge: ((earlier: V, later: V) => V) | undefined
  #entries = new Map<string, Entry<K, V>>()
  readonly #forward: (record: Record<K, V>) => void

  /** `merge`: what a later update of a cached key becomes (default: the later update); a KTable
   *  keeps the old value of the first update and the new value of the last (a Change). */
  constructor (context: ProcessorContext<K, V>, id: (key: K) => string, merge?: (earlier: V, later: V) => V) {
    this.#context = context
    this.#id = id
    this.#merge = merge
    this.#host = recordCacheHost(context as ProcessorContext<unknown, unknown>)
    this.#forward = record => { context.forward(record) }
    this.#host?.register({ flush: () => this.flush(), clear: () => { this.#entries = new Map() } })
  }

  /** Forwards `record` at the next flush, replacing an earlier update of its key (whose position
   *  it takes: updates forward in the order of their last write, like the changelog). */
  put (record: Record<K, V>): void {
    const host = this.#host
    if (host === undefined) { this.#context.forward(record); return }
    const id = this.#id(record.key)
    const entries = this.#entries
    const entry = entries.get(id)
    if (entry !== undefined) {
      entries.delete(id)
      entry.record = this.#merge === undefined ? record : { ...record, value: this.#merge(entry.record.value, record.value) }
      entry.input = host.currentInput()
      entries.set(id, entry)
    } else {
      entries.set(id, { record, input: host.currentInput() })
    }
  }

  flush (): void {
    if (this.#entries.size === 0) return
    const entries = this.#entries
    this.#entries = new Map()
    const host = this.#host!
    for (const { record, input } of entries.values()) host.forwardAs(input, this.#forward, record)
  }
}
