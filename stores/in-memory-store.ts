// The in-memory BytesStore: a hash map for point reads plus a sorted array of keys (bytewise,
// Buffer.compare) for ranges. Same contract and range semantics as RocksDbStore; nothing survives
// close (state comes back from the changelog).
//
// Writes arrive in batches at commit, ranges are rare (activity pages, tools), gets are per
// record. So a write only touches the map and remembers which keys are new; the sorted index is
// brought up to date by the next range call: new keys are sorted (k log k) and merged in (n + k),
// deleted keys are dropped in the same pass. No per-insert O(n) splice.
import { StreamsError } from '../topology/streams-error.ts'
import type { BytesStore } from './key-value-store.ts'
import { rangeLimit, type BytesRangeOptions } from './bytes-range.ts'

/** A value whose memory is a small part of a backing store at least this large is copied before
 *  it is kept: a restore's values are views of a partition's records in the fetch response (up to
 *  8 MiB: log/kafka/kafka-entry-fetch.ts), and one kept view keeps all of it resident. Node's
 *  pooled Buffers (64 KiB slabs in Node 24, shared by many small Buffers) stay below it and are
 *  kept as they are. */
export const COPY_VIEWS_OF_BYTES = 128 * 1024

/** `value`, or a copy of it when it is a small view of a large buffer (COPY_VIEWS_OF_BYTES). */
export function ownedValue (value: Buffer): Buffer {
  const backing = value.buffer.byteLength
  return backing >= COPY_VIEWS_OF_BYTES && value.byteLength * 2 < backing ? Buffer.from(value) : value
}

interface Entry {
  readonly key: Buffer
  value: Buffer
}

export class InMemoryStore implements BytesStore {
  readonly name: string
  readonly persistent = false
  /** latin1 string of the key bytes → entry (latin1 maps each byte to one char, losslessly). */
  #entries = new Map<string, Entry>()
  /** Keys in bytewise order; may hold deleted keys until the next #reindex(). */
  #sorted: Buffer[] = []
  /** Keys put since the last #reindex() that were not in #sorted. */
  #added: Buffer[] = []
  #removedSinceIndex = false
  #open = false

  constructor (name: string) {
    this.name = name
  }

  async open (_dir: string): Promise<void> {
    this.#open = true
  }

  get (key: Buffer): Buffer | undefined {
    this.#assertOpen()
    return this.#entries.get(key.toString('latin1'))?.value
  }

  async write (entries: ReadonlyArray<{ key: Buffer, value: Buffer | null }>): Promise<void> {
    this.writeSync(entries)
  }

  /** Atomic: validated first, then applied without anything that can throw in between. */
  writeSync (entries: ReadonlyArray<{ key: Buffer, value: Buffer | null }>): void {
    this.#assertOpen()
    for (const { key, value } of entries) {
      if (!Buffer.isBuffer(key) || (value !== null && !Buffer.isBuffer(value))) {
        throw new TypeError(`store ${this.name}: keys and values must be Buffers (value null deletes)`)
      }
    }
    for (const { key, value } of entries) {
      const id = key.toString('latin1')
      if (value === null) {
        if (this.#entries.delete(id)) this.#removedSinceIndex = true
        continue
      }
      const existing = this.#entries.get(id)
      if (existing !== undefined) {
        existing.value = ownedValue(value)
      } else {
        // Copy the key: the sorted index must not change if the caller reuses its Buffer.
        const owned = Buffer.from(key)
        this.#entries.set(id, { key: owned, value: ownedValue(value) })
        this.#added.push(owned)
      }
    }
  }

  range (from: Buffer | undefined, to: Buffer | undefined, options?: BytesRangeOptions): Array<[Buffer, Buffer]> {
    this.#assertOpen()
    const limit = rangeLimit(options)
    const result: Array<[Buffer, Buffer]> = []
    if (limit === 0) return result
    this.#reindex()
    const sorted = this.#sorted
    const toExclusive = options?.toExclusive === true
    // First index with key >= from, and first index past the upper bound.
    const start = from === undefined ? 0 : lowerBound(sorted, from, false)
    const end = to === undefined ? sorted.length : lowerBound(sorted, to, !toExclusive)
    if (options?.reverse === true) {
      for (let i = end - 1; i >= start && result.length < limit; i--) this.#push(result, sorted[i] as Buffer)
    } else {
      for (let i = start; i < end && result.length < limit; i++) this.#push(result, sorted[i] as Buffer)
    }
    return result
  }

  approximateNumEntries (): number {
    this.#assertOpen()
    return this.#entries.size
  }

  async close (): Promise<void> {
    this.#open = false
    this.#entries = new Map()
    this.#sorted = []
    this.#added = []
  }

  #push (result: Array<[Buffer, Buffer]>, key: Buffer): void {
    const entry = this.#entries.get(key.toString('latin1'))
    if (entry !== undefined) result.push([entry.key, entry.value])
  }

  /** Merges keys added since the last call into the sorted index and drops deleted ones. */
  #reindex (): void {
    if (this.#added.length === 0 && !this.#removedSinceIndex) return
    // Identity, not equality: a key deleted and put again has a new entry (and key object) that
    // sits in `added`; its old key object in `old` must go.
    const live = (key: Buffer): boolean => this.#entries.get(key.toString('latin1'))?.key === key
    const added = this.#added.filter(live)
    added.sort(Buffer.compare)
    const old = this.#sorted
    const merged: Buffer[] = []
    let i = 0
    let j = 0
    while (i < old.length || j < added.length) {
      const a = old[i]
      const b = added[j]
      if (b === undefined || (a !== undefined && Buffer.compare(a, b) < 0)) {
        if (live(a as Buffer)) merged.push(a as Buffer)
        i++
      } else {
        merged.push(b)
        j++
      }
    }
    this.#sorted = merged
    this.#added = []
    this.#removedSinceIndex = false
  }

  #assertOpen (): void {
    if (!this.#open) throw new StreamsError('STORE_CLOSED', `State store ${this.name} is not open`)
  }
}

/** First index whose key is >= target (or > target when `after`). */
function lowerBound (sorted: Buffer[], target: Buffer, after: boolean): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const c = Buffer.compare(sorted[mid] as Buffer, target)
    if (c < 0 || (after && c === 0)) lo = mid + 1
    else hi = mid
  }
  return lo
}
