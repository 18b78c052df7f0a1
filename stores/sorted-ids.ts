// The keys of the caching layer's write map in key order, so that a range read visits only the
// writes within its bounds instead of testing every unapplied write (a dedupe purge every few
// records used to spend about a quarter of the processor's time doing that; docs/benchmarks.md,
// "Rewards hot path").
//
// Keys are latin1 ids (one char per byte), and JavaScript compares strings by UTF-16 code unit,
// so id order is byte order: the order of Buffer.compare and of RocksDB's default comparator.
// Kept lazily: a new id is appended to an unsorted tail (O(1) per write). A range read binary-
// searches the sorted part and filters the tail; the tail is merged into the sorted part only once
// it outgrows about √size, so a store read by range after every few writes pays
// O(log size + √size) per read plus an amortised O(√size) per write, never O(size) per read.

export class SortedIds {
  #sorted: string[] = []
  #tail: string[] = []

  /** `id` must not be in the set yet (the caller's map says so). */
  add (id: string): void {
    this.#tail.push(id)
  }

  get size (): number {
    return this.#sorted.length + this.#tail.length
  }

  /** Every id, ascending. The array is owned by this set: do not modify it. */
  ordered (): readonly string[] {
    if (this.#tail.length === 0) return this.#sorted
    const tail = this.#tail.sort()
    this.#tail = []
    const sorted = this.#sorted
    if (sorted.length === 0 || (sorted[sorted.length - 1] as string) < (tail[0] as string)) {
      // Appended in order (time-ordered keys): no merge.
      for (const id of tail) sorted.push(id)
      return sorted
    }
    const merged = new Array<string>(sorted.length + tail.length)
    let i = 0
    let j = 0
    let k = 0
    while (i < sorted.length && j < tail.length) merged[k++] = (sorted[i] as string) < (tail[j] as string) ? sorted[i++] as string : tail[j++] as string
    while (i < sorted.length) merged[k++] = sorted[i++] as string
    while (j < tail.length) merged[k++] = tail[j++] as string
    this.#sorted = merged
    return merged
  }

  /** The ids within [from, to] (or [from, to) when toExclusive), ascending; an undefined bound
   *  is open. */
  between (from: string | undefined, to: string | undefined, toExclusive: boolean): string[] {
    const tail = this.#tail
    if (tail.length * tail.length <= this.#sorted.length || tail.length <= 32) {
      const out = this.#between(this.#sorted, from, to, toExclusive)
      if (tail.length === 0) return out
      let added = false
      for (const id of tail) {
        if ((from === undefined || id >= from) && (to === undefined || (toExclusive ? id < to : id <= to))) { out.push(id); added = true }
      }
      return added ? out.sort() : out
    }
    return this.#between(this.ordered(), from, to, toExclusive)
  }

  #between (ids: readonly string[], from: string | undefined, to: string | undefined, toExclusive: boolean): string[] {
    let lo = 0
    if (from !== undefined) {
      let hi = ids.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if ((ids[mid] as string) < from) lo = mid + 1
        else hi = mid
      }
    }
    const out: string[] = []
    for (let i = lo; i < ids.length; i++) {
      const id = ids[i] as string
      if (to !== undefined && (toExclusive ? id >= to : id > to)) break
      out.push(id)
    }
    return out
  }
}
