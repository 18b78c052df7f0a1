// SortedIds (the caching layer's ordered index of unapplied writes) agrees with sorting the
// keys as Buffers: latin1 ids order as their bytes, including 0x00, 0x80 and 0xff and prefixes.
import t from 'tap'
import fc from 'fast-check'
import { SortedIds } from '../../stores/sorted-ids.ts'

const keyArb = fc.uint8Array({ minLength: 0, maxLength: 4 }).map(a => Buffer.from(a).toString('latin1'))
const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'))

t.test('between() returns the ids within the bounds in byte order, after any mix of adds and reads', async t => {
  fc.assert(fc.property(
    fc.array(fc.array(keyArb, { maxLength: 12 }), { minLength: 1, maxLength: 6 }),
    fc.option(keyArb), fc.option(keyArb), fc.boolean(),
    (rounds, from, to, toExclusive) => {
      const ids = new SortedIds()
      const all = new Set<string>()
      for (const round of rounds) {
        for (const id of round) if (!all.has(id)) { all.add(id); ids.add(id) }
        const want = [...all].sort(byBytes).filter(id =>
          (from === null || byBytes(id, from) >= 0) && (to === null || (toExclusive ? byBytes(id, to) < 0 : byBytes(id, to) <= 0)))
        const got = ids.between(from ?? undefined, to ?? undefined, toExclusive)
        if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)
        if (ids.size !== all.size) throw new Error('size')
      }
    }
  ), { numRuns: 500 })
  t.pass('500 runs agree with Buffer.compare order')
})
