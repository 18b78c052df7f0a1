// A restore's batch writes straight through @nxtedition/rocksdb's native batch functions (12.2.x
// binding.js: batch_init / batch_put / batch_del / batch_write / batch_clear), one WriteBatch per
// store reused from write to write. The chained batch (`db._chainedBatch()._put`) runs an
// assert, two null checks and two typeof conversions per record in JavaScript, and passes an
// options object the binding probes for a "column" property (a named-property lookup from a C
// string per record); undefined options skip that probe. A restore writes every changelog
// record, so that overhead was ~0.3 µs of the main thread per record of ~1.5 µs for the write
// (docs/benchmarks.md "Cold start, sixth pass (branch coldstart5)").
//
// The binding keeps the database's native handle under a symbol it does not export: when it is
// not found (another binding version), nativeBatchWriter() returns undefined and the store keeps
// the chained batch.
import { createRequire } from 'node:module'
import { columnKeyOrder, keyOrder, MAX_ORDERED } from './batch-key-order.ts'
import { COLUMNS_PER_RECORD, type RestoreColumns } from './restore-columns.ts'

interface NativeBatchBinding {
  batch_init (): object
  batch_put (batch: object, key: Buffer, value: Buffer, options: undefined): void
  batch_del (batch: object, key: Buffer, options: undefined): void
  batch_write (database: object, batch: object, options: { sync: boolean }): void
  batch_clear (batch: object): void
}

const binding = createRequire(import.meta.url)('@nxtedition/rocksdb/binding') as Partial<NativeBatchBinding>

/** Writes entries as one atomic batch (a del for a null value), synchronously; of several
 *  writes of one key, the last one is kept. */
export type NativeBatchWrite = (entries: ReadonlyArray<{ key: Buffer, value: Buffer | null }>, options: { sync: boolean }) => void

/** NativeBatchWrite for a slice as offsets into one buffer (restore-columns.ts). */
export type NativeColumnsWrite = (columns: RestoreColumns, options: { sync: boolean }) => void

export interface NativeBatchWriters {
  readonly write: NativeBatchWrite
  readonly writeColumns: NativeColumnsWrite
}

/** Keys and values up to this long are copied into a scratch buffer and passed as a view of it
 *  made once per length (batch_put copies them into the batch: the view need not outlive the
 *  call); longer ones as views of the fetched bytes, one per record. */
const SCRATCH_MAX = 256

/** A batch writer for an open RocksLevel `db`, or undefined if this binding does not expose what
 *  it needs. The writer must not be used once `db` is closed (the caller checks it is open). */
export function nativeBatchWriter (db: object): NativeBatchWrite | undefined {
  return nativeBatchWriters(db)?.write
}

/** nativeBatchWriter() and its columnar form, sharing one native batch. */
export function nativeBatchWriters (db: object): NativeBatchWriters | undefined {
  const { batch_init: init, batch_put: put, batch_del: del, batch_write: writeBatch, batch_clear: clear } = binding
  if (init === undefined || put === undefined || del === undefined || writeBatch === undefined || clear === undefined) return undefined
  const contextKey = Object.getOwnPropertySymbols(db).find(s => s.description === 'context')
  const database = contextKey === undefined ? undefined : (db as Record<symbol, unknown>)[contextKey]
  if (database === null || typeof database !== 'object') return undefined
  const batch = init()
  const write: NativeBatchWrite = (entries, options) => {
    // Cleared after every write, also a failed one (a put that threw leaves a partial batch).
    try {
      // Close to key order: the memtable inserts cost less (batch-key-order.ts).
      const order = keyOrder(entries)
      for (let j = 0; j < entries.length; j++) {
        const { key, value } = entries[order === undefined ? j : order[j]! & (MAX_ORDERED - 1)]!
        if (value === null) del(batch, key, undefined)
        else put(batch, key, value, undefined)
      }
      writeBatch(database, batch, options)
    } finally {
      clear(batch)
    }
  }
  const keys = new Scratch()
  const values = new Scratch()
  const writeColumns: NativeColumnsWrite = ({ buf, at, count }, options) => {
    try {
      const order = columnKeyOrder(buf, at, count)
      for (let i = 0; i < count; i++) {
        const j = (order === undefined ? i : order[i]! & (MAX_ORDERED - 1)) * COLUMNS_PER_RECORD
        const key = keys.view(buf, at[j]!, at[j + 1]!)
        const valueLength = at[j + 3]!
        if (valueLength < 0) del(batch, key, undefined)
        else put(batch, key, values.view(buf, at[j + 2]!, valueLength), undefined)
      }
      writeBatch(database, batch, options)
    } finally {
      clear(batch)
    }
  }
  return { write, writeColumns }
}

/** Bytes of `buf` as a Buffer valid until the next view(): short ones copied into one reused
 *  buffer, through a view per length made once. */
class Scratch {
  readonly #buf = Buffer.allocUnsafe(SCRATCH_MAX)
  readonly #views: Buffer[] = []

  constructor () {
    for (let n = 0; n <= SCRATCH_MAX; n++) this.#views.push(this.#buf.subarray(0, n))
  }

  view (buf: Buffer, start: number, length: number): Buffer {
    if (length > SCRATCH_MAX) return buf.subarray(start, start + length)
    const out = this.#buf
    for (let b = 0; b < length; b++) out[b] = buf[start + b]!
    return this.#views[length]!
  }
}
