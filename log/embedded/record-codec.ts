// Binary encoding of one stored record (the value under its 'R' key; topic, partition and
// offset are in the key). Layout, big-endian:
//   u8 version (1) | f64 timestamp | i32 key length (-1 = null) | key | i32 value length (-1 =
//   null) | value | u32 header count | per header: u32 name length | name (utf8) | u32 value
//   length | value
import type { Headers } from '../log-port.ts'

const VERSION = 1

export interface StoredRecord {
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: Headers
}

export function encodeRecord (record: StoredRecord): Buffer {
  const headerEntries = Object.entries(record.headers)
  let size = 1 + 8 + 4 + (record.key?.length ?? 0) + 4 + (record.value?.length ?? 0) + 4
  const names: Buffer[] = []
  for (const [name, value] of headerEntries) {
    const nameBytes = Buffer.from(name, 'utf8')
    names.push(nameBytes)
    size += 4 + nameBytes.length + 4 + value.length
  }
  const out = Buffer.allocUnsafe(size)
  let at = out.writeUInt8(VERSION, 0)
  at = out.writeDoubleBE(record.timestamp, at)
  at = writeNullable(out, at, record.key)
  at = writeNullable(out, at, record.value)
  at = out.writeUInt32BE(headerEntries.length, at)
  for (let i = 0; i < headerEntries.length; i++) {
    const nameBytes = names[i]!
    const value = headerEntries[i]![1]
    at = out.writeUInt32BE(nameBytes.length, at)
    out.set(nameBytes, at)
    at += nameBytes.length
    at = out.writeUInt32BE(value.length, at)
    out.set(value, at)
    at += value.length
  }
  return out
}

export function decodeRecord (data: Buffer): StoredRecord {
  const version = data.readUInt8(0)
  if (version !== VERSION) throw new Error(`Unknown embedded log record version ${version}`)
  const timestamp = data.readDoubleBE(1)
  let at = 9
  const key = readNullable(data, at)
  at = key.next
  const value = readNullable(data, at)
  at = value.next
  const count = data.readUInt32BE(at)
  at += 4
  const headers: Record<string, Buffer> = {}
  for (let i = 0; i < count; i++) {
    const nameLength = data.readUInt32BE(at)
    at += 4
    const name = data.toString('utf8', at, at + nameLength)
    at += nameLength
    const valueLength = data.readUInt32BE(at)
    at += 4
    const headerValue = Buffer.from(data.subarray(at, at + valueLength))
    // defineProperty: a header named "__proto__" must stay a plain entry.
    if (name === '__proto__') Object.defineProperty(headers, name, { value: headerValue, enumerable: true, writable: true, configurable: true })
    else headers[name] = headerValue
    at += valueLength
  }
  return { timestamp, key: key.bytes, value: value.bytes, headers }
}

function writeNullable (out: Buffer, at: number, bytes: Buffer | null): number {
  if (bytes === null) return out.writeInt32BE(-1, at)
  at = out.writeInt32BE(bytes.length, at)
  out.set(bytes, at) // set(), not copy(): a plain Uint8Array works too
  return at + bytes.length
}

function readNullable (data: Buffer, at: number): { bytes: Buffer | null, next: number } {
  const length = data.readInt32BE(at)
  if (length < 0) return { bytes: null, next: at + 4 }
  return { bytes: Buffer.from(data.subarray(at + 4, at + 4 + length)), next: at + 4 + length }
}

/** The record key only (for compaction), as a string usable as a Map key; null for a null key. */
export function recordKeyIdentity (data: Buffer): string | null {
  const length = data.readInt32BE(9)
  if (length < 0) return null
  return data.toString('latin1', 13, 13 + length)
}
