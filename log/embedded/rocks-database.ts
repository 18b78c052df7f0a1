// A typed view of the few @nxtedition/rocksdb calls the embedded log uses (the package ships no
// type declarations). Writes go through a chained batch written with `_writeSync`: the binding
// writes synchronously on the calling thread, so a batch either throws or is durable when the
// call returns (with sync: true the WAL is fsync'd first), and no other JavaScript can run
// between the checks made before a write and the write itself.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

export interface RocksChainedBatch {
  put (key: Buffer, value: Buffer): void
  del (key: Buffer): void
  readonly length: number
  _writeSync (options: { sync: boolean }): void
  close (): Promise<void>
}

export interface RocksIterator {
  nextv (size: number): Promise<Array<[Buffer, Buffer]>>
  close (): Promise<void>
}

export interface RocksRange {
  gt?: Buffer
  gte?: Buffer
  lt?: Buffer
  lte?: Buffer
  limit?: number
  reverse?: boolean
}

export interface RocksDatabase {
  readonly status: string
  open (options: { createIfMissing: boolean }): Promise<void>
  close (): Promise<void>
  batch (): RocksChainedBatch
  iterator (options: RocksRange & { keys?: boolean, values?: boolean }): RocksIterator
  clear (options: RocksRange): Promise<void>
}

type RocksLevelConstructor = new (location: string, options: { keyEncoding: 'buffer', valueEncoding: 'buffer' }) => RocksDatabase

const { RocksLevel } = require('@nxtedition/rocksdb') as { RocksLevel: RocksLevelConstructor }

export function createRocksDatabase (location: string): RocksDatabase {
  return new RocksLevel(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
}

/** Every entry of a key range, read in chunks (asynchronously, off the event loop). */
export async function readRange (db: RocksDatabase, range: RocksRange, chunk = 1000): Promise<Array<[Buffer, Buffer]>> {
  const iterator = db.iterator(range)
  try {
    const out: Array<[Buffer, Buffer]> = []
    for (;;) {
      const entries = await iterator.nextv(chunk)
      if (entries.length === 0) return out
      for (const entry of entries) out.push(entry)
      if (range.limit !== undefined && range.limit >= 0 && out.length >= range.limit) return out
    }
  } finally {
    await iterator.close()
  }
}
