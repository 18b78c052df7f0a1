// pollUntil: the bounded wait for an answer that appears later (a redemption's decision).
import t from 'tap'
import { pollUntil } from '../../../lib/resilience/poll-until.ts'

t.test('answers as soon as there is an answer', async t => {
  let asks = 0
  const answer = await pollUntil(async () => (++asks === 3 ? 'decided' : undefined), { waitMs: 5000, initialDelayMs: 5, maxDelayMs: 100 })
  t.equal(answer, 'decided')
  t.equal(asks, 3, 'asked until answered, no more')
})

t.test('gives up by the deadline, never after it', async t => {
  const times: number[] = []
  const started = Date.now()
  const answer = await pollUntil(async () => { times.push(Date.now() - started); return undefined }, { waitMs: 300, initialDelayMs: 5, maxDelayMs: 40 })
  const elapsed = Date.now() - started
  t.equal(answer, undefined, 'no answer within the wait')
  // Timers fire late on a loaded machine: 150 ms of slack, far below one more round of pauses.
  t.ok(elapsed >= 250 && elapsed <= 300 + 150, `ended at the bound (${elapsed} ms)`)
  t.ok(times.every(at => at <= 300 + 150), `no ask after the deadline (${times.join(', ')})`)
  const pauses = times.slice(1).map((at, i) => at - times[i]!)
  t.ok(pauses[0]! < 40 && pauses.at(-1)! >= 35, `pauses grow from 5 ms to the 40 ms cap (${pauses.join(', ')})`)
})

t.test('a wait of 0 asks once', async t => {
  let asks = 0
  t.equal(await pollUntil(async () => { asks++; return undefined }, { waitMs: 0, initialDelayMs: 5, maxDelayMs: 100 }), undefined)
  t.equal(asks, 1)
})

t.test('an error of the ask ends the wait with that error', async t => {
  let asks = 0
  await t.rejects(pollUntil(async () => { if (++asks === 2) throw new Error('store closed'); return undefined }, { waitMs: 5000, initialDelayMs: 1, maxDelayMs: 5 }), /store closed/)
  t.equal(asks, 2)
})
