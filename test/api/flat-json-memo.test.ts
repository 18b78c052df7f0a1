// FlatJsonMemo (api/query/flat-json-memo.ts): the balance text reused while a balance is
// unchanged must always be exactly JSON.stringify of the record read now.
import t from 'tap'
import { FlatJsonMemo } from '../../api/query/flat-json-memo.ts'

const balance = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ memberId: 'm-1', earned: 100, reversed: 0, redeemed: 0, available: 100, qualifyingPoints: 100, tier: 'MEMBER', lastActivityAt: '2026-03-01T12:00:00.000Z', events: 1, ...over })

t.test('the same text for an equal record, a new one for any change', async t => {
  const memo = new FlatJsonMemo()
  const first = memo.text('m-1', balance())
  t.equal(first, JSON.stringify(balance()))
  t.equal(memo.text('m-1', balance()), first, 'an equal record read again: the same text')
  const cases: Array<[string, Record<string, unknown>]> = [
    ['a value changed', balance({ earned: 101 })],
    ['null to a string', balance({ lastActivityAt: null })],
    ['a number to the same digits as text', balance({ events: '1' })],
    ['a property more', { ...balance(), extra: true }],
    ['a property less', (({ events: _e, ...rest }) => rest)(balance())],
    ['the same properties in another order', (({ memberId, ...rest }) => ({ ...rest, memberId }))(balance())],
    ['a nested object', balance({ tier: { name: 'GOLD' } })]
  ]
  for (const [what, record] of cases) {
    t.equal(memo.text('m-1', record), JSON.stringify(record), what)
    t.equal(memo.text('m-1', record), JSON.stringify(record), `${what}, read again`)
  }
  t.equal(memo.text('m-2', balance({ memberId: 'm-2' })), JSON.stringify(balance({ memberId: 'm-2' })), 'another key')
})

t.test('bounded: the oldest key is dropped, answers stay exact', async t => {
  const memo = new FlatJsonMemo(2)
  for (let i = 0; i < 10; i++) t.equal(memo.text(`m-${i % 3}`, balance({ events: i })), JSON.stringify(balance({ events: i })))
})
