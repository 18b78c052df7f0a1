// The extractor's validation result is handed to the processor only for the same record (same
// topic-partition, offset, key and value Buffers); anything else is validated afresh, with the
// same outcome.
import t from 'tap'
import type { LogRecord } from '../../../log/log-port.ts'
import { rewardRecords } from '../../../processors/rewards/validated-records.ts'

const TOPIC = `validated-records-${process.pid}`
const event = (eventId: string): Buffer => Buffer.from(JSON.stringify({
  eventId, memberId: 'm1', source: 'HOTEL', type: 'EARN', amountCents: 100, currency: 'USD', occurredAt: '2026-03-01T00:00:00Z', propertyId: 'p'
}))
const record = (offset: bigint, value: Buffer | null, partition = 0): LogRecord =>
  ({ topic: TOPIC, partition, offset, timestamp: 0, key: Buffer.from('m1'), value, headers: [] } as unknown as LogRecord)
const meta = (r: LogRecord): { topic: string, partition: number, offset: bigint } => ({ topic: r.topic, partition: r.partition, offset: r.offset })

t.test('the processor gets the extractor\'s result for the same record', async t => {
  const records = [record(0n, event('a')), record(1n, null), record(2n, event('c'))]
  const kept = records.map(r => rewardRecords.validate(r))
  t.equal(kept[1]!.ok, false, 'a tombstone is invalid')
  // Offset 1 is skipped (e.g. replaced by a dead letter): its result is dropped on the way.
  t.equal(rewardRecords.take(records[0]!.key, records[0]!.value, meta(records[0]!)), kept[0], 'same result object')
  t.equal(rewardRecords.take(records[2]!.key, records[2]!.value, meta(records[2]!)), kept[2], 'same result object after a skipped offset')
})

t.test('other Buffers, other offsets or no metadata validate afresh, with the same outcome', async t => {
  const r = record(10n, event('x'), 1)
  const kept = rewardRecords.validate(r)
  const copy = Buffer.from(r.value!)
  const fresh = rewardRecords.take(r.key, copy, meta(r))
  t.not(fresh, kept, 'a different value Buffer is not trusted')
  t.same(fresh, kept, 'and validates the same')
  t.same(rewardRecords.take(r.key, r.value, null), kept, 'no metadata: validated')
})

t.test('records read again from an earlier offset replace what was kept', async t => {
  const first = record(20n, event('y'), 2)
  rewardRecords.validate(first)
  const again = record(20n, event('y'), 2) // fetched again after an abort: new Buffers
  const kept = rewardRecords.validate(again)
  t.equal(rewardRecords.take(again.key, again.value, meta(again)), kept, 'the re-read record\'s result')
})

t.test('taken results go, the queue keeps working through compaction (thousands buffered at once)', async t => {
  // The extractor runs ahead of the processor by a fetched batch: validate 2,000, take 1,500,
  // validate 1,000 more, take the rest. Taken slots are let go (their Buffers are views into a
  // fetch response) and the array is compacted on the way; every take still gets its result.
  const partition = 3
  const all = Array.from({ length: 3000 }, (_, i) => record(BigInt(1000 + i), event(`e${i}`), partition))
  const kept = all.slice(0, 2000).map(r => rewardRecords.validate(r))
  let same = 0
  for (let i = 0; i < 1500; i++) if (rewardRecords.take(all[i]!.key, all[i]!.value, meta(all[i]!)) === kept[i]) same++
  kept.push(...all.slice(2000).map(r => rewardRecords.validate(r)))
  for (let i = 1500; i < 3000; i++) if (rewardRecords.take(all[i]!.key, all[i]!.value, meta(all[i]!)) === kept[i]) same++
  t.equal(same, 3000, 'each take got the extractor\'s result object')
})
