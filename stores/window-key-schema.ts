// Byte layouts of the window and session stores (docs/engine.md "Windows"). Both live in one
// ordered key-value store each, so they reuse the key-value stores' layers unchanged: write cache,
// changelog, checkpoint, restore, standbys, metrics. Two key families per store:
//
//   window data    0x00 | u32 keyLength | key | time(windowStart)
//   window index   0x01 | time(windowStart) | u32 keyLength | key           (value: empty)
//   session data   0x00 | u32 keyLength | key | time(sessionEnd) | time(sessionStart)
//   session index  0x01 | time(sessionEnd) | u32 keyLength | key | time(sessionStart)
//
// The data family makes "one key over a time range" a single ordered range scan (the length
// prefix keeps a key that is a prefix of another out of its range); the index family orders every
// window by time, so retention drops the oldest windows with one ordered scan from the start
// (Kafka Streams drops whole segments; docs/engine.md lists the difference) and a query over all
// keys in a time range reads only that range.
//
// time(t): the ms timestamp as a signed 64-bit big-endian integer with its sign bit flipped, so
// byte order equals numeric order for negative timestamps too. Timestamps must be safe integers.

export const DATA = 0x00
export const INDEX = 0x01
export const TIME_BYTES = 8
const TWO_32 = 0x1_0000_0000

export const MIN_TIME = Number.MIN_SAFE_INTEGER
export const MAX_TIME = Number.MAX_SAFE_INTEGER

export function writeTime (buf: Buffer, offset: number, t: number): void {
  const hi = Math.floor(t / TWO_32)
  buf.writeUInt32BE((hi + 0x8000_0000) >>> 0, offset)
  buf.writeUInt32BE(t - hi * TWO_32, offset + 4)
}

export function readTime (buf: Buffer, offset: number): number {
  return (buf.readUInt32BE(offset) - 0x8000_0000) * TWO_32 + buf.readUInt32BE(offset + 4)
}

function checkTime (t: number): void {
  if (!Number.isSafeInteger(t)) throw new RangeError(`window time must be a safe integer (ms), got ${t}`)
}

/** 0x00 | len | key | times… */
export function dataKey (key: Buffer, ...times: number[]): Buffer {
  const out = Buffer.allocUnsafe(1 + 4 + key.length + TIME_BYTES * times.length)
  out[0] = DATA
  out.writeUInt32BE(key.length, 1)
  key.copy(out, 5)
  let at = 5 + key.length
  for (const t of times) { checkTime(t); writeTime(out, at, t); at += TIME_BYTES }
  return out
}

/** 0x01 | time(first) | len | key | times after the first… */
export function indexKey (key: Buffer, first: number, ...rest: number[]): Buffer {
  checkTime(first)
  const out = Buffer.allocUnsafe(1 + TIME_BYTES + 4 + key.length + TIME_BYTES * rest.length)
  out[0] = INDEX
  writeTime(out, 1, first)
  out.writeUInt32BE(key.length, 1 + TIME_BYTES)
  key.copy(out, 1 + TIME_BYTES + 4)
  let at = 1 + TIME_BYTES + 4 + key.length
  for (const t of rest) { checkTime(t); writeTime(out, at, t); at += TIME_BYTES }
  return out
}

/** The smallest index key at time t (every index entry at t or later sorts after it). */
export function indexBound (t: number): Buffer {
  const out = Buffer.allocUnsafe(1 + TIME_BYTES)
  out[0] = INDEX
  writeTime(out, 1, Math.max(MIN_TIME, Math.min(MAX_TIME, t)))
  return out
}

/** Past every index key. */
export const INDEX_END = Buffer.from([INDEX + 1])

export interface DecodedData {
  readonly key: Buffer
  readonly times: number[]
}

export function decodeData (bytes: Buffer, timeCount: number): DecodedData {
  const length = bytes.readUInt32BE(1)
  const key = bytes.subarray(5, 5 + length)
  const times: number[] = []
  for (let i = 0, at = 5 + length; i < timeCount; i++, at += TIME_BYTES) times.push(readTime(bytes, at))
  return { key, times }
}

export function decodeIndex (bytes: Buffer, timeCount: number): DecodedData {
  const first = readTime(bytes, 1)
  const length = bytes.readUInt32BE(1 + TIME_BYTES)
  const start = 1 + TIME_BYTES + 4
  const key = bytes.subarray(start, start + length)
  const times = [first]
  for (let i = 1, at = start + length; i < timeCount; i++, at += TIME_BYTES) times.push(readTime(bytes, at))
  return { key, times }
}

/** Clamps a query bound to the representable range. */
export function clampTime (t: number): number {
  return Math.max(MIN_TIME, Math.min(MAX_TIME, Math.trunc(t)))
}
