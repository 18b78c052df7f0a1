// PartitionReader on Apache Kafka: read_committed fetches of explicitly assigned partitions, no
// group. position() follows the fetch's next offset, so it moves past transaction markers: a
// restorer compares it with listOffsets('latest') (the last stable offset) to know it is done.
import type { ConnectionPool } from '@platformatic/kafka'
import { StreamsError } from '../../topology/streams-error.ts'
import type { LogRecord, PartitionEntries, PartitionEntry, PartitionOffset, PartitionReader, TopicPartition } from '../log-port.ts'
import type { KafkaAdmin } from './kafka-admin.ts'
import type { KafkaClient } from './kafka-client.ts'
import { isRetriable, toStreamsError } from './kafka-errors.ts'
import { fetchEntries, type EntryRun } from './kafka-entry-fetch.ts'
import { FetchArena } from './fetch-response.ts'
import { fetchCommitted, partitionKey, type FetchOptions } from './kafka-fetcher.ts'

/** A restore's fetch takes up to this much of one partition (the response stays within the
 *  fetch's 16 MiB): a single store restoring read ~5,000 records per round trip at 1 MiB. */
const ENTRIES_PARTITION_MAX_BYTES = 8 * 1024 * 1024

/** Arenas kept for the next fetches (FetchArena): a restore writes one fetch while the next is in
 *  flight, standby mode holds up to three answers. */
const KEPT_ARENAS = 3
/** A fetch that copied less than this into its arena: the reader follows its changelogs rather
 *  than restores them, and the arenas it kept go (each keeps the pages it was filled with), as
 *  they do once nothing is assigned (a restore done) or the reader closed. */
const ARENA_IDLE_BYTES = 1024 * 1024

export class KafkaPartitionReader implements PartitionReader {
  readonly #client: KafkaClient
  readonly #admin: KafkaAdmin
  readonly #pool: ConnectionPool
  readonly #positions = new Map<string, PartitionOffset>()
  #closed = false
  #rotation = 0
  /** Free arenas, and the arena of each pollEntries() answer until releaseEntries(). */
  #arenas: FetchArena[] = []
  readonly #arenaOf = new WeakMap<PartitionEntries[], FetchArena>()

  constructor (client: KafkaClient, admin: KafkaAdmin, clientId: string) {
    this.#client = client
    this.#admin = admin
    this.#pool = client.createPool(30_000, clientId)
  }

  assign (positions: PartitionOffset[]): void {
    this.#assertOpen()
    for (const p of positions) this.#positions.set(partitionKey(p), { topic: p.topic, partition: p.partition, offset: p.offset })
  }

  unassign (partitions: TopicPartition[]): void {
    for (const tp of partitions) this.#positions.delete(partitionKey(tp))
    // Nothing left to read (a restore done): the arenas kept for the next fetches go.
    if (this.#positions.size === 0) this.#arenas = []
  }

  position (partition: TopicPartition): bigint {
    const found = this.#positions.get(partitionKey(partition))
    if (found === undefined) throw new StreamsError('CONFIG_INVALID', `${partition.topic}/${partition.partition} is not assigned to this reader`)
    return found.offset
  }

  async poll (maxWaitMs: number): Promise<LogRecord[]> {
    const out: LogRecord[] = []
    await this.#poll(maxWaitMs, fetchCommitted, result => { out.push(...result.records) })
    return out
  }

  /** poll() decoded as keys and values only (a restore's fetch, kafka-entry-fetch.ts), on
   *  demand: take() decodes the next slice of a run (a restore writes each before the next). */
  async pollEntries (maxWaitMs: number): Promise<PartitionEntries[]> {
    const out: PartitionEntries[] = []
    // A partition's records that span the socket's chunks are copied into an arena, reused once
    // the caller released the answer (releaseEntries); an answer never released keeps its arena
    // until it is collected.
    const arena = this.#arenas.pop() ?? new FetchArena()
    await this.#poll(maxWaitMs, (client, pool, positions, options) => fetchEntries(client, pool, positions, { ...options, partitionMaxBytes: ENTRIES_PARTITION_MAX_BYTES, arena }), result => {
      if (result.run.records > 0) out.push(lazyEntries(result.topic, result.partition, result.run))
    })
    if (arena.used > 0) this.#arenaOf.set(out, arena)
    else if (this.#positions.size > 0) this.#arenas.push(arena)
    return out
  }

