// The next-record choice of a task: lowest timestamp first; an empty partition that still has
// records in the log holds the task back (they are being fetched, KIP-695); an empty, caught-up
// partition holds it back for maxTaskIdleMs only.
import t from 'tap'
import type { LogRecord } from '../../../log/log-port.ts'
import { PartitionGroup } from '../../../topology/runtime/partition-group.ts'

const A = { topic: 'a', partition: 0 }
const B = { topic: 'b', partition: 0 }
const rec = (tp: typeof A, offset: number, timestamp: number) => ({
  record: { ...tp, offset: BigInt(offset), timestamp, key: null, value: null, headers: {} } satisfies LogRecord,
  timestamp
})

t.test('heads are taken in timestamp order across partitions', async t => {
  const group = new PartitionGroup([A, B], 0)
  group.add(A, [rec(A, 0, 10), rec(A, 1, 30)])
  group.add(B, [rec(B, 0, 20), rec(B, 1, 40)])
  const order = []
  for (let r = group.next(0); r; r = group.next(0)) order.push(`${r.record.topic}${r.timestamp}`)
  t.same(order, ['a10', 'b20', 'a30', 'b40'])
})

t.test('an empty partition with records still in the log holds the task back, however long', async t => {
  const group = new PartitionGroup([A, B], 50)
  group.add(A, [rec(A, 0, 10)])
  const lagging = () => false
  t.equal(group.next(0, lagging), undefined)
  t.equal(group.next(10_000, lagging), undefined, 'no timeout: the records are coming')
  t.equal(group.idleDeadlineMs(), null)
  group.add(B, [rec(B, 0, 5)])
  t.equal(group.next(10_001, lagging)?.timestamp, 5, 'the earlier record of B comes first')
})

t.test('an empty, caught-up partition holds the task back for maxTaskIdleMs, then not', async t => {
  const group = new PartitionGroup([A, B], 50)
  group.add(A, [rec(A, 0, 10), rec(A, 1, 11)])
  const caughtUp = () => true
  t.equal(group.next(1000, caughtUp), undefined, 'waits')
  t.equal(group.idleDeadlineMs(), 1050)
  t.equal(group.next(1049, caughtUp), undefined, 'still waits')
  t.equal(group.next(1050, caughtUp)?.timestamp, 10, 'then processes')
  t.equal(group.next(1051, caughtUp)?.timestamp, 11, 'and keeps going while B stays empty')
  t.equal(group.idleDeadlineMs(), null, 'nothing buffered: no deadline (the thread must not spin)')
})

t.test('a record without event time is taken as soon as it heads its queue, and holds nothing back', async t => {
  const group = new PartitionGroup([A, B], 0)
  const timeless = (tp: typeof A, offset: number, logTimestamp: number) => ({ ...rec(tp, offset, logTimestamp), timestamp: null })
  // A: an old event, a record stamped "now" without event time, another old event. B: old events.
  group.add(A, [rec(A, 0, 10), timeless(A, 1, 9_999_999), rec(A, 2, 30)])
  group.add(B, [rec(B, 0, 20), rec(B, 1, 40)])
  const order = []
  for (let r = group.next(0); r; r = group.next(0)) order.push(`${r.record.topic}@${r.record.offset}`)
  t.same(order, ['a@0', 'a@1', 'b@0', 'a@2', 'b@1'], 'the timeless record goes right after its predecessor; the timed ones keep event-time order')

  const waiting = new PartitionGroup([A, B], 50)
  waiting.add(A, [timeless(A, 0, 9_999_999), rec(A, 1, 10)])
  const lagging = () => false
  t.equal(waiting.next(0, lagging)?.record.offset, 0n, 'taken even while B is being fetched: it has no place in event-time order')
  t.equal(waiting.next(0, lagging), undefined, 'the timed record behind it waits for B as before')
})
