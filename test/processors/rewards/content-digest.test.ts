// canonicalJson: object keys sorted at every level, undefined members left out, arrays in order.
// Checked against the straightforward definition it was rewritten from (for speed), on arbitrary
// JSON-like values, and on the fixed example the API's conflict check relies on.
import t from 'tap'
import fc from 'fast-check'
import { createHash } from 'node:crypto'
import { canonicalJson, contentDigest } from '../../../processors/rewards/content-digest.ts'

function reference (value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`
}

t.test('agrees with the definition on arbitrary values', async t => {
  fc.assert(fc.property(fc.anything({ withObjectString: true, withNullPrototype: true }), v => reference(v) === canonicalJson(v)), { numRuns: 5000 })
  t.pass('5000 values')
})

t.test('key order and undefined members do not change the digest', async t => {
  const a = { type: 'EARN', eventId: 'e1', amountCents: 100, nested: { b: 1, a: [2, { y: 1, x: 0 }] } }
  const b = { nested: { a: [2, { x: 0, y: 1 }], b: 1 }, amountCents: 100, eventId: 'e1', type: 'EARN', gone: undefined }
  t.equal(canonicalJson(a), '{"amountCents":100,"eventId":"e1","nested":{"a":[2,{"x":0,"y":1}],"b":1},"type":"EARN"}')
  t.equal(contentDigest(a), contentDigest(b))
  t.not(contentDigest(a), contentDigest({ ...a, amountCents: 101 }))
})

t.test('the digest is sha256 of the canonical JSON in UTF-8, base64url (what stored entries hold)', async t => {
  const value = { memberId: 'm-ü', note: 'ä€😀', amountCents: 1 }
  t.equal(contentDigest(value), `sha256:${createHash('sha256').update(Buffer.from(canonicalJson(value), 'utf8')).digest('base64url')}`)
  t.equal(contentDigest({ a: 1 }), 'sha256:AVq9f1zFei3ZS3WQ8ErYCEJzkF7jPsXOvq5iJ2qX-GI')
})
