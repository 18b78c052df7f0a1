// The request validator never guesses (docs/api.md, "Validation"): on one instance (embedded log,
// one partition so the topic's order is the requests' order, real stream application), values
// that look like the right type ("10000", true, null, [100]), unknown fields, lone surrogates,
// control characters and event times out of range are 400 with the path of the field, and nothing
// of them reaches the topic; query and path parameters are checked as text, unknown ones refused.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openEmbeddedLog } from '../../log/embedded/index.ts'
import { ensurePlatformTopics } from '../../lib/platform-topics.ts'
import { REWARDS_TOPICS } from '../../processors/rewards/index.ts'
import { call, earn, redeem, startPlatform, startProcessor } from './api-harness.ts'
import { tailTopic, texts } from './topic-tail.ts'

interface Issue { index?: number, in?: string, path: string, code: string, message: string }

t.test('bodies, queries and paths are checked strictly, never coerced', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'api-strict-'))
  const log = await openEmbeddedLog({ dir: join(dir, 'log') })
  await ensurePlatformTopics(log, { topicPrefix: '', partitions: 1 })
  const platform = await startPlatform({ log, topics: REWARDS_TOPICS, applicationId: `api-strict-${Date.now()}` })
  const node = await startProcessor(platform, { stateDir: join(dir, 'state'), publicApi: true })
  const rewards = await tailTopic(log, REWARDS_TOPICS.rewardEvents, 1)
  const redemptions = await tailTopic(log, REWARDS_TOPICS.redeemEvents, 1)
  t.teardown(async () => {
    await rewards.close()
    await redemptions.close()
    await node.close()
    await platform.close()
    await log.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const token = await platform.token(['balances:read', 'events:write', 'redemptions:write'])
  const base = node.url
  const refused: string[] = []

  const refuseEvent = async (name: string, body: unknown, path: string, code = 'SCHEMA_VIOLATION'): Promise<void> => {
    const r = await call(`${base}/v1/events`, token, { body })
    t.equal(r.status, 400, `${name}: 400`)
    t.equal(r.body?.error?.code, 'INVALID_EVENTS', `${name}: INVALID_EVENTS`)
    const issues = (r.body?.error?.details?.errors ?? []) as Issue[]
    t.ok(issues.some(i => i.path === path && i.code === code), `${name}: an issue at ${path} (${code}): ${JSON.stringify(issues)}`)
  }

  // Coerced-looking values: each was accepted and credited before.
  for (const [name, amountCents] of [['"10000"', '10000'], ['true', true], ['null', null], ['[100]', [100]], ['1.5', 1.5]] as const) {
    await refuseEvent(`amountCents ${name}`, { ...earn('coerce', `c-${name}`, 1), amountCents }, '/amountCents')
    refused.push(`c-${name}`)
  }
  await refuseEvent('memberId 12345', { ...earn('x', 'c-member', 1), memberId: 12345 }, '/memberId')
  await refuseEvent('unknown field', { ...earn('u', 'c-unknown', 1), note: 'hi' }, '/note')
  const unknown = await call(`${base}/v1/events`, token, { body: { ...earn('u', 'c-unknown', 1), note: 'hi' } })
  t.match(unknown.body.error.details.errors[0].message, /unknown field note/, 'the message names the unknown field')
  await refuseEvent('lone surrogate', earn('s', 'x\ud800y', 1), '/eventId')
  await refuseEvent('control character', { ...earn('s', 'c-ctl', 1), propertyId: 'LV\u0007' }, '/propertyId')
  await refuseEvent('NUL', { ...earn('s', 'c-nul', 1), propertyId: 'LV\u0000' }, '/propertyId')
  await refuseEvent('over-long id', earn('s', 'e'.repeat(129), 1), '/eventId')
  await refuseEvent('year 9999', earn('s', 'c-9999', 1, '9999-12-31T00:00:00Z'), '/occurredAt', 'EVENT_TIME_AHEAD')
  await refuseEvent('two hours ahead', earn('s', 'c-ahead', 1, new Date(Date.now() + 2 * 3600_000).toISOString()), '/occurredAt', 'EVENT_TIME_AHEAD')
  await refuseEvent('1969', earn('s', 'c-1969', 1, '1969-12-31T23:59:59Z'), '/occurredAt')
  refused.push('c-member', 'c-unknown', 'x\ud800y', 'c-ctl', 'c-nul', 'c-9999', 'c-ahead', 'c-1969')
  // In a batch the path starts with the item's index; the good items are not published either.
  await refuseEvent('batch item 3', [earn('b', 'c-b0', 1), earn('b', 'c-b1', 1), earn('b', 'c-b2', 1), { ...earn('b', 'c-b3', 1), amountCents: '1' }], '/3/amountCents')
  refused.push('c-b0', 'c-b1', 'c-b2', 'c-b3')
  const many = await call(`${base}/v1/events`, token, { body: [{ ...earn('b', 'c-m0', 1), amountCents: true }, { ...earn('b', 'c-m1', 1), extra: 1, occurredAt: '1960-01-01T00:00:00Z' }] })
  t.same((many.body.error.details.errors as Issue[]).map(i => [i.index, i.path]), [[0, '/0/amountCents'], [1, '/1/extra'], [1, '/1/occurredAt']], 'every issue of every item')
  // Several missing or unknown fields: one entry per field, each at its own path; a missing
  // type once, at /type.
  const { amountCents: _a, currency: _c, propertyId: _p, ...partial } = earn('b', 'c-partial', 1)
  const fields = await call(`${base}/v1/events`, token, { body: { ...partial, extra: 1, 'x/y': 2 } })
  t.same((fields.body.error.details.errors as Issue[]).map(i => [i.path, i.message]), [
    ['/amountCents', 'missing required field amountCents'], ['/currency', 'missing required field currency'], ['/propertyId', 'missing required field propertyId'],
    ['/extra', 'unknown field extra'], ['/x~1y', 'unknown field x/y']], 'one entry per missing or unknown field')
  const { type: _t, ...untyped } = earn('b', 'c-untyped', 1)
  const noType = await call(`${base}/v1/events`, token, { body: [untyped] })
  t.same((noType.body.error.details.errors as Issue[]).map(i => [i.path, i.message]), [['/0/type', 'type must be one of EARN, REVERSAL']], 'a missing type is one entry')
  const { points: _pts, channel: _ch, ...partialRedemption } = redeem('b', 'c-r1', 10)
  const twoMissing = await call(`${base}/v1/redemptions`, token, { body: partialRedemption })
  t.equal(twoMissing.status, 400, 'a redemption missing two fields: 400')
  t.same((twoMissing.body.error.details.errors as Array<{ path: string }>).map(i => i.path), ['/points', '/channel'], 'a redemption: one entry per missing field')
  refused.push('c-partial', 'c-untyped')

  // A REVERSAL (its originalEventId used to be stripped under the event union) is accepted.
  t.equal((await call(`${base}/v1/events`, token, { body: earn('rev', 'r-earn', 10_000) })).status, 202)
  const reversal = { ...earn('rev', 'r-rev', 10_000), type: 'REVERSAL', originalEventId: 'r-earn' }
  t.equal((await call(`${base}/v1/events`, token, { body: reversal })).status, 202, 'REVERSAL accepted')
  // An event time up to an hour ahead is accepted (clock skew between producers and the server).
  t.equal((await call(`${base}/v1/events`, token, { body: earn('ahead', 'ok-ahead', 1, new Date(Date.now() + 50 * 60_000).toISOString()) })).status, 202, '50 minutes ahead accepted')
  t.equal((await call(`${base}/v1/events`, token, { body: earn('epoch', 'ok-epoch', 1, '1970-01-01T00:00:00Z') })).status, 202, '1970-01-01T00:00:00Z accepted')

  // Redemptions: points true and "100" were CONFIRMED before.
  const refuseRedemption = async (name: string, body: unknown, path: string): Promise<void> => {
    const r = await call(`${base}/v1/redemptions`, token, { body, headers: { prefer: 'wait=0' } })
    t.equal(r.status, 400, `redemption ${name}: 400`)
    t.equal(r.body?.error?.code, 'INVALID_REDEMPTION')
    t.ok(((r.body?.error?.details?.errors ?? []) as Issue[]).some(i => i.path === path), `redemption ${name}: an issue at ${path}: ${JSON.stringify(r.body?.error?.details)}`)
  }
  for (const [name, points] of [['true', true], ['"100"', '100'], ['null', null], ['[100]', [100]]] as const) await refuseRedemption(`points ${name}`, { ...redeem('rev', `rr-${name}`, 1), points }, '/points')
  await refuseRedemption('unknown field', { ...redeem('rev', 'rr-unknown', 1), note: 1 }, '/note')
  await refuseRedemption('control character', redeem('rev', 'rr-\u001b[2J', 1), '/redemptionId')
  await refuseRedemption('lone surrogate', { ...redeem('rev', 'rr-s', 1), rewardCode: 'R\udc00' }, '/rewardCode')
  await refuseRedemption('1969', redeem('rev', 'rr-1969', 1, '1969-07-20T20:17:00Z'), '/requestedAt')
  await refuseRedemption('year 9999', redeem('rev', 'rr-9999', 1, '9999-01-01T00:00:00Z'), '/requestedAt')
  t.equal((await call(`${base}/v1/redemptions`, token, { body: redeem('rev', 'rr-ok', 1), headers: { prefer: 'wait=0' } })).status < 300, true, 'a valid redemption is accepted')

  // Nothing refused reached the topics: the sentinels are the last records, the refused ids absent.
  const sentinel = 'sentinel-last'
  t.equal((await call(`${base}/v1/events`, token, { body: earn('rev', sentinel, 1) })).status, 202)
  const published = texts(await rewards.until(rs => texts(rs).some(v => v.includes(sentinel)))).map(v => JSON.parse(v) as { eventId: string })
  t.same(published.map(e => e.eventId), ['r-earn', 'r-rev', 'ok-ahead', 'ok-epoch', sentinel], 'only the accepted events, in order')
  t.notOk(published.some(e => refused.includes(e.eventId)), 'no refused event published')
  t.same(texts(await redemptions.until(rs => rs.length > 0)).map(v => (JSON.parse(v) as { redemptionId: string }).redemptionId), ['rr-ok'], 'only the valid redemption published')

  // Query and path parameters: text, checked by pattern, unknown ones refused with their name.
  const validationFailed = async (name: string, url: string, where: string, path: string): Promise<void> => {
    const r = await call(`${base}${url}`, token)
    t.equal(r.status, 400, `${name}: 400`)
    t.equal(r.body?.error?.code, 'VALIDATION_FAILED', `${name}: VALIDATION_FAILED`)
    t.ok(((r.body?.error?.details ?? []) as Issue[]).some(i => i.in === where && i.path === path), `${name}: an issue in ${where} at ${path}: ${JSON.stringify(r.body?.error)}`)
  }
  await validationFailed('limit abc', '/v1/members/rev/activity?limit=abc', 'querystring', '/limit')
  await validationFailed('limit 0', '/v1/members/rev/activity?limit=0', 'querystring', '/limit')
  await validationFailed('limit 101', '/v1/members/rev/activity?limit=101', 'querystring', '/limit')
  await validationFailed('limit 1.0', '/v1/members/rev/activity?limit=1.0', 'querystring', '/limit')
  await validationFailed('limit repeated', '/v1/members/rev/activity?limit=1&limit=2', 'querystring', '/limit')
  await validationFailed('unknown query parameter', '/v1/members/rev/activity?limit=1&sort=asc', 'querystring', '/sort')
  const named = await call(`${base}/v1/members/rev/activity?sort=asc`, token)
  t.match(named.body.error.message, /unknown query parameter sort/, 'the message names the unknown parameter')
  await validationFailed('unknown query parameter (redemption)', '/v1/redemptions/rr-ok?memberId=rev&x=1', 'querystring', '/x')
  await validationFailed('a query parameter where the route takes none', '/v1/members/rev/balance?fields=all', 'querystring', '/fields')
  const onPost = await call(`${base}/v1/events?dryRun=true`, token, { body: earn('rev', 'c-query', 1) })
  t.equal(onPost.status, 400, 'a query parameter on POST /v1/events is refused')
  t.match(onPost.body?.error?.details, [{ in: 'querystring', path: '/dryRun', code: 'unknown' }])
  await validationFailed('control character in the path', '/v1/redemptions/rr%07', 'params', '/redemptionId')
  await validationFailed('member id pattern', '/v1/members/a%20b/balance', 'params', '/memberId')
  // The events of 'rev' are durable in the topic; wait until the processor has handled them.
  let page = await call(`${base}/v1/members/rev/activity?limit=1`, token)
  for (const deadline = Date.now() + 15_000; page.status === 404 && Date.now() < deadline;) {
    await new Promise(resolve => setTimeout(resolve, 50))
    page = await call(`${base}/v1/members/rev/activity?limit=1`, token)
  }
  t.equal(page.status, 200, 'limit=1 accepted')
  t.equal(page.body.items.length, 1, 'limit applied')
  t.equal((await call(`${base}/v1/members/rev/activity`, token)).status, 200, 'limit is optional (default 20)')
})