  /** The answer of a pollEntries() is written: nothing holds a view of it any more, and its bytes
   *  are reused by a later fetch. */
  releaseEntries (runs: PartitionEntries[]): void {
    const arena = this.#arenaOf.get(runs)
    if (arena === undefined) return
    this.#arenaOf.delete(runs)
    const used = arena.used
    arena.reset()
    if (used < ARENA_IDLE_BYTES || this.#positions.size === 0) this.#arenas = []
    else if (this.#arenas.length < KEPT_ARENAS) this.#arenas.push(arena)
  }

  async #poll<T extends TopicPartition & { readonly nextOffset: bigint, readonly errorId: string | null }> (
    maxWaitMs: number,
    fetch: (client: KafkaClient, pool: ConnectionPool, positions: PartitionOffset[], options: FetchOptions) => Promise<T[]>,
    take: (result: T) => void
  ): Promise<void> {
    this.#assertOpen()
    // A sessionless fetch fills partitions in the order asked: start each at the next one, so
    // that with a large per-partition limit none waits behind the others every time.
    const all = [...this.#positions.values()]
    const first = all.length > 0 ? this.#rotation++ % all.length : 0
    const requested = [...all.slice(first), ...all.slice(0, first)].map(p => ({ ...p }))
    if (requested.length === 0) {
      if (maxWaitMs > 0) await new Promise(resolve => setTimeout(resolve, Math.min(maxWaitMs, 100)))
      return
    }
    let fetched
    try {
      fetched = await fetch(this.#client, this.#pool, requested, { maxWaitMs })
    } catch (error) {
      if (isRetriable(error)) {
        this.#client.admin.clearMetadata()
        return
      }
      throw toStreamsError(error, 'LOG_CONNECTION', 'reader fetch')
    }
    const asked = new Map(requested.map(r => [partitionKey(r), r.offset]))
    const outOfRange: TopicPartition[] = []
    for (const result of fetched) {
      const key = partitionKey(result)
      const current = this.#positions.get(key)
      // Unassigned or re-assigned elsewhere while the fetch was in flight.
      if (current === undefined || current.offset !== asked.get(key)) continue
      if (result.errorId !== null) {
        if (result.errorId === 'OFFSET_OUT_OF_RANGE') outOfRange.push(result)
        else this.#client.admin.clearMetadata()
        continue
      }
      take(result)
      this.#positions.set(key, { topic: result.topic, partition: result.partition, offset: result.nextOffset })
    }
    if (outOfRange.length > 0) {
      // The changelog was truncated below the asked offset (retention / compaction start): go on
      // from the log start.
      for (const o of await this.#admin.listOffsets(outOfRange, 'earliest')) this.#positions.set(partitionKey(o), o)
    }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#positions.clear()
    this.#arenas = []
    await this.#client.closePool(this.#pool).catch(() => undefined)
  }

  #assertOpen (): void {
    if (this.#closed || this.#client.closed) throw new StreamsError('LOG_CLOSED')
  }
}

/** A run whose entries decode as they are taken (take()), or all at once when `entries` is read
 *  (what has not been taken yet). */
function lazyEntries (topic: string, partition: number, run: EntryRun): PartitionEntries {
  let all: PartitionEntry[] | undefined
  const columnBuffer = run.columnBuffer
  return {
    topic,
    partition,
    records: run.records,
    take: max => run.take(max),
    ...(columnBuffer === undefined ? {} : { columnBuffer, takeColumns: (max: number, at: Int32Array) => run.takeColumns(max, at) }),
    get entries () { return (all ??= run.take(Infinity)) }
  }
}
