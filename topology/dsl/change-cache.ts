// The record cache of a KTable aggregation (KGroupedStream.aggregate / reduce / count): the
// latest update per key, forwarded as a Change at the task's flush, as ForwardingCache
// (topology/runtime/record-cache.ts, docs/engine.md "Record cache") with its KTable merge (the
// new value of the last update, the old value of the first), but each key's update kept in one
// flat entry rather than a record, a Change and an entry: the cache holds every updated key until
// the commit, so what it keeps per update outlives the young generation (docs/benchmarks.md,
// "Engine against the raw client, third pass"). The record and its Change are made at the flush.
import type { Headers, LogRecord } from '../../log/log-port.ts'
import type { ProcessorContext } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'
import { recordCacheHost, type RecordCacheHost } from '../runtime/record-cache.ts'
import { Change } from './change.ts'

interface Update<K, V> {
  key: K
  newValue: V
  /** The value before the first update since the last flush (kept by later updates). */
  readonly oldValue: V | undefined
  timestamp: number
  headers: Headers
  input: LogRecord | null
}

export class ChangeCache<K, V> {
  readonly #context: ProcessorContext<K, Change<V>>
  readonly #host: RecordCacheHost | undefined
  readonly #id: (key: K) => string
  #updates = new Map<string, Update<K, V>>()
  readonly #forward: (record: Record<K, Change<V>>) => void

  /** `id`: the key's identity (its serialized bytes as a latin1 string, as the store's). */
  constructor (context: ProcessorContext<K, Change<V>>, id: (key: K) => string) {
    this.#context = context
    this.#id = id
    this.#host = recordCacheHost(context as ProcessorContext<unknown, unknown>)
    this.#forward = record => { context.forward(record) }
    this.#host?.register({ flush: () => this.flush(), clear: () => { this.#updates = new Map() } })
  }

  /** Forwards Change(newValue, oldValue) at the next flush; a key updated again keeps its first
   *  old value and takes the later update's value, timestamp, headers, input and position
   *  (updates forward in the order of their last write, like the changelog). */
  put (key: K, newValue: V, oldValue: V | undefined, timestamp: number, headers: Headers): void {
    const host = this.#host
    if (host === undefined) { this.#context.forward({ key, value: new Change(newValue, oldValue), timestamp, headers }); return }
    const id = this.#id(key)
    const updates = this.#updates
    const update = updates.get(id)
    if (update !== undefined) {
      updates.delete(id)
      update.key = key
      update.newValue = newValue
      update.timestamp = timestamp
      update.headers = headers
      update.input = host.currentInput()
      updates.set(id, update)
    } else {
      updates.set(id, { key, newValue, oldValue, timestamp, headers, input: host.currentInput() })
    }
  }

  flush (): void {
    if (this.#updates.size === 0) return
    const updates = this.#updates
    this.#updates = new Map()
    const host = this.#host!
    for (const u of updates.values()) {
      host.forwardAs(u.input, this.#forward, { key: u.key, value: new Change(u.newValue, u.oldValue), timestamp: u.timestamp, headers: u.headers })
    }
  }
}
