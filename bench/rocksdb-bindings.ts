// Compares the three RocksDB bindings for Node.js on the operations a state store does: batched
// writes at commit, point reads (awaited one by one, batched, and synchronous where the binding
// can), and range scans. Prints ops/s and each figure's ratio to the `rocksdb` (Level/leveldown)
// baseline measured in the same run.
//
//   node_modules/.bin/node bench/rocksdb-bindings.ts [keys] [rounds]   (default 200000 keys, 3 rounds)
//
// The bindings ship no TypeScript types; each is loaded with require() and described here by the
// few calls the benchmark makes. Every binding gets a fresh directory, the same keys (zero-padded,
// so byte order = numeric order) and the same ~100-byte values; reads go in a shuffled order so
// no binding profits from key locality the others do not get.

import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'

const require = createRequire(import.meta.url)

const KEYS = Number(process.argv[2] ?? 200_000)
/** Each binding is measured this many times, interleaved with the others; the table shows the
 *  median, so a burst of load from other processes on a shared machine does not decide it. */
const ROUNDS = Number(process.argv[3] ?? 3)
const BATCH = 1000
/** One awaited call per key is slow (~10k/s); a sample of this many keys is enough. */
const AWAITED_GETS = Math.min(KEYS, 20_000)
const VALUE_BYTES = 100

type Row = Record<string, number | undefined>

const OPERATIONS = ['put (batch of 1000)', 'get, 1 awaited call/key', 'get, batch of 1000', 'get, sync 1 key/call', 'get, sync batch of 1000', 'range scan (async)', 'range scan (sync)']

/** Operations the baseline lacks are compared with the baseline's nearest equivalent. */
const BASELINE_FALLBACK: Record<string, string> = {
  'get, sync 1 key/call': 'get, 1 awaited call/key',
  'get, sync batch of 1000': 'get, batch of 1000',
  'range scan (sync)': 'range scan (async)'
}

interface Binding {
  readonly name: string
  open (dir: string): Promise<void>
  putBatch (entries: ReadonlyArray<[Buffer, Buffer]>): Promise<void>
  getAwaited (key: Buffer): Promise<Buffer | undefined>
  getBatch (keys: Buffer[]): Promise<Array<Buffer | undefined>>
  /** Absent when the binding has no synchronous read. */
  getSync?: (key: Buffer) => Buffer | undefined
  getManySync?: (keys: Buffer[]) => Array<Buffer | undefined>
  /** Counts the entries of a full scan. */
  scan (): Promise<number>
  scanSync?: () => number
  close (): Promise<void>
}

// ---- rocksdb (Level's leveldown-style binding, abstract-leveldown 7, callbacks) ----------------
interface LevelDown {
  open (options: object, cb: (err?: Error | null) => void): void
  close (cb: (err?: Error | null) => void): void
  get (key: Buffer, options: object, cb: (err: Error | null | undefined, value?: Buffer) => void): void
  getMany (keys: Buffer[], options: object, cb: (err: Error | null | undefined, values?: Array<Buffer | undefined>) => void): void
  batch (ops: Array<{ type: 'put', key: Buffer, value: Buffer }>, cb: (err?: Error | null) => void): void
  iterator (options: object): {
    next (cb: (err: Error | null | undefined, key?: Buffer, value?: Buffer) => void): void
    end (cb: (err?: Error | null) => void): void
  }
}

function cb<T = void> (fn: (done: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))))
}

function levelBinding (): Binding {
  const leveldown = require('rocksdb') as (location: string) => LevelDown
  let db: LevelDown
  const buffers = { asBuffer: true }
  return {
    name: 'rocksdb 5.2.1',
    async open (dir) {
      db = leveldown(dir)
      await cb(done => db.open({ createIfMissing: true }, done))
    },
    putBatch: entries => cb(done => db.batch(entries.map(([key, value]) => ({ type: 'put', key, value })), done)),
    getAwaited: key => new Promise((resolve, reject) => db.get(key, buffers, (err, value) => {
      if (err && !/NotFound/i.test(err.message)) reject(err)
      else resolve(value)
    })),
    getBatch: keys => cb(done => db.getMany(keys, buffers, done)),
    async scan () {
      const it = db.iterator({ keyAsBuffer: true, valueAsBuffer: true })
      let n = 0
      for (;;) {
        const key = await new Promise<Buffer | undefined>((resolve, reject) => it.next((err, k) => (err ? reject(err) : resolve(k))))
        if (key === undefined) break
        n++
      }
      await cb(done => it.end(done))
      return n
    },
    close: () => cb(done => db.close(done))
  }
}

