// The order in which a restore batch hands its records to RocksDB: close to key order. A batch
// write inserts each record into the memtable's skip list, and RocksDB keeps the position of the
// previous insert as a hint (its "splice"): a key next to the previous one is found from there, a
// key elsewhere from the top of the list. A changelog's records come in the order they were
// produced, keys all over the store, so every insert searched from the top: most of a restore's
// main-thread CPU per record (docs/benchmarks.md "Restore path CPU per record (branch
// restore6)"). Sorting costs less than it saves only when cheap, hence not a full byte sort:
// records are ordered by the KEY_BYTES bytes after the prefix the batch's keys share, which is a
// hint only. What must not change is the order of the writes of one key (a RocksDB batch gives
// its records increasing sequence numbers: the last one wins), and keys equal to that depth keep
// their batch order (the index breaks ties).

/** Bytes of each key ordered by, after the batch's common prefix: with the index below, a
 *  Float64's 53 exact integer bits. */
const KEY_BYTES = 5
/** Batches larger than this are written as they come (the index takes 13 bits). */
export const MAX_ORDERED = 8192
/** Smaller batches are written as they come: too few inserts to gain anything. */
const MIN_ORDERED = 32

const scratch = new Float64Array(MAX_ORDERED)

/** The batch's indices in write order (read each with `& (MAX_ORDERED - 1)`), or undefined to
 *  write it as it comes. Valid until the next call (one buffer reused). */
export function keyOrder (entries: ReadonlyArray<{ readonly key: Buffer }>): Float64Array | undefined {
  const n = entries.length
  if (n < MIN_ORDERED || n > MAX_ORDERED) return undefined
  const first = entries[0]!.key
  let common = first.length
  for (let i = 1; i < n && common > 0; i++) {
    const key = entries[i]!.key
    const max = common < key.length ? common : key.length
    let c = 0
    while (c < max && key[c] === first[c]) c++
    common = c
  }
  for (let i = 0; i < n; i++) {
    const key = entries[i]!.key
    let v = 0
    for (let b = common; b < common + KEY_BYTES; b++) v = v * 256 + (b < key.length ? key[b]! : 0)
    scratch[i] = v * MAX_ORDERED + i
  }
  return scratch.subarray(0, n).sort()
}

/** keyOrder() for a slice as offsets (restore-columns.ts): record i's key is `buf` from
 *  `at[4i]`, `at[4i + 1]` bytes long. Valid until the next call of either. */
export function columnKeyOrder (buf: Buffer, at: Int32Array, n: number): Float64Array | undefined {
  if (n < MIN_ORDERED || n > MAX_ORDERED) return undefined
  const first = at[0]!
  let common = at[1]!
  for (let i = 1, j = 4; i < n && common > 0; i++, j += 4) {
    const start = at[j]!
    const max = common < at[j + 1]! ? common : at[j + 1]!
    let c = 0
    while (c < max && buf[start + c] === buf[first + c]) c++
    common = c
  }
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    const start = at[j]!
    const length = at[j + 1]!
    let v = 0
    for (let b = common; b < common + KEY_BYTES; b++) v = v * 256 + (b < length ? buf[start + b]! : 0)
    scratch[i] = v * MAX_ORDERED + i
  }
  return scratch.subarray(0, n).sort()
}
