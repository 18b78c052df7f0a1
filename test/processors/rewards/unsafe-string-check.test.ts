// The validation's allocation-free pre-check agrees with lib/safe-text.ts's unsafeStrings (which
// builds the paths the dead letter reports): on arbitrary JSON-like values, unsafe text included.
import t from 'tap'
import fc from 'fast-check'
import { unsafeStrings } from '../../../lib/safe-text.ts'
import { hasUnsafeString } from '../../../processors/rewards/validation.ts'

t.test('hasUnsafeString(v) is unsafeStrings(v).length > 0', async t => {
  const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('\u0000', 'a\u007f', '\ud800', 'ok\u0085', 'é'))
  const value = fc.letrec(tie => ({
    node: fc.oneof({ depthSize: 'small' }, text, fc.integer(), fc.constant(null), fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(text, tie('node'), { maxKeys: 4 }))
  })).node
  fc.assert(fc.property(value, v => hasUnsafeString(v) === (unsafeStrings(v).length > 0)), { numRuns: 5000 })
  t.pass('5000 values')
  t.equal(hasUnsafeString({ memberId: 'm1', nested: [{ ['k\u0001']: 1 }] }), true, 'an unsafe field name, nested')
  t.equal(hasUnsafeString({ memberId: 'm1', amountCents: 5, tags: ['a', 'b'] }), false)
})
