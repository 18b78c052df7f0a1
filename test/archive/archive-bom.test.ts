// A reward event whose value starts with a UTF-8 byte order mark: the topology accepts it (its
// decoder drops the mark, as RFC 8259 allows), so the archive must read it the same way. Before,
// the archive row kept only the raw bytes (no member, event id or amount) and `rewards reconcile`
// reported the confirmed EARN as "its input event is not in the archive" on PostgreSQL.
import t from 'tap'
import { toArchiveRow } from '../../processors/archive/archive-row.ts'
import { writeArchiveRows } from '../../processors/archive/archive-writer.ts'
import { archiveBalances, ruleViolations } from '../../processors/archive/reconcile.ts'
import { defaultRuleSet } from '../../processors/rewards/index.ts'
import { platformTopics } from '../../lib/platform-topics.ts'
import { validateRewardRecord } from '../../processors/rewards/validation.ts'
import { createTestDatabase, openMigrated } from './archive-helpers.ts'

const topics = platformTopics({ topicPrefix: '' })
const event = { eventId: 'bom-1', memberId: 'M-BOM', source: 'HOTEL', type: 'EARN', amountCents: 12345, currency: 'USD', occurredAt: '2026-03-01T18:30:00Z', propertyId: 'P1' }
const balance = { memberId: 'M-BOM', earned: 1234, reversed: 0, redeemed: 0, available: 1234, qualifyingPoints: 1234, tier: 'MEMBER', lastActivityAt: '2026-03-01T18:30:00.000Z', events: 1 }
const confirmation = { eventId: 'bom-1', memberId: 'M-BOM', source: 'HOTEL', type: 'EARN', points: 1234, tier: 'MEMBER', ruleVersion: '2026-1', balance, occurredAt: '2026-03-01T18:30:00Z', processedAt: '2026-12-07T13:00:00.000Z' }

const record = (topic: string, offset: bigint, value: Buffer) => ({
  topic, partition: 0, offset, timestamp: Date.parse('2026-03-01T18:30:00Z'), key: Buffer.from('M-BOM'), value, headers: {}
})

t.test('a BOM-prefixed reward event is archived with its columns and reconciles', async t => {
  const value = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(event))])
  t.ok(validateRewardRecord(Buffer.from('M-BOM'), value).ok, 'the topology accepts it')
  const row = toArchiveRow(record(topics.rewardEvents, 0n, value), 'reward-event')
  t.match(row, { eventId: 'bom-1', memberId: 'M-BOM', amountCents: 12345, source: 'HOTEL' })
  t.equal(row.value!.subarray(0, 3).toString('hex'), 'efbbbf', 'the raw bytes are kept as sent')

  const database = await createTestDatabase()
  t.teardown(database.drop)
  const db = await openMigrated(database.url, t.testdir({}))
  t.teardown(() => db.close())
  await writeArchiveRows(db, [row, toArchiveRow(record(topics.rewardConfirmed, 0n, Buffer.from(JSON.stringify(confirmation))), 'reward-confirmed')])

  t.same(await ruleViolations(db, topics, defaultRuleSet()), [], 'no rule violation')
  t.same((await archiveBalances(db, topics, defaultRuleSet())).get('M-BOM'), balance)
})
