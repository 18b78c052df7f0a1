// The records of a foreign-key join's internal topics and subscription store (docs/engine.md
// "Foreign-key table joins"; Kafka Streams' SubscriptionWrapper, CombinedKey and
// SubscriptionResponseWrapper, KIP-213). Byte layouts are this engine's own: only this engine
// reads its internal topics, and the leading format byte lets a later layout coexist.
import { createHash } from 'node:crypto'
import { StreamsError } from '../streams-error.ts'
import type { Serde } from '../serdes.ts'

/** What the right side does with a subscription (Kafka Streams' SubscriptionWrapper.Instruction). */
export const Instruction = {
  /** The left row moved to another foreign key: forget it here, its new key answers. */
  DELETE_KEY_NO_PROPAGATE: 0,
  /** The left row was deleted: forget it and answer with no right value (the result goes). */
  DELETE_KEY_AND_PROPAGATE: 1,
  /** Remember it and answer, with no right value when the foreign key has no row. */
  PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE: 2,
  /** Remember it; answer only when the foreign key has a row (a new row of an inner join). */
  PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE: 3
} as const
export type Instruction = typeof Instruction[keyof typeof Instruction]

/** A left row's subscription to a foreign key: who (primaryKey), which version of its value
 *  (hash; null for a deleted row) and what to do. */
export interface Subscription<K> {
  readonly hash: Buffer | null
  readonly instruction: Instruction
  readonly primaryKey: K
}

/** The right side's answer to a left row: its foreign key's row (null: none) for the left value
 *  whose hash it carries. */
export interface SubscriptionResponse<VO> {
  readonly hash: Buffer | null
  readonly foreignValue: VO | null
}

/** The subscription store's key: the foreign key first, so that a prefix scan finds every left
 *  row subscribed to one foreign key. primaryKey undefined serializes only the prefix. */
export interface CombinedKey<KO, K> {
  readonly foreignKey: KO
  readonly primaryKey: K | undefined
}

/** The hash of a left value (its serialized bytes) that makes stale responses recognizable. */
export function valueHash<V> (serde: Serde<V>, value: V | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null
  return createHash('md5').update(serde.serialize(value)).digest()
}

export function sameHash (a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b)
}

const FORMAT = 1

function fail (what: string, bytes: Buffer): never {
  throw new StreamsError('SERDE_ERROR', `not a foreign-key join ${what} record (${bytes.length} bytes, format ${bytes.length > 0 ? bytes.readUInt8(0) : 'none'})`)
}

/** [format][instruction][hash length (0: none)][hash][primary key bytes]. */
export function subscriptionSerde<K> (keySerde: Serde<K>): Serde<Subscription<K>> {
  return {
    serialize (s) {
      const hash = s.hash ?? Buffer.alloc(0)
      return Buffer.concat([Buffer.from([FORMAT, s.instruction, hash.length]), hash, keySerde.serialize(s.primaryKey)])
    },
    deserialize (bytes) {
      if (bytes.length < 3 || bytes.readUInt8(0) !== FORMAT) fail('subscription', bytes)
      const instruction = bytes.readUInt8(1) as Instruction
      const hashLength = bytes.readUInt8(2)
      if (instruction > 3 || 3 + hashLength > bytes.length) fail('subscription', bytes)
      return {
        instruction,
        hash: hashLength === 0 ? null : Buffer.from(bytes.subarray(3, 3 + hashLength)),
        primaryKey: keySerde.deserialize(bytes.subarray(3 + hashLength))
      }
    }
  }
}

/** [format][hash length (0: none)][hash][1: foreign value follows, 0: none][foreign value bytes]. */
export function responseSerde<VO> (foreignValueSerde: Serde<VO>): Serde<SubscriptionResponse<VO>> {
  return {
    serialize (r) {
      const hash = r.hash ?? Buffer.alloc(0)
      const value = r.foreignValue === null ? null : foreignValueSerde.serialize(r.foreignValue)
      return Buffer.concat([Buffer.from([FORMAT, hash.length]), hash, Buffer.from([value === null ? 0 : 1]), value ?? Buffer.alloc(0)])
    },
    deserialize (bytes) {
      if (bytes.length < 3 || bytes.readUInt8(0) !== FORMAT) fail('response', bytes)
      const hashLength = bytes.readUInt8(1)
      if (2 + hashLength + 1 > bytes.length) fail('response', bytes)
      const hasValue = bytes.readUInt8(2 + hashLength) === 1
      return {
        hash: hashLength === 0 ? null : Buffer.from(bytes.subarray(2, 2 + hashLength)),
        foreignValue: hasValue ? foreignValueSerde.deserialize(bytes.subarray(3 + hashLength)) : null
      }
    }
  }
}

/** [foreign key length, uint32 BE][foreign key bytes][primary key bytes]: every key of one
 *  foreign key shares the prefix written for a CombinedKey without primary key. */
export function combinedKeySerde<KO, K> (foreignKeySerde: Serde<KO>, keySerde: Serde<K>): Serde<CombinedKey<KO, K>> {
  return {
    serialize (c) {
      const fk = foreignKeySerde.serialize(c.foreignKey)
      const head = Buffer.alloc(4)
      head.writeUInt32BE(fk.length, 0)
      return Buffer.concat([head, fk, c.primaryKey === undefined ? Buffer.alloc(0) : keySerde.serialize(c.primaryKey)])
    },
    deserialize (bytes) {
      if (bytes.length < 4) fail('subscription key', bytes)
      const fkLength = bytes.readUInt32BE(0)
      if (4 + fkLength > bytes.length) fail('subscription key', bytes)
      return {
        foreignKey: foreignKeySerde.deserialize(bytes.subarray(4, 4 + fkLength)),
        primaryKey: keySerde.deserialize(bytes.subarray(4 + fkLength))
      }
    }
  }
}
