// The Kafka client's varint and zigzag code (@platformatic/dynamic-buffer, patched at install:
// docs/decisions/0008-kafka-client-varint-patch.md) against a reference encoder written from the
// Kafka protocol's definition (unsigned LEB128 of the zigzag value; 32-bit for lengths and offset
// deltas, 64-bit for timestamp deltas), on the edges (negative values, 2^31, 2^53, 2^63 - 1,
// -2^63) and on random values (fast-check).
import t from 'tap'
import fc from 'fast-check'
import { DynamicBuffer } from '@platformatic/dynamic-buffer'

function referenceUnsigned (value: bigint): Buffer {
  const bytes: number[] = []
  let rest = value
  while (rest > 0x7fn) {
    bytes.push(Number(rest & 0x7fn) | 0x80)
    rest >>= 7n
  }
  bytes.push(Number(rest))
  return Buffer.from(bytes)
}
const zigzag64 = (value: bigint): bigint => value >= 0n ? value * 2n : -value * 2n - 1n
const zigzag32 = (value: number): bigint => zigzag64(BigInt(value))

const written = (write: (buffer: DynamicBuffer) => void): Buffer => {
  const buffer = new DynamicBuffer()
  write(buffer)
  return buffer.slice()
}

const INT64_EDGES = [0n, 1n, -1n, 63n, -64n, 64n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), 2n ** 32n, 2n ** 32n + 1n, -(2n ** 32n), 2n ** 53n, -(2n ** 53n), 30n * 86_400_000n, 400n * 86_400_000n, -400n * 86_400_000n, 2n ** 63n - 1n, -(2n ** 63n)]
const INT32_EDGES = [0, 1, -1, 63, -64, 2 ** 28, 2 ** 30, 2 ** 31 - 1, -(2 ** 31), -(2 ** 30) - 1]

t.test('64-bit zigzag varints: the reference bytes, read back unchanged', async t => {
  const check = (value: bigint): void => {
    const bytes = written(b => b.writeVarInt64(value))
    t.same(bytes, referenceUnsigned(zigzag64(value)), `writeVarInt64(${value}) is the reference encoding`)
    const [read, length] = new DynamicBuffer(bytes).readVarInt64(0)
    t.equal(read, value, `readVarInt64 returns ${value}`)
    t.equal(length, bytes.length, 'and consumes every byte')
  }
  for (const value of INT64_EDGES) check(value)
  fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), value => {
    const bytes = written(b => b.writeVarInt64(value))
    return bytes.equals(referenceUnsigned(zigzag64(value))) && new DynamicBuffer(bytes).readVarInt64(0)[0] === value
  }), { numRuns: 20_000 })
})

t.test('64-bit unsigned varints: every value below 2^64', async t => {
  for (const value of [0n, 127n, 128n, 2n ** 32n, 2n ** 32n + 1n, 2n ** 35n, 2n ** 63n, 2n ** 64n - 1n]) {
    const bytes = written(b => b.writeUnsignedVarInt64(value))
    t.same(bytes, referenceUnsigned(value), `writeUnsignedVarInt64(${value})`)
    t.equal(new DynamicBuffer(bytes).readUnsignedVarInt64(0)[0], value, 'reads back')
  }
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), value => {
    const bytes = written(b => b.writeUnsignedVarInt64(value))
    return bytes.equals(referenceUnsigned(value)) && new DynamicBuffer(bytes).readUnsignedVarInt64(0)[0] === value
  }), { numRuns: 20_000 })
})

t.test('32-bit zigzag varints: the whole int32 range', async t => {
  for (const value of INT32_EDGES) {
    const bytes = written(b => b.writeVarInt(value))
    t.same(bytes, referenceUnsigned(zigzag32(value)), `writeVarInt(${value}) is the reference encoding`)
    t.equal(new DynamicBuffer(bytes).readVarInt(0)[0], value, `readVarInt returns ${value}`)
  }
  fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), value => {
    const bytes = written(b => b.writeVarInt(value))
    return bytes.equals(referenceUnsigned(zigzag32(value))) && new DynamicBuffer(bytes).readVarInt(0)[0] === value
  }), { numRuns: 20_000 })
})

t.test('32-bit unsigned varints up to 2^32 - 1 read back unsigned', async t => {
  for (const value of [0, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1]) {
    const bytes = written(b => b.writeUnsignedVarInt(value))
    t.same(bytes, referenceUnsigned(BigInt(value)), `writeUnsignedVarInt(${value})`)
    t.equal(new DynamicBuffer(bytes).readUnsignedVarInt(0)[0], value, 'reads back unsigned')
  }
})