// ---- @nxtedition/rocksdb (abstract-level 1 + synchronous extras) -------------------------------
interface NxtIterator {
  nextv (size: number): Promise<Array<[Buffer, Buffer]>>
  _nextvSync (size: number): { rows: Buffer[], finished: boolean }
  close (): Promise<void>
}
interface NxtDb {
  open (): Promise<void>
  close (): Promise<void>
  get (key: Buffer): Promise<Buffer | undefined>
  getMany (keys: Buffer[]): Promise<Array<Buffer | undefined>>
  _getManySync (keys: Buffer[]): Array<Buffer | undefined>
  batch (ops: Array<{ type: 'put', key: Buffer, value: Buffer }>): Promise<void>
  iterator (options?: object): NxtIterator
}

function nxtBinding (): Binding {
  const { RocksLevel } = require('@nxtedition/rocksdb') as { RocksLevel: new (location: string, options: object) => NxtDb }
  let db: NxtDb
  return {
    name: '@nxtedition/rocksdb 12.2.12',
    async open (dir) {
      db = new RocksLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
      await db.open()
    },
    putBatch: entries => db.batch(entries.map(([key, value]) => ({ type: 'put', key, value }))),
    async getAwaited (key) {
      try {
        return await db.get(key)
      } catch (err) {
        if ((err as { code?: string }).code === 'LEVEL_NOT_FOUND') return undefined
        throw err
      }
    },
    getBatch: keys => db.getMany(keys),
    getSync: key => db._getManySync([key])[0],
    getManySync: keys => db._getManySync(keys),
    async scan () {
      const it = db.iterator()
      let n = 0
      for (;;) {
        const entries = await it.nextv(BATCH)
        if (entries.length === 0) break
        n += entries.length
      }
      await it.close()
      return n
    },
    scanSync () {
      const it = db.iterator()
      let n = 0
      for (;;) {
        const { rows, finished } = it._nextvSync(BATCH)
        n += rows.length / 2
        if (finished) break
      }
      void it.close()
      return n
    },
    close: () => db.close()
  }
}

// ---- rocksdb-native (Holepunch; read and write batches, streamx iterators) ---------------------
interface NativeBatch {
  put (key: Buffer, value: Buffer): void
  get (key: Buffer): Promise<Buffer | null>
  flush (): Promise<void>
  destroy (): void
}
interface NativeDb {
  ready (): Promise<void>
  close (): Promise<void>
  get (key: Buffer): Promise<Buffer | null>
  read (options?: object): NativeBatch
  write (options?: object): NativeBatch
  iterator (range?: object): AsyncIterable<{ key: Buffer, value: Buffer }>
}

function nativeBinding (): Binding {
  const RocksDB = require('rocksdb-native') as new (path: string) => NativeDb
  let db: NativeDb
  return {
    name: 'rocksdb-native 3.18.1',
    async open (dir) {
      db = new RocksDB(dir)
      await db.ready()
    },
    async putBatch (entries) {
      const w = db.write({ capacity: entries.length })
      for (const [key, value] of entries) w.put(key, value)
      await w.flush()
      w.destroy()
    },
    getAwaited: async key => (await db.get(key)) ?? undefined,
    async getBatch (keys) {
      const r = db.read({ capacity: keys.length })
      const pending = keys.map(key => r.get(key))
      await r.flush()
      r.destroy()
      return (await Promise.all(pending)).map(v => v ?? undefined)
    },
    async scan () {
      let n = 0
      for await (const _entry of db.iterator({})) n++
      return n
    },
    close: () => db.close()
  }
}

// ---- the run -----------------------------------------------------------------------------------
function key (i: number): Buffer {
  return Buffer.from(`member-${String(i).padStart(9, '0')}`)
}

function shuffled (n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const tmp = order[i]!
    order[i] = order[j]!
    order[j] = tmp
  }
  return order
}

async function timed (ops: number, fn: () => Promise<void> | void): Promise<number> {
  const start = process.hrtime.bigint()
  await fn()
  const ns = Number(process.hrtime.bigint() - start)
  return Math.round(ops / (ns / 1e9))
}

function check (condition: boolean, message: string): void {
  if (!condition) throw new Error(`benchmark self-check failed: ${message}`)
}

