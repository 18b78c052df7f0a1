// Property test of the HTTP door (docs/api.md, "Validation"), against a running instance on the
// embedded log (one partition, so the topic's order is the requests' order): bodies generated from
// the documented shapes (test/api/body-arbitraries.ts) — one EARN or REVERSAL, batches,
// redemptions — valid ones and ones with one defect.
//   valid   → 202 (redemptions: 200 or 202), and the records produced carry the client's JSON,
//             same values, same key order: the record value equals JSON.stringify of the parsed
//             request item; the key is its memberId.
//   invalid → 400 naming the defect's path (`/3/amountCents` in a batch); nothing produced.
//   nothing in between: no other status, never a 5xx.
// PROPERTY_RUNS sets the number of bodies per property (default 100).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { openEmbeddedLog } from '../../log/embedded/index.ts'
import { ensurePlatformTopics } from '../../lib/platform-topics.ts'
import { REWARDS_TOPICS } from '../../processors/rewards/index.ts'
import { call, startPlatform, startProcessor } from './api-harness.ts'
import { defects, redemption, rewardEvent, type Defect } from './body-arbitraries.ts'
import { tailTopic, type TopicTail } from './topic-tail.ts'

const RUNS = Number(process.env.PROPERTY_RUNS ?? 100)
type Body = Record<string, unknown>
interface EventsCase { readonly items: Body[], readonly batch: boolean, readonly defect: { readonly index: number, readonly defect: Defect } | undefined }

