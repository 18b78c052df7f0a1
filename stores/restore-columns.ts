// A restore slice as offsets into the fetched bytes (struct of arrays) rather than an object and
// two Buffer views per record: the decoder (log/kafka/kafka-entry-fetch.ts takeColumns) fills
// them, the RocksDB batch writer (rocksdb-native-batch.ts) reads the keys and values from `buf`
// where they lie. A cold start's main thread spent a fifth of its restore in the garbage
// collector, largely on those three allocations per record (docs/benchmarks.md "Cold start,
// seventh pass (branch coldstart7)").

/** Int32s per record in RestoreColumns.at: key start, key length, value start, value length. */
export const COLUMNS_PER_RECORD = 4

export interface RestoreColumns {
  /** The bytes the offsets point into. */
  readonly buf: Buffer
  /** Per record, COLUMNS_PER_RECORD Int32s: key start, key length, value start, value length
   *  (−1: a tombstone, the key is deleted). Records in log order. */
  readonly at: Int32Array
  /** Records in `at` (the array may be longer). */
  readonly count: number
}

/** The records of `columns` as entries (Buffer views of `buf`): for stores without a columnar
 *  write, and for tests. */
export function columnEntries (columns: RestoreColumns): Array<{ key: Buffer, value: Buffer | null }> {
  const { buf, at, count } = columns
  const out: Array<{ key: Buffer, value: Buffer | null }> = []
  for (let i = 0, j = 0; i < count; i++, j += COLUMNS_PER_RECORD) {
    out.push({ key: buf.subarray(at[j]!, at[j]! + at[j + 1]!), value: at[j + 3]! < 0 ? null : buf.subarray(at[j + 2]!, at[j + 2]! + at[j + 3]!) })
  }
  return out
}