async function measure (binding: Binding, keys: Buffer[], values: Buffer[], readOrder: number[]): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-rocksdb-'))
  const row: Row = {}
  try {
    await binding.open(join(dir, 'db'))
    row['put (batch of 1000)'] = await timed(keys.length, async () => {
      for (let i = 0; i < keys.length; i += BATCH) {
        const entries: Array<[Buffer, Buffer]> = []
        for (let j = i; j < Math.min(i + BATCH, keys.length); j++) entries.push([keys[j]!, values[j]!])
        await binding.putBatch(entries)
      }
    })

    const awaitedOrder = readOrder.slice(0, AWAITED_GETS)
    row['get, 1 awaited call/key'] = await timed(awaitedOrder.length, async () => {
      for (const i of awaitedOrder) {
        const v = await binding.getAwaited(keys[i]!)
        check(v !== undefined && v.equals(values[i]!), `${binding.name} awaited get of key ${i}`)
      }
    })

    row['get, batch of 1000'] = await timed(readOrder.length, async () => {
      for (let i = 0; i < readOrder.length; i += BATCH) {
        const slice = readOrder.slice(i, i + BATCH)
        const got = await binding.getBatch(slice.map(k => keys[k]!))
        check(got.length === slice.length && got[0] !== undefined && got[0].equals(values[slice[0]!]!), `${binding.name} batched get`)
      }
    })

    const getSync = binding.getSync
    if (getSync) {
      row['get, sync 1 key/call'] = await timed(readOrder.length, () => {
        for (const i of readOrder) {
          const v = getSync(keys[i]!)
          check(v !== undefined && v.equals(values[i]!), `${binding.name} sync get of key ${i}`)
        }
      })
    }

    const getManySync = binding.getManySync
    if (getManySync) {
      row['get, sync batch of 1000'] = await timed(readOrder.length, () => {
        for (let i = 0; i < readOrder.length; i += BATCH) {
          const slice = readOrder.slice(i, i + BATCH)
          const got = getManySync(slice.map(k => keys[k]!))
          check(got.length === slice.length && got[0] !== undefined && got[0].equals(values[slice[0]!]!), `${binding.name} sync batched get`)
        }
      })
    }

    row['range scan (async)'] = await timed(keys.length, async () => {
      check(await binding.scan() === keys.length, `${binding.name} scan count`)
    })
    const scanSync = binding.scanSync
    if (scanSync) {
      row['range scan (sync)'] = await timed(keys.length, () => {
        check(scanSync() === keys.length, `${binding.name} sync scan count`)
      })
    }
    await binding.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return row
}

async function main (): Promise<void> {
  const keys = Array.from({ length: KEYS }, (_, i) => key(i))
  const values = keys.map(() => randomBytes(VALUE_BYTES / 2).toString('hex')).map(s => Buffer.from(s))
  const readOrder = shuffled(KEYS)
  console.log(`RocksDB bindings, ${KEYS} keys, ${VALUE_BYTES}-byte values, Node ${process.version}, ${process.platform}/${process.arch}`)
  console.log(`(awaited gets: ${AWAITED_GETS} keys; all other reads: every key, shuffled order; median of ${ROUNDS} interleaved rounds)\n`)

  try {
    require.resolve('rocksdb')
  } catch {
    // Not a dependency of the project: it builds RocksDB from source on install (many minutes on
    // 2 cores), which every CI run would pay for a benchmark that is run by hand.
    console.error('The baseline binding `rocksdb` is not installed. Run `npm install --no-save rocksdb@5.2.1 rocksdb-native@3.18.1` first.')
    process.exit(1)
  }
  const bindings = [levelBinding(), nxtBinding(), nativeBinding()]
  const runs = new Map<string, Row[]>(bindings.map(b => [b.name, []]))
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round: no binding always runs first (cold) or last.
    for (let b = 0; b < bindings.length; b++) {
      const binding = bindings[(b + round) % bindings.length]!
      runs.get(binding.name)!.push(await measure(binding, keys, values, readOrder))
    }
  }
  const median = (xs: number[]): number => {
    const sorted = [...xs].sort((a, b) => a - b)
    return sorted[Math.floor(sorted.length / 2)]!
  }
  const rows = new Map<string, Row>([...runs].map(([name, rs]) => [name, Object.fromEntries(OPERATIONS
    .filter(op => rs[0]![op] !== undefined)
    .map(op => [op, median(rs.map(r => r[op]!))]))]))

  const operations = OPERATIONS.filter(op => [...rows.values()].some(r => r[op] !== undefined))
  const baseline = rows.get(bindings[0]!.name)!
  const header = ['operation (ops/s)', ...bindings.map(b => b.name)]
  const table = operations.map(op => [op, ...bindings.map(b => {
    const value = rows.get(b.name)![op]
    if (value === undefined) return 'n/a'
    const base = baseline[op] ?? baseline[BASELINE_FALLBACK[op] ?? '']
    const ratio = base ? ` (${(value / base).toFixed(2)}x)` : ''
    return `${value.toLocaleString('en-US')}${ratio}`
  })])
  const widths = header.map((h, c) => Math.max(h.length, ...table.map(r => r[c]!.length)))
  const line = (cells: string[]): string => '| ' + cells.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ') + ' |'
  console.log(line(header))
  console.log('|' + widths.map(w => '-'.repeat(w + 2)).join('|') + '|')
  for (const r of table) console.log(line(r))
  console.log('\nratio = ops/s / ops/s of rocksdb 5.2.1 (the Level baseline) in this run; n/a = the binding has no such call')
  console.log('Level has no synchronous calls: sync ops are compared with its nearest async op (1 key: awaited get; batch: getMany; scan: async scan)')
}

await main()