t.test('valid bodies are produced as sent; invalid ones are 400 at the defect; nothing else', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'api-property-'))
  const log = await openEmbeddedLog({ dir: join(dir, 'log') })
  await ensurePlatformTopics(log, { topicPrefix: '', partitions: 1 })
  const platform = await startPlatform({ log, topics: REWARDS_TOPICS, applicationId: `api-prop-${Date.now()}`, settings: { apiRateLimit: null } })
  const node = await startProcessor(platform, { stateDir: join(dir, 'state'), publicApi: true })
  const tails = { events: await tailTopic(log, REWARDS_TOPICS.rewardEvents, 1), redemptions: await tailTopic(log, REWARDS_TOPICS.redeemEvents, 1) }
  t.teardown(async () => {
    await tails.events.close()
    await tails.redemptions.close()
    await node.close()
    await platform.close()
    await log.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const token = await platform.token(['events:write', 'redemptions:write'])
  let n = 0
  // Ids unique across runs (a reused id with another body is a conflict, not this test's subject).
  const unique = (body: Body, idField: string): Body => ({ ...body, ...(idField in body ? { [idField]: `${++n}~${body[idField] as string}` } : {}) })
  const produced = { events: 0, redemptions: 0 }
  const tally = { valid: 0, invalid: 0 }

  /** The next `count` records of a topic, as the test expects them once a request is accepted. */
  const next = async (which: 'events' | 'redemptions', tail: TopicTail, count: number): Promise<Array<{ key: string, value: string }>> => {
    const from = produced[which]
    const records = await tail.until(rs => rs.length >= from + count, 10_000)
    produced[which] = records.length
    return records.slice(from).map(r => ({ key: r.key?.toString() ?? '', value: r.value?.toString('utf8') ?? '' }))
  }

  const post = async (path: string, body: unknown): Promise<{ status: number, body: any }> => // eslint-disable-line @typescript-eslint/no-explicit-any -- error bodies
    await call(`${node.url}${path}`, token, { body, headers: { prefer: 'wait=0' } })

  const paths = (answer: { body: any }): string[] => { // eslint-disable-line @typescript-eslint/no-explicit-any -- error bodies
    const errors = answer.body?.error?.details?.errors as Array<{ path: string }> | undefined
    return (errors ?? []).map(e => e.path)
  }

  // One event or a batch of 1–5; `defect` (with the item it hits) makes it invalid.
  const eventsCase = fc.record({ items: fc.array(rewardEvent, { minLength: 1, maxLength: 5 }), batch: fc.boolean(), broken: fc.option(fc.nat(), { nil: undefined, freq: 2 }) })
    .chain((c): fc.Arbitrary<EventsCase> => {
      const items = c.batch ? c.items : c.items.slice(0, 1)
      if (c.broken === undefined) return fc.constant<EventsCase>({ items, batch: c.batch, defect: undefined })
      const index = c.broken % items.length
      return defects(items[index]!).map(defect => ({ items, batch: c.batch, defect: { index, defect } }))
    })

  await t.test('POST /v1/events', async t => {
    await fc.assert(fc.asyncProperty(eventsCase, async c => {
      const items = c.items.map(item => unique(item, 'eventId'))
      if (c.defect !== undefined) items[c.defect.index] = c.defect.defect.apply(items[c.defect.index]!)
      const body = c.batch ? items : items[0]
      const sent = JSON.parse(JSON.stringify(body)) as unknown // what the server parses
      const answer = await post('/v1/events', body)
      if (c.defect === undefined) {
        tally.valid++
        if (answer.status !== 202) throw new Error(`valid body refused: ${answer.status} ${JSON.stringify(answer.body)} for ${JSON.stringify(body)}`)
        const records = await next('events', tails.events, items.length)
        const expected = (c.batch ? sent as Body[] : [sent as Body]).map(item => ({ key: item.memberId as string, value: JSON.stringify(item) }))
        if (JSON.stringify(records) !== JSON.stringify(expected)) throw new Error(`records differ from the request:\n${JSON.stringify(records)}\n${JSON.stringify(expected)}`)
      } else {
        tally.invalid++
        const where = `${c.batch ? `/${c.defect.index}` : ''}${c.defect.defect.path}`
        if (answer.status !== 400 || answer.body?.error?.code !== 'INVALID_EVENTS' || !paths(answer).includes(where)) {
          throw new Error(`${c.defect.defect.name}: expected 400 INVALID_EVENTS at ${where}, got ${answer.status} ${JSON.stringify(answer.body)} for ${JSON.stringify(body)}`)
        }
      }
    }), { numRuns: RUNS })
    t.ok(tally.valid > 0 && tally.invalid > 0, `${tally.valid} valid and ${tally.invalid} invalid bodies`)
  })

  await t.test('POST /v1/redemptions', async t => {
    const redemptionCase = redemption.chain(r => fc.option(defects(r), { nil: undefined, freq: 2 }).map(defect => ({ body: r, defect })))
    let valid = 0
    let invalid = 0
    await fc.assert(fc.asyncProperty(redemptionCase, async c => {
      const body = c.defect === undefined ? unique(c.body, 'redemptionId') : c.defect.apply(unique(c.body, 'redemptionId'))
      const answer = await post('/v1/redemptions', body)
      if (c.defect === undefined) {
        valid++
        if (answer.status !== 200 && answer.status !== 202) throw new Error(`valid redemption refused: ${answer.status} ${JSON.stringify(answer.body)} for ${JSON.stringify(body)}`)
        const [record] = await next('redemptions', tails.redemptions, 1)
        const expected = { key: body.memberId as string, value: JSON.stringify(JSON.parse(JSON.stringify(body))) }
        if (JSON.stringify(record) !== JSON.stringify(expected)) throw new Error(`record differs from the request:\n${JSON.stringify(record)}\n${JSON.stringify(expected)}`)
      } else {
        invalid++
        if (answer.status !== 400 || answer.body?.error?.code !== 'INVALID_REDEMPTION' || !paths(answer).includes(c.defect.path)) {
          throw new Error(`${c.defect.name}: expected 400 INVALID_REDEMPTION at ${c.defect.path}, got ${answer.status} ${JSON.stringify(answer.body)} for ${JSON.stringify(body)}`)
        }
      }
    }), { numRuns: RUNS })
    t.ok(valid > 0 && invalid > 0, `${valid} valid and ${invalid} invalid redemptions`)
  })

  // Nothing of the invalid bodies was produced: the topics hold exactly the accepted records.
  const last = { eventId: 'property-last', memberId: 'last', source: 'HOTEL', type: 'EARN', amountCents: 1, currency: 'USD', occurredAt: '2026-03-01T00:00:00Z', propertyId: 'P' }
  t.equal((await post('/v1/events', last)).status, 202)
  const all = await tails.events.until(rs => rs.some(r => r.value?.toString().includes('property-last')))
  t.equal(all.length, produced.events + 1, `reward-events holds the ${produced.events} accepted records and the last one, nothing else`)
})
