// The Kafka Streams reference of the rewards topology (bench/java/rewards-streams) validates input
// records as the project does (processors/rewards/validation.ts): the same dead-letter code and
// message, or the same event time, for each record of a corpus of valid and invalid inputs. Only
// the wording of the JSON parser after "record value is not valid JSON:" may differ (V8's vs
// Jackson's). Outputs of the bench itself are compared by test/bench/rewards-vs-kafka-streams.test.ts.
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { ensureKafkaStreamsJar, KAFKA_STREAMS_JAR } from '../../bench/lib/kafka-streams-jar.ts'
import { validateRedeemRecord, validateRewardRecord } from '../../processors/rewards/validation.ts'

interface Case { readonly name: string, readonly reward: boolean, readonly key: Buffer | null, readonly value: Buffer | null }

const earn = { eventId: 'E1', memberId: 'M1', source: 'DINING', type: 'EARN', amountCents: 1234, currency: 'USD', occurredAt: '2026-03-01T10:00:00.123Z', propertyId: 'LV-DESERT-ROSE' }
const reversal = { ...earn, eventId: 'E2', type: 'REVERSAL', originalEventId: 'E1' }
const redeem = { redemptionId: 'R1', memberId: 'M1', points: 2500, rewardCode: 'FREE-PLAY-25', channel: 'CASINO', requestedAt: '2026-03-01T10:00:00Z' }

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value))
const reward = (name: string, value: unknown, key: Buffer | null = Buffer.from('M1')): Case => ({ name, reward: true, key, value: typeof value === 'string' ? Buffer.from(value) : value instanceof Buffer || value === null ? value : json(value) })
const redemption = (name: string, value: unknown, key: Buffer | null = Buffer.from('M1')): Case => ({ ...reward(name, value, key), reward: false })

const cases: Case[] = [
  reward('valid EARN', earn),
  reward('valid REVERSAL', reversal),
  redemption('valid redemption', redeem),
  reward('tombstone', null),
  reward('not UTF-8', Buffer.from([0x7b, 0xff, 0x7d])),
  reward('truncated JSON', JSON.stringify(earn).slice(0, -7)),
  reward('trailing garbage', JSON.stringify(earn) + 'x'),
  reward('a byte-order mark first', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json(earn)])),
  reward('an array', [earn]),
  reward('a number', 42),
  reward('null', 'null'),
  reward('a string', '"EARN"'),
  reward('missing fields', { memberId: 'M1', type: 'EARN' }),
  reward('one missing field', { ...earn, propertyId: undefined }),
  reward('unknown fields', { ...earn, extra: 1, originalEventID: 'x' }),
  reward('negative amount', { ...earn, amountCents: -1 }),
  reward('amount too large', { ...earn, amountCents: 1e12 + 1 }),
  reward('fractional amount', { ...earn, amountCents: 1.5 }),
  reward('amount as 1e3', JSON.stringify(earn).replace('1234', '1e3')),
  reward('amount as 1000.0', JSON.stringify(earn).replace('1234', '1000.0')),
  reward('amount as text', { ...earn, amountCents: '1234' }),
  reward('unknown source', { ...earn, source: 'SPA' }),
  reward('unknown type', { ...earn, type: 'BONUS' }),
  reward('unknown type and a bad amount', { ...earn, type: 'BONUS', amountCents: -1 }),
  reward('EARN with originalEventId', { ...earn, originalEventId: 'E0' }),
  reward('REVERSAL without originalEventId', { ...reversal, originalEventId: undefined }),
  reward('empty eventId', { ...earn, eventId: '' }),
  reward('eventId of 129 characters', { ...earn, eventId: 'e'.repeat(129) }),
  reward('emoji propertyId within 64 characters', { ...earn, propertyId: '😀'.repeat(40) }),
  reward('memberId with a space', { ...earn, memberId: 'M 1' }, Buffer.from('M 1')),
  reward('lower-case currency', { ...earn, currency: 'usd' }),
  reward('EUR', { ...earn, currency: 'EUR' }),
  reward('occurredAt without offset', { ...earn, occurredAt: '2026-03-01T10:00:00' }),
  reward('occurredAt 2026-02-30', { ...earn, occurredAt: '2026-02-30T10:00:00Z' }),
  reward('occurredAt with a +05:30 offset', { ...earn, occurredAt: '2026-03-01T10:00:00.5+05:30' }),
  reward('occurredAt with a leap second', { ...earn, occurredAt: '2016-12-31T23:59:60Z' }),
  reward('occurredAt with a misplaced leap second', { ...earn, occurredAt: '2016-12-31T10:59:60Z' }),
  reward('occurredAt with nine fraction digits', { ...earn, occurredAt: '2026-03-01T10:00:00.987654321Z' }),
  reward('occurredAt before 1970', { ...earn, occurredAt: '1969-12-31T23:59:59Z' }),
  reward('occurredAt with a zone suffix', { ...earn, occurredAt: '2026-03-01T10:00:00Z[Europe/Paris]' }),
  reward('a control character', { ...earn, propertyId: 'LV\u0001' }),
  reward('a lone surrogate', JSON.stringify(earn).replace('LV-DESERT-ROSE', 'LV\\ud800')),
  reward('no key', earn, null),
  reward('no key and a schema problem', { ...earn, amountCents: -1 }, null),
  reward('key not UTF-8', earn, Buffer.from([0xff])),
  reward('key of another member', earn, Buffer.from('M2')),
  redemption('zero points', { ...redeem, points: 0 }),
  redemption('too many points', { ...redeem, points: 1e9 + 1 }),
  redemption('unknown channel', { ...redeem, channel: 'SPA' }),
  redemption('empty rewardCode', { ...redeem, rewardCode: '' }),
  redemption('an unknown field', { ...redeem, note: 'x' }),
  redemption('requestedAt not a string', { ...redeem, requestedAt: 5 }),
  redemption('key of another member', redeem, Buffer.from('M2'))
]

const MALFORMED_PREFIX = 'record value is not valid JSON:'

t.test('the Kafka Streams reference validates each record as the project does', async t => {
  t.setTimeout(240_000)
  ensureKafkaStreamsJar()
  const input = cases.map(c => JSON.stringify({ reward: c.reward, key: c.key?.toString('base64') ?? null, value: c.value?.toString('base64') ?? null })).join('\n')
  const probe = spawnSync('java', ['-cp', KAFKA_STREAMS_JAR, 'bench.rewards.ValidationProbe'], { input, encoding: 'utf8' })
  t.equal(probe.status, 0, 'the probe ran', { stderr: probe.stderr })
  const answers = probe.stdout.trim().split('\n').map(line => JSON.parse(line) as { code?: string, message?: string, eventTimeMs?: number })
  t.equal(answers.length, cases.length, 'one answer per record')
  cases.forEach((c, i) => {
    const project = (c.reward ? validateRewardRecord : validateRedeemRecord)(c.key, c.value)
    const java = answers[i]!
    const wanted = project.ok
      ? { eventTimeMs: project.eventTimeMs }
      : { code: project.code, message: project.code === 'MALFORMED_JSON' && project.message.startsWith(MALFORMED_PREFIX) ? MALFORMED_PREFIX : project.message }
    const got = java.code === 'MALFORMED_JSON' && java.message?.startsWith(MALFORMED_PREFIX) === true ? { code: java.code, message: MALFORMED_PREFIX } : java
    t.same(got, wanted, c.name)
  })
})
