// Points issued per property per hour and per day (docs/rewards.md, "Points issued per
// property") on the TopologyTestDriver: the windows hold exactly what the points-issued report
// counts — accepted EARNs and REVERSALs by the UTC hour/day of occurredAt, on the input's
// property — and nothing for duplicates, dead letters, rejected reversals or redemptions; a
// decision later than the grace is dropped (and counted), one within it is not; several
// partitions: each property's windows live in the task of its repartition partition.
import t from 'tap'
import { partitionForKey, type ReadOnlyWindowStore } from '../../../topology/index.ts'
import { POINTS_WINDOW_STORES, type PointsWindowValue } from '../../../processors/rewards/points-windows.ts'
import type { RewardConfirmed } from '../../../processors/rewards/index.ts'
import { earn, harness, redeem, reversal } from './harness.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const hourOf = (iso: string): number => Math.floor(Date.parse(iso) / HOUR) * HOUR
const dayOf = (iso: string): number => Math.floor(Date.parse(iso) / DAY) * DAY

/** The report's figures from the confirmations and the inputs' properties, per (property, window start). */
function oracle (confirmed: RewardConfirmed[], propertyOf: Map<string, string>, windowOf: (iso: string) => number): Map<string, PointsWindowValue> {
  const out = new Map<string, PointsWindowValue>()
  for (const c of confirmed) {
    const key = `${propertyOf.get(c.eventId)!}@${windowOf(c.occurredAt)}`
    const v = out.get(key) ?? { earnEvents: 0, earnedPoints: 0, reversalEvents: 0, reversedPoints: 0 }
    out.set(key, c.type === 'EARN'
      ? { ...v, earnEvents: v.earnEvents + 1, earnedPoints: v.earnedPoints + c.points }
      : { ...v, reversalEvents: v.reversalEvents + 1, reversedPoints: v.reversedPoints - c.points })
  }
  return out
}

function stored (store: ReadOnlyWindowStore<string, PointsWindowValue>, properties: string[]): Map<string, PointsWindowValue> {
  const out = new Map<string, PointsWindowValue>()
  for (const p of properties) for (const w of store.fetch(p, 0, Date.parse('2100-01-01T00:00:00Z'))) out.set(`${p}@${w.windowStart}`, w.value)
  return out
}

t.test('hour and day windows per property equal the report’s figures; duplicates, dead letters, rejections and redemptions count nothing', async t => {
  const h = harness()
  t.teardown(() => h.close())
  const propertyOf = new Map<string, string>()
  const send = (event: Record<string, unknown>): void => {
    if (!propertyOf.has(event.eventId as string)) propertyOf.set(event.eventId as string, event.propertyId as string)
    h.reward(event)
  }
  const e1 = earn({ memberId: 'm-1', propertyId: 'LV-01', occurredAt: '2026-03-01T10:15:00Z', amountCents: 20_000 })
  send(e1)
  send(earn({ memberId: 'm-2', propertyId: 'LV-01', occurredAt: '2026-03-01T10:59:59.999Z', source: 'DINING' }))
  send(earn({ memberId: 'm-1', propertyId: 'LV-02', occurredAt: '2026-03-01T11:00:00Z', source: 'CASINO' }))
  send(earn({ memberId: 'm-3', propertyId: 'LV-01', occurredAt: '2026-03-02T23:30:00Z' }))
  h.reward({ ...e1, propertyId: 'LV-02' }) // a duplicate of e1 (another property even): dropped by dedupe
  send(reversal(e1.eventId as string, { memberId: 'm-1', propertyId: 'LV-02', occurredAt: '2026-03-02T08:00:00Z' })) // its own day and property
  send(reversal('no-such-event', { memberId: 'm-1', propertyId: 'LV-01', occurredAt: '2026-03-02T08:30:00Z' })) // ORIGINAL_NOT_FOUND
  h.reward('not json', { key: 'm-1' }) // dead letter
  h.redeem(redeem({ memberId: 'm-1', points: 10, requestedAt: '2026-03-02T09:00:00Z' }))
  const confirmed = h.rewardConfirmed()
  t.equal(confirmed.length, 5, 'four earns and one reversal accepted')
  t.equal(h.rewardDlq().length, 2)

  const properties = ['LV-01', 'LV-02', 'LV-03']
  const hours = stored(h.driver.getWindowStore<string, PointsWindowValue>(POINTS_WINDOW_STORES.hour), properties)
  const days = stored(h.driver.getWindowStore<string, PointsWindowValue>(POINTS_WINDOW_STORES.day), properties)
  t.same(hours, oracle(confirmed, propertyOf, hourOf))
  t.same(days, oracle(confirmed, propertyOf, dayOf))
  t.equal(hours.size, 4, 'LV-01 10:00, LV-02 11:00, LV-02 08:00 (reversal), LV-01 23:00')
  const reversed = hours.get(`LV-02@${hourOf('2026-03-02T08:00:00Z')}`)!
  t.equal(reversed.reversalEvents, 1)
  t.equal(reversed.reversedPoints, -confirmed.find(c => c.type === 'REVERSAL')!.points, 'reversed points are positive, as the report’s')
  t.ok(reversed.reversedPoints > 0)
  t.same(h.driver.getWindowStore(POINTS_WINDOW_STORES.hour).fetch('LV-03', 0, Date.parse('2100-01-01T00:00:00Z')), [], 'an unknown property has no windows')
  t.equal(h.driver.droppedRecordsTotal, 0)
  t.equal(h.driver.getWindowStore(POINTS_WINDOW_STORES.hour).observedStreamTime('LV-01'), hourOf('2026-03-02T23:30:00Z'), 'observed: the latest hour window put')
})

