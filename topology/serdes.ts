// Serdes turn keys and values into bytes and back. Only the outer (typed) store layer and the
// source/sink nodes know them; everything below works on Buffers.
import { StreamsError } from './streams-error.ts'

export interface Serde<T> {
  serialize (value: T): Buffer
  deserialize (bytes: Buffer): T
  /** The users of the decoded values never mutate them, so a state store may hand the same
   *  object to every read of the same bytes instead of decoding again (stores/typed-key-value-store.ts). */
  readonly immutableValues?: boolean
  /** The latin1 string of serialize(value)'s bytes when it can be had without serializing
   *  (undefined: serialize). The caching store keys its maps by that string: a string key that is
   *  ASCII is its own id, so a store read of a key found in memory allocates nothing
   *  (stores/typed-key-value-store.ts). */
  latin1Id? (value: T): string | undefined
}

/** `value` when every char is ASCII: its UTF-8 bytes, read as latin1, are the string itself. */
function asciiId (value: string): string | undefined {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return undefined
  return value
}

export const Serdes = {
  string (): Serde<string> {
    return { serialize: v => Buffer.from(v, 'utf8'), deserialize: b => b.toString('utf8'), immutableValues: true, latin1Id: asciiId }
  },
  bytes (): Serde<Buffer> {
    return { serialize: v => v, deserialize: b => b }
  },
  /** JSON with bigint written as a string would be lossy; values must be plain JSON.
   *  `immutableValues`: see Serde (the caller promises never to mutate a decoded value). */
  json<T> (options: { immutableValues?: boolean } = {}): Serde<T> {
    return {
      immutableValues: options.immutableValues === true,
      // A number (a count, a sum) is JSON.stringify's text of it, ASCII: latin1 skips UTF-8.
      serialize: v => typeof v === 'number' ? Buffer.from(Number.isFinite(v) ? String(v) : 'null', 'latin1') : Buffer.from(JSON.stringify(v), 'utf8'),
      deserialize: b => {
        try {
          return JSON.parse(b.toString('utf8')) as T
        } catch (cause) {
          throw new StreamsError('SERDE_ERROR', 'Value is not valid JSON', { cause })
        }
      }
    }
  },
  /** Raw bytes, null allowed (missing key, tombstone): see bytesOrNullSerde. */
  bytesOrNull (): Serde<Buffer | null> {
    return bytesOrNullSerde()
  },
  /** Signed 64-bit big-endian, like Kafka's LongSerializer. */
  long (): Serde<bigint> {
    return {
      serialize: v => { const b = Buffer.alloc(8); b.writeBigInt64BE(v); return b },
      deserialize: b => {
        if (b.length !== 8) throw new StreamsError('SERDE_ERROR', `long needs 8 bytes, got ${b.length}`)
        return b.readBigInt64BE()
      }
    }
  }
} as const

/** Raw bytes that may be null (a record without key or a tombstone): for processors that must see
 *  the input exactly as it arrived (validation, dead-letter topics). */
export function bytesOrNullSerde (): Serde<Buffer | null> {
  return { serialize: v => v as Buffer, deserialize: b => b }
}
