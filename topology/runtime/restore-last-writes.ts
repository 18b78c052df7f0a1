// Whether a restore slice is written as it comes or as each key's last write (changelog-reader.ts
// writes a partition's fetched records in slices, each one atomic batch). A changelog holds
// upserts: within one batch only each key's last write matters, and a restore of an uncompacted
// tail (a key updated on every record of its member) repeats keys many times per fetch. But a
// changelog of distinct keys (a cold start's members, event ids) loses nothing by writing every
// entry, and the look-up of each key (a string and a Map entry per record) cost ~10 % of a cold
// start's main thread. So the last write per key is taken only while it pays, per partition.
// Writing duplicates is as correct: a write batch applies its entries in order.
import type { ChangelogEntry } from './changelog-restore.ts'
import { COLUMNS_PER_RECORD, type RestoreColumns } from '../../stores/restore-columns.ts'

/** A slice's last write per key is taken only while it drops at least this share of its entries;
 *  below, the partition's next DEDUPE_PAUSE_RECORDS records are written as they come. */
const DEDUPE_MIN_DROPPED = 0.1
const DEDUPE_PAUSE_RECORDS = 50_000
/** A slice of at least twice this many entries is first measured on its first ones. */
const DEDUPE_SAMPLE = 512

/** One restoring partition's choice, slice after slice. */
export class LastWrites {
  /** Records to write before the next slice's last write per key is taken. */
  #pause = 0

  /** The slice as it is to be written: itself, or its last write per key. A slice that drops less
   *  than DEDUPE_MIN_DROPPED of its entries (measured on its first DEDUPE_SAMPLE when it is long)
   *  turns the look-up off for the partition's next DEDUPE_PAUSE_RECORDS records; then the next
   *  slice measures again. */
  slice (entries: ChangelogEntry[]): ChangelogEntry[] {
    return this.asTheyCome(entries.length, n => repeatedKeys(entries, n)) ? entries : this.of(entries)
  }

  /** slice()'s choice for a slice of `count` records: true to write it as it comes;
   *  `repeated(n)` counts the slice's first n records that repeat a key before them. */
  asTheyCome (count: number, repeated: (n: number) => number): boolean {
    if (this.#pause > 0) {
      this.#pause -= count
      return true
    }
    // A cold start's partitions hold a few thousand records each: measured on whole slices, the
    // first one (most of the partition) always paid. Its first DEDUPE_SAMPLE entries decide.
    if (count >= 2 * DEDUPE_SAMPLE && repeated(DEDUPE_SAMPLE) < DEDUPE_SAMPLE * DEDUPE_MIN_DROPPED) {
      this.#pause = DEDUPE_PAUSE_RECORDS - count
      return true
    }
    return false
  }

  /** The slice's last write per key, pausing the look-up when it drops too few. */
  of (entries: ChangelogEntry[]): ChangelogEntry[] {
    const last = lastWritePerKey(entries)
    if (entries.length - last.length < entries.length * DEDUPE_MIN_DROPPED) this.#pause = DEDUPE_PAUSE_RECORDS
    return last
  }
}

/** How many of the first `n` entries repeat a key seen before them. */
function repeatedKeys (entries: ChangelogEntry[], n: number): number {
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) seen.add(entries[i]!.key.toString('latin1'))
  return n - seen.size
}

/** repeatedKeys() of a slice as offsets (stores/restore-columns.ts), by a 30-bit hash of each
 *  key's bytes (FNV-1a) rather than a string per key (a native call and a string each: ~2 % of a
 *  cold start's main thread, docs/benchmarks.md "Cold start, eleventh pass (branch
 *  coldstart11)"). Two keys of one hash count as a repeat (one chance in ~4,000 for 512 distinct
 *  keys): the slice's last write per key is then taken, which is as correct. */
export function repeatedColumnKeys ({ buf, at }: RestoreColumns, n: number): number {
  const seen = new Set<number>()
  for (let i = 0, j = 0; i < n; i++, j += COLUMNS_PER_RECORD) {
    let h = 0x811c9dc5
    for (let b = at[j]!, end = b + at[j + 1]!; b < end; b++) h = Math.imul(h ^ buf[b]!, 0x01000193)
    seen.add(h & 0x3fff_ffff)
  }
  return n - seen.size
}

/** Each key's last write, in the order of those last writes; the same array when no key repeats. */
export function lastWritePerKey (entries: ChangelogEntry[]): ChangelogEntry[] {
  if (entries.length < 2) return entries
  const last = new Map<string, ChangelogEntry>()
  for (const entry of entries) last.set(entry.key.toString('latin1'), entry)
  return last.size === entries.length ? entries : [...last.values()]
}
