// A strict little binary codec for the assignment metadata (subscription and assignment userData).
// Every read is bounds-checked, strings must be valid UTF-8, counts must fit in what is left, and
// decoding must consume the whole buffer, lists are in their one canonical order: garbage is rejected with an AssignmentCodecError instead
// of turning into a wrong assignment. Integers are big-endian, like Kafka's own protocol.
import { compareTaskIds, parseTaskId, taskId, type TaskId } from './task-ids.ts'

/** "RS": the first two bytes of every encoded subscription or assignment. The legacy (version 1)
 *  JSON encoding of co-partition-assignor.ts starts with "{" instead. */
export const MAGIC = 0x5253
export const KIND_SUBSCRIPTION = 1
export const KIND_ASSIGNMENT = 2
const MAX_STRING_BYTES = 1024

export class AssignmentCodecError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'AssignmentCodecError'
  }
}

export class Writer {
  readonly #chunks: Buffer[] = []

  u8 (value: number): this {
    const b = Buffer.alloc(1)
    b.writeUInt8(value)
    this.#chunks.push(b)
    return this
  }

  u16 (value: number): this {
    const b = Buffer.alloc(2)
    b.writeUInt16BE(value)
    this.#chunks.push(b)
    return this
  }

  u32 (value: number): this {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(value)
    this.#chunks.push(b)
    return this
  }

  i64 (value: bigint): this {
    const b = Buffer.alloc(8)
    b.writeBigInt64BE(value)
    this.#chunks.push(b)
    return this
  }

  string (value: string): this {
    const bytes = Buffer.from(value, 'utf8')
    if (bytes.length > MAX_STRING_BYTES) throw new AssignmentCodecError(`string of ${bytes.length} bytes is longer than ${MAX_STRING_BYTES}`)
    this.u16(bytes.length)
    this.#chunks.push(bytes)
    return this
  }

  nullableString (value: string | null): this {
    if (value === null) return this.u8(0)
    return this.u8(1).string(value)
  }

  task (id: TaskId): this {
    const parsed = parseTaskId(id)
    if (parsed === null) throw new AssignmentCodecError(`not a task id: ${JSON.stringify(id)}`)
    return this.u32(parsed[0]).u32(parsed[1])
  }

  tasks (ids: readonly TaskId[]): this {
    this.u32(ids.length)
    for (const id of ids) this.task(id)
    return this
  }

  toBuffer (): Buffer {
    return Buffer.concat(this.#chunks)
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

export class Reader {
  readonly #buffer: Buffer
  #offset = 0

  constructor (buffer: Buffer) {
    this.#buffer = buffer
  }

  get remaining (): number {
    return this.#buffer.length - this.#offset
  }

  #need (bytes: number, what: string): void {
    if (this.remaining < bytes) throw new AssignmentCodecError(`truncated: ${what} needs ${bytes} bytes at offset ${this.#offset}, ${this.remaining} left`)
  }

  u8 (what: string): number {
    this.#need(1, what)
    return this.#buffer.readUInt8(this.#offset++)
  }

  u16 (what: string): number {
    this.#need(2, what)
    const value = this.#buffer.readUInt16BE(this.#offset)
    this.#offset += 2
    return value
  }

  u32 (what: string): number {
    this.#need(4, what)
    const value = this.#buffer.readUInt32BE(this.#offset)
    this.#offset += 4
    return value
  }

  i64 (what: string): bigint {
    this.#need(8, what)
    const value = this.#buffer.readBigInt64BE(this.#offset)
    this.#offset += 8
    return value
  }

  string (what: string): string {
    const length = this.u16(`${what} length`)
    if (length > MAX_STRING_BYTES) throw new AssignmentCodecError(`${what}: ${length} bytes is longer than ${MAX_STRING_BYTES}`)
    this.#need(length, what)
    let text: string
    try {
      text = utf8.decode(this.#buffer.subarray(this.#offset, this.#offset + length))
    } catch {
      throw new AssignmentCodecError(`${what} is not valid UTF-8`)
    }
    this.#offset += length
    return text
  }

  nullableString (what: string): string | null {
    const present = this.u8(`${what} presence`)
    if (present === 0) return null
    if (present !== 1) throw new AssignmentCodecError(`${what}: presence byte ${present} is neither 0 nor 1`)
    return this.string(what)
  }

  /** A count of items of at least `itemBytes` each, checked against what is left. */
  count (what: string, itemBytes: number): number {
    const n = this.u32(`${what} count`)
    if (n * itemBytes > this.remaining) throw new AssignmentCodecError(`${what}: count ${n} does not fit in the ${this.remaining} bytes left`)
    return n
  }

  task (what: string): TaskId {
    const sub = this.u32(`${what} sub-topology`)
    const partition = this.u32(`${what} partition`)
    if (sub > 999_999_999 || partition > 999_999_999) throw new AssignmentCodecError(`${what}: task ${sub}_${partition} is out of range`)
    return taskId(sub, partition)
  }

  /** A list of distinct task ids in ascending order (the one encoding of a set: anything else was
   *  not written by this codec). */
  tasks (what: string): TaskId[] {
    const n = this.count(what, 8)
    const ids: TaskId[] = []
    for (let i = 0; i < n; i++) {
      const id = this.task(what)
      if (i > 0 && compareTaskIds(ids[i - 1]!, id) >= 0) throw new AssignmentCodecError(`${what}: task ${id} is out of order or listed twice`)
      ids.push(id)
    }
    return ids
  }

  end (what: string): void {
    if (this.remaining !== 0) throw new AssignmentCodecError(`${what}: ${this.remaining} unexpected bytes after the end`)
  }
}

export interface Header {
  readonly kind: number
  readonly version: number
  readonly latestSupportedVersion: number
}

export function writeHeader (w: Writer, header: Header): Writer {
  return w.u16(MAGIC).u8(header.kind).u16(header.version).u16(header.latestSupportedVersion)
}

export function readHeader (r: Reader, expectedKind: number): Header {
  const magic = r.u16('magic')
  if (magic !== MAGIC) throw new AssignmentCodecError(`bad magic 0x${magic.toString(16).padStart(4, '0')}`)
  const kind = r.u8('kind')
  if (kind !== expectedKind) throw new AssignmentCodecError(`kind ${kind}, expected ${expectedKind}`)
  const version = r.u16('version')
  const latestSupportedVersion = r.u16('latest supported version')
  if (latestSupportedVersion < version) throw new AssignmentCodecError(`latest supported version ${latestSupportedVersion} is below version ${version}`)
  return { kind, version, latestSupportedVersion }
}

/** A host:port endpoint ("[::1]:8080" for IPv6). */
export function isEndpoint (value: string): boolean {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(value)
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535
}
