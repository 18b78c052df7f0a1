// Range arithmetic shared by the bytes stores and the caching layer: bounds, limits and the
// exclusive upper bound of a prefix scan. Keys compare bytewise (Buffer.compare), as RocksDB's
// default comparator does, so every store answers a range identically.
import type { RangeOptions } from './key-value-store.ts'

/** Default and upper bound on entries one range call returns (scans are bounded). */
export const DEFAULT_RANGE_LIMIT = 1000

/** RangeOptions as the bytes layers take them. `toExclusive` makes the upper bound exclusive
 *  (needed by prefix scans, whose natural upper bound is the first key after the prefix); the
 *  stores of this folder honour it, other BytesStore implementations may ignore it. */
export interface BytesRangeOptions extends RangeOptions {
  readonly toExclusive?: boolean
}

export function rangeLimit (options: RangeOptions | undefined): number {
  const limit = options?.limit ?? DEFAULT_RANGE_LIMIT
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`range limit must be a non-negative integer, got ${limit}`)
  return limit
}

/** True when `key` lies within [from, to] (or [from, to) when toExclusive). */
export function inRange (key: Buffer, from: Buffer | undefined, to: Buffer | undefined, toExclusive: boolean): boolean {
  if (from !== undefined && Buffer.compare(key, from) < 0) return false
  if (to !== undefined) {
    const c = Buffer.compare(key, to)
    if (toExclusive ? c >= 0 : c > 0) return false
  }
  return true
}

/** The smallest key greater than every key starting with `prefix`: the prefix with its last
 *  non-0xff byte incremented and everything after it dropped. Undefined when there is none
 *  (the prefix is empty or all 0xff): the scan then has no upper bound. */
export function prefixUpperBound (prefix: Buffer): Buffer | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const byte = prefix[i] as number
    if (byte !== 0xff) {
      const bound = Buffer.allocUnsafe(i + 1)
      prefix.copy(bound, 0, 0, i)
      bound[i] = byte + 1
      return bound
    }
  }
  return undefined
}