t.test('grace: a decision within it enters its window, one later than it is dropped and counted; the report would count both', async t => {
  const h = harness({ pointsWindows: { hour: { graceMs: 30 * 60_000 }, day: { graceMs: 0 } } })
  t.teardown(() => h.close())
  h.reward(earn({ memberId: 'm-1', propertyId: 'P', occurredAt: '2026-03-01T12:10:00Z' }))
  h.reward(earn({ memberId: 'm-2', propertyId: 'P', occurredAt: '2026-03-01T11:50:00Z' })) // late by 20 min: 11:00 window open until 12:30
  h.reward(earn({ memberId: 'm-3', propertyId: 'P', occurredAt: '2026-03-01T13:40:00Z' })) // stream time 13:40: 12:00 window closed at 13:30
  h.reward(earn({ memberId: 'm-4', propertyId: 'P', occurredAt: '2026-03-01T12:59:00Z' })) // late by 41 min: dropped from the hour, kept in the day
  t.equal(h.rewardConfirmed().length, 4, 'the ledger accepts every one of them (the report counts them)')
  const hours = h.driver.getWindowStore<string, PointsWindowValue>(POINTS_WINDOW_STORES.hour).fetch('P', 0, Date.parse('2100-01-01T00:00:00Z'))
  t.same(hours.map(w => [new Date(w.windowStart).toISOString().slice(11, 16), w.value.earnEvents]), [['11:00', 1], ['12:00', 1], ['13:00', 1]])
  const days = h.driver.getWindowStore<string, PointsWindowValue>(POINTS_WINDOW_STORES.day).fetch('P', 0, Date.parse('2100-01-01T00:00:00Z'))
  t.same(days.map(w => w.value.earnEvents), [4], 'the day is still open')
  t.equal(h.driver.droppedRecordsTotal, 1, 'the late decision is counted as dropped (streams_dropped_records_total)')
})

t.test('several partitions: each property’s windows are in the task of its repartition partition', async t => {
  const partitions = 4
  const h = harness({}, { partitions })
  t.teardown(() => h.close())
  const properties = ['LV-01', 'LV-02', 'LV-03', 'LV-04', 'LV-05', 'LV-06']
  for (const [i, propertyId] of properties.entries()) {
    for (let m = 0; m < 5; m++) h.reward(earn({ memberId: `m-${m}`, propertyId, occurredAt: `2026-03-01T1${i}:0${m}:00Z`, amountCents: 1_000 * (m + 1) }))
  }
  const confirmed = h.rewardConfirmed()
  t.equal(confirmed.length, 30)
  const spread = new Set<number>()
  for (const [i, propertyId] of properties.entries()) {
    const partition = partitionForKey(Buffer.from(propertyId), partitions)
    spread.add(partition)
    const windows = h.driver.getWindowStore<string, PointsWindowValue>(POINTS_WINDOW_STORES.hour, partition).fetch(propertyId, 0, Date.parse('2100-01-01T00:00:00Z'))
    t.same(windows.map(w => w.windowStart), [Date.parse(`2026-03-01T1${i}:00:00Z`)])
    t.equal(windows[0]!.value.earnEvents, 5)
    const points = confirmed.filter((c, n) => Math.floor(n / 5) === i).reduce((s, c) => s + c.points, 0)
    t.equal(windows[0]!.value.earnedPoints, points)
  }
  t.ok(spread.size > 1, 'properties spread over partitions')
})
