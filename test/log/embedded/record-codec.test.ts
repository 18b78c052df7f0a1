import fc from 'fast-check'
import t from 'tap'
import { decodeRecord, encodeRecord, recordKeyIdentity } from '../../../log/embedded/record-codec.ts'

t.test('a stored record decodes to what was encoded (null key/value, headers, timestamp)', async t => {
  const bytes = fc.option(fc.uint8Array({ maxLength: 64 }).map(a => Buffer.from(a)), { nil: null })
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 2 ** 47 }),
    bytes,
    bytes,
    fc.dictionary(fc.string({ maxLength: 12 }), fc.uint8Array({ maxLength: 16 }).map(a => Buffer.from(a)), { maxKeys: 4 }),
    (timestamp, key, value, headers) => {
      const encoded = encodeRecord({ timestamp, key, value, headers })
      const decoded = decodeRecord(encoded)
      t.same(decoded, { timestamp, key, value, headers })
      t.equal(recordKeyIdentity(encoded), key === null ? null : key.toString('latin1'))
    }
  ), { numRuns: 200 })
})

t.test('a header named __proto__ stays a header', async t => {
  const headers = JSON.parse('{"__proto__": [1]}') as Record<string, unknown>
  headers['__proto__'] = Buffer.from('x')
  const decoded = decodeRecord(encodeRecord({ timestamp: 1, key: null, value: null, headers: headers as Record<string, Buffer> }))
  t.same(Object.keys(decoded.headers), ['__proto__'])
  t.equal(Object.getPrototypeOf(decoded.headers), Object.prototype)
})
