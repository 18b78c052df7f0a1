// The HTTP contract: every operation of the published OpenAPI document (GET /openapi.json) is
// called live, once for each documented status that can be produced cheaply, and each answer's
// status, content type, required headers and body are checked against the document
// (test/api/openapi-contract.ts: AJV strict, no coercion). The documented statuses left out are
// listed below with the reason; a status added to the document without a case here, or a case
// whose answer drifts from the document, fails the test. The checker itself is shown to catch a
// drifted body, a wrong content type, a missing header and an undocumented status.
//
// Two servers: a processor instance with the public API on the embedded log (real stream
// application: real balances, decisions, 404s) with the token server beside it, and a stub
// instance whose stores are restoring (503), without an archive (report routes: 503), with tight
// limits (429 on the /v1 routes and on the token endpoint).
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { LocalReader } from '../../api/query/local-reader.ts'
import { RewardsError } from '../../lib/errors.ts'
import { ensurePlatformTopics } from '../../lib/platform-topics.ts'
import { openEmbeddedLog } from '../../log/embedded/index.ts'
import { REPORTS } from '../../processors/reports/run-report.ts'
import { REWARDS_TOPICS } from '../../processors/rewards/index.ts'
import { earn, eventually, redeem, startPlatform, startProcessor } from './api-harness.ts'
import { startTestApi } from './api-test-server.ts'
import { OpenApiContract, type LiveAnswer } from './openapi-contract.ts'

const REPORT_NAMES = [...REPORTS.keys()]

/** Documented, not produced here, and why. */
const NOT_PRODUCED: Record<string, string> = {
  500: 'an unexpected failure: no cheap way to cause one (test/api/ops-server.test.ts checks the 500 problem)',
  'POST /v1/events 503': 'the log refusing a produce (test/integration outage tests)',
  'POST /v1/redemptions 503': 'the log refusing a produce (test/integration outage tests)',
  'POST /oauth/token 503': 'PostgreSQL down (test/integration/postgres-outage-platform.test.ts)',
  'GET /.well-known/jwks.json 503': 'PostgreSQL down before the keys were ever loaded (test/integration/postgres-down-at-start.test.ts)',
  ...Object.fromEntries(REPORT_NAMES.map(name => [`GET /v1/reports/${name} 200`, 'needs an archive database with data (test/integration/reports-pipeline.test.ts)']))
}

async function live (url: string, init: RequestInit = {}): Promise<LiveAnswer> {
  const response = await fetch(url, { redirect: 'manual', ...init })
  return { status: response.status, headers: response.headers, text: await response.text() }
}

async function tokenAt (url: string, clientId: string, secret: string): Promise<string> {
  const answer = await live(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }) })
  return (JSON.parse(answer.text) as { access_token: string }).access_token
}

/** Stores that are always restoring: every member query is a retriable 503. */
function restoringReader (): LocalReader {
  const restoring = (): never => { throw new RewardsError('STORE_NOT_READY', 'restoring task 0_0') }
  return { owner: () => ({ local: true, host: 'stub:0', standbyHosts: [], localStandby: false }), propertyOwner: () => ({ local: true, host: null }), pointsWindows: restoring, balance: restoring, balanceIfLocal: restoring, activity: restoring, redemption: restoring, redemptionById: restoring, host: () => null } as unknown as LocalReader
}

t.test('every documented status of every operation, live, against the document', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'api-contract-'))
  const log = await openEmbeddedLog({ dir: join(dir, 'log') })
  await ensurePlatformTopics(log, { topicPrefix: '', partitions: 2 })
  const platform = await startPlatform({ log, topics: REWARDS_TOPICS, applicationId: `contract-${Date.now()}` })
  const node = await startProcessor(platform, { stateDir: join(dir, 'state'), publicApi: true })
  const stub = await startTestApi({
    reader: restoringReader(),
    reports: { db: () => undefined },
    settings: { apiRateLimit: { max: 1, windowMs: 60_000 }, tokenFailureLimit: { perClientAddress: 1, perAddress: 100, windowMs: 60_000 } }
  })
  t.teardown(async () => {
    await stub.close()
    await node.close()
    await platform.close()
    await log.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const documentAnswer = await live(`${node.url}/openapi.json`)
  t.equal(documentAnswer.status, 200)
  const contract = new OpenApiContract(JSON.parse(documentAnswer.text) as Record<string, unknown>)
  // The stub serves the report routes too: they are checked against its document.
  const stubContract = new OpenApiContract(JSON.parse((await live(`${stub.url}/openapi.json`)).text) as Record<string, unknown>)

  const all = await platform.token(['balances:read', 'events:write', 'redemptions:write'])
  const writeOnly = await platform.token(['reports:read'])
  const bearer = (token: string, more: Record<string, string> = {}): Record<string, string> => ({ authorization: `Bearer ${token}`, ...more })
  const json = (token: string, more: Record<string, string> = {}): Record<string, string> => bearer(token, { 'content-type': 'application/json', ...more })
  const member = `contract-${randomUUID().slice(0, 8)}`
  const main = (path: string): string => path.startsWith('/oauth') || path.startsWith('/.well-known') ? `${platform.authUrl}${path}` : `${node.url}${path}`

  // Data to read: one accepted event, then a confirmed redemption.
  t.equal((await live(main('/v1/events'), { method: 'POST', headers: json(all), body: JSON.stringify(earn(member, `${member}-e1`, 100_000)) })).status, 202)
  t.equal((await eventually(() => live(main(`/v1/members/${member}/balance`), { headers: bearer(all) }), a => a.status === 200)).status, 200)
  const confirmedId = `${member}-r1`
  const confirmed = await live(main('/v1/redemptions'), { method: 'POST', headers: json(all, { prefer: 'wait=20' }), body: JSON.stringify(redeem(member, confirmedId, 10)) })
  t.equal(confirmed.status, 200, 'the redemption is decided within the wait')
  /** A conditional GET with the ETag of the answer just before. */
  const revalidate = async (path: string): Promise<LiveAnswer> => {
    const etag = (await live(main(path), { headers: bearer(all) })).headers.get('etag') ?? ''
    return await live(main(path), { headers: bearer(all, { 'if-none-match': etag }) })
  }

  // The stub server: its own client and token.
  const { client: stubClient, clientSecret: stubSecret } = await stub.services.tokenServer!.clients.create({ name: `contract-${randomUUID()}`, scopes: ['balances:read', 'events:write', 'redemptions:write'] })
  const stubToken = await tokenAt(stub.url, stubClient.clientId, stubSecret)
  const { client: reporter, clientSecret: reporterSecret } = await stub.services.tokenServer!.clients.create({ name: `contract-reports-${randomUUID()}`, scopes: ['reports:read'] })
  const reportsToken = await tokenAt(stub.url, reporter.clientId, reporterSecret)
  const onStub = (path: string): string => `${stub.url}${path}`
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const longId = 'x'.repeat(257) // over MAX_PATH_PARAM_LENGTH (api/ops-server.ts)
  const big = JSON.stringify([earn(member, 'big', 1, '2026-03-01T12:00:00Z'), { pad: 'x'.repeat(4 * 1024 * 1024) }])

  type Case = [operation: string, status: number, run: () => Promise<LiveAnswer>]
  const balancePath = `/v1/members/${member}/balance`
  const activityPath = `/v1/members/${member}/activity`
  const cases: Case[] = [
    ['GET /v1/members/{memberId}/balance', 200, () => live(main(balancePath), { headers: bearer(all) })],
    ['GET /v1/members/{memberId}/balance', 304, () => revalidate(balancePath)],
    ['GET /v1/members/{memberId}/balance', 400, () => live(main('/v1/members/not%20valid/balance'), { headers: bearer(all) })],
    ['GET /v1/members/{memberId}/balance', 401, () => live(main(balancePath))],
    ['GET /v1/members/{memberId}/balance', 403, () => live(main(balancePath), { headers: bearer(writeOnly) })],
    ['GET /v1/members/{memberId}/balance', 404, () => live(main('/v1/members/nobody-here/balance'), { headers: bearer(all) })],
    ['GET /v1/members/{memberId}/balance', 405, () => live(main(balancePath), { method: 'PUT', headers: bearer(all) })],
    ['GET /v1/members/{memberId}/balance', 406, () => live(main(balancePath), { headers: bearer(all, { accept: 'text/html' }) })],
    ['GET /v1/members/{memberId}/balance', 414, () => live(main(`/v1/members/${longId}/balance`), { headers: bearer(all) })],
    ['GET /v1/members/{memberId}/balance', 503, () => live(onStub('/v1/members/m-1/balance'), { headers: bearer(stubToken) })],
    ['GET /v1/members/{memberId}/balance', 429, () => live(onStub('/v1/members/m-1/balance'), { headers: bearer(stubToken) })],

    ['GET /v1/members/{memberId}/activity', 200, () => live(main(activityPath), { headers: bearer(all) })],
    ['GET /v1/members/{memberId}/activity', 304, () => revalidate(activityPath)],
    ['GET /v1/members/{memberId}/activity', 400, () => live(main(`${activityPath}?limit=0`), { headers: bearer(all) })],
    ['GET /v1/members/{memberId}/activity', 401, () => live(main(activityPath))],
    ['GET /v1/members/{memberId}/activity', 403, () => live(main(activityPath), { headers: bearer(writeOnly) })],
    ['GET /v1/members/{memberId}/activity', 404, () => live(main('/v1/members/nobody-here/activity'), { headers: bearer(all) })],
    ['GET /v1/members/{memberId}/activity', 405, () => live(main(activityPath), { method: 'DELETE', headers: bearer(all) })],
    ['GET /v1/members/{memberId}/activity', 406, () => live(main(activityPath), { headers: bearer(all, { accept: 'application/xml' }) })],
    ['GET /v1/members/{memberId}/activity', 414, () => live(main(`/v1/members/${longId}/activity`), { headers: bearer(all) })],
    ['GET /v1/members/{memberId}/activity', 503, () => live(onStub('/v1/members/m-1/activity'), { headers: bearer(stubToken) })],
    ['GET /v1/members/{memberId}/activity', 429, () => live(onStub('/v1/members/m-1/activity'), { headers: bearer(stubToken) })],

    ['POST /v1/events', 202, () => live(main('/v1/events'), { method: 'POST', headers: json(all, { 'idempotency-key': `k-${member}` }), body: JSON.stringify(earn(member, `${member}-e2`, 100)) })],
    ['POST /v1/events', 409, () => live(main('/v1/events'), { method: 'POST', headers: json(all, { 'idempotency-key': `k-${member}` }), body: JSON.stringify(earn(member, `${member}-e3`, 100)) })],
    ['POST /v1/events', 400, () => live(main('/v1/events'), { method: 'POST', headers: json(all), body: '{"eventId":' })],
    ['POST /v1/events', 401, () => live(main('/v1/events'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })],
    ['POST /v1/events', 403, () => live(main('/v1/events'), { method: 'POST', headers: json(writeOnly), body: JSON.stringify(earn(member, 'x', 1)) })],
    ['POST /v1/events', 405, () => live(main('/v1/events'), { method: 'GET', headers: bearer(all) })],
    ['POST /v1/events', 406, () => live(main('/v1/events'), { method: 'POST', headers: json(all, { accept: 'text/plain' }), body: JSON.stringify(earn(member, 'x', 1)) })],
    ['POST /v1/events', 413, () => live(main('/v1/events'), { method: 'POST', headers: json(all), body: big })],
    ['POST /v1/events', 415, () => live(main('/v1/events'), { method: 'POST', headers: bearer(all, { 'content-type': 'text/plain' }), body: JSON.stringify(earn(member, 'x', 1)) })],
    ['POST /v1/events', 429, async () => {
      await live(onStub('/v1/events'), { method: 'POST', headers: json(stubToken), body: '[]' })
      return await live(onStub('/v1/events'), { method: 'POST', headers: json(stubToken), body: '[]' })
    }],

    ['POST /v1/redemptions', 200, () => live(main('/v1/redemptions'), { method: 'POST', headers: json(all, { prefer: 'wait=20' }), body: JSON.stringify(redeem(member, `${member}-r2`, 10)) })],
    ['POST /v1/redemptions', 202, () => live(main('/v1/redemptions'), { method: 'POST', headers: json(all, { prefer: 'wait=0' }), body: JSON.stringify(redeem(member, `${member}-r3`, 10)) })],
    ['POST /v1/redemptions', 409, () => live(main('/v1/redemptions'), { method: 'POST', headers: json(all, { prefer: 'wait=0' }), body: JSON.stringify(redeem(member, `${member}-r3`, 11)) })],
    ['POST /v1/redemptions', 400, () => live(main('/v1/redemptions'), { method: 'POST', headers: json(all), body: JSON.stringify({ ...redeem(member, `${member}-r4`, 10), points: -5 }) })],
    ['POST /v1/redemptions', 401, () => live(main('/v1/redemptions'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })],
    ['POST /v1/redemptions', 403, () => live(main('/v1/redemptions'), { method: 'POST', headers: json(writeOnly), body: JSON.stringify(redeem(member, 'x', 1)) })],
    ['POST /v1/redemptions', 405, () => live(main('/v1/redemptions'), { method: 'PATCH', headers: bearer(all) })],
    ['POST /v1/redemptions', 406, () => live(main('/v1/redemptions'), { method: 'POST', headers: json(all, { accept: 'text/html' }), body: '{}' })],
    ['POST /v1/redemptions', 413, () => live(main('/v1/redemptions'), { method: 'POST', headers: json(all), body: big })],
    ['POST /v1/redemptions', 415, () => live(main('/v1/redemptions'), { method: 'POST', headers: bearer(all, { 'content-type': 'application/x-www-form-urlencoded' }), body: 'points=10' })],
    ['POST /v1/redemptions', 429, async () => {
      await live(onStub('/v1/redemptions'), { method: 'POST', headers: json(stubToken), body: '{}' })
      return await live(onStub('/v1/redemptions'), { method: 'POST', headers: json(stubToken), body: '{}' })
    }],

    ['GET /v1/redemptions/{redemptionId}', 200, () => live(main(`/v1/redemptions/${confirmedId}`), { headers: bearer(all) })],
    ['GET /v1/redemptions/{redemptionId}', 400, () => live(main(`/v1/redemptions/${confirmedId}?memberId=not%20valid`), { headers: bearer(all) })],
    ['GET /v1/redemptions/{redemptionId}', 401, () => live(main(`/v1/redemptions/${confirmedId}`))],
    ['GET /v1/redemptions/{redemptionId}', 403, () => live(main(`/v1/redemptions/${confirmedId}`), { headers: bearer(writeOnly) })],
    ['GET /v1/redemptions/{redemptionId}', 404, () => live(main('/v1/redemptions/never-requested'), { headers: bearer(all) })],
    ['GET /v1/redemptions/{redemptionId}', 405, () => live(main(`/v1/redemptions/${confirmedId}`), { method: 'POST', headers: json(all), body: '{}' })],
    ['GET /v1/redemptions/{redemptionId}', 406, () => live(main(`/v1/redemptions/${confirmedId}`), { headers: bearer(all, { accept: 'image/png' }) })],
    ['GET /v1/redemptions/{redemptionId}', 414, () => live(main(`/v1/redemptions/${longId}`), { headers: bearer(all) })],
    ['GET /v1/redemptions/{redemptionId}', 503, () => live(onStub('/v1/redemptions/r-1?memberId=m-1'), { headers: bearer(stubToken) })],
    ['GET /v1/redemptions/{redemptionId}', 429, () => live(onStub('/v1/redemptions/r-1?memberId=m-1'), { headers: bearer(stubToken) })],

    ['POST /oauth/token', 200, () => live(onStub('/oauth/token'), { method: 'POST', headers: form, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: stubClient.clientId, client_secret: stubSecret }) })],
    ['POST /oauth/token', 400, () => live(onStub('/oauth/token'), { method: 'POST', headers: form, body: new URLSearchParams({ grant_type: 'password', client_id: stubClient.clientId, client_secret: stubSecret }) })],
    ['POST /oauth/token', 401, () => live(onStub('/oauth/token'), { method: 'POST', headers: form, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'cl_contract_unknown', client_secret: 'x' }) })],
    ['POST /oauth/token', 429, () => live(onStub('/oauth/token'), { method: 'POST', headers: form, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'cl_contract_unknown', client_secret: 'x' }) })],
    ['POST /oauth/token', 405, () => live(onStub('/oauth/token'))],
    ['POST /oauth/token', 413, () => live(onStub('/oauth/token'), { method: 'POST', headers: form, body: `grant_type=client_credentials&pad=${'x'.repeat(9 * 1024)}` })],
    ['POST /oauth/token', 415, () => live(onStub('/oauth/token'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' })],

    ['GET /.well-known/jwks.json', 200, () => live(main('/.well-known/jwks.json'))],
    ['GET /.well-known/jwks.json', 405, () => live(main('/.well-known/jwks.json'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })],
    ['GET /.well-known/openid-configuration', 200, () => live(main('/.well-known/openid-configuration'))],
    ['GET /.well-known/openid-configuration', 405, () => live(main('/.well-known/openid-configuration'), { method: 'DELETE' })]
  ]

  for (const name of REPORT_NAMES) {
    const path = `/v1/reports/${name}`
    const operation = `GET ${path}`
    cases.push(
      [operation, 400, () => live(onStub(`${path}?from=yesterday`), { headers: bearer(reportsToken) })],
      [operation, 401, () => live(onStub(path))],
      [operation, 403, () => live(onStub(path), { headers: bearer(stubToken) })],
      [operation, 405, () => live(onStub(path), { method: 'POST', headers: json(reportsToken), body: '{}' })],
      [operation, 406, () => live(onStub(path), { headers: bearer(reportsToken, { accept: 'text/csv' }) })],
      [operation, 503, () => live(onStub(path), { headers: bearer(reportsToken) })],
      [operation, 429, () => live(onStub(path), { headers: bearer(reportsToken) })]
    )
  }

  // Points per property: 200 (no windows yet) on the running instance, the errors on the stub
  // (its stores restore forever: 503), 429 last (the stub's tight limit).
  const points = '/v1/properties/LV-01/points'
  const pointsQuery = '?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z&window=hour'
  const pointsOp = 'GET /v1/properties/{propertyId}/points'
  cases.push(
    [pointsOp, 200, () => live(main(points + pointsQuery), { headers: bearer(writeOnly) })],
    [pointsOp, 400, () => live(main(`${points}?from=yesterday&to=today&window=hour`), { headers: bearer(writeOnly) })],
    [pointsOp, 401, () => live(main(points + pointsQuery))],
    [pointsOp, 403, () => live(main(points + pointsQuery), { headers: bearer(all) })],
    [pointsOp, 405, () => live(main(points + pointsQuery), { method: 'POST', headers: json(writeOnly), body: '{}' })],
    [pointsOp, 406, () => live(main(points + pointsQuery), { headers: bearer(writeOnly, { accept: 'text/html' }) })],
    [pointsOp, 414, () => live(main(`/v1/properties/${longId}/points${pointsQuery}`), { headers: bearer(writeOnly) })],
    [pointsOp, 503, () => live(onStub(points + pointsQuery), { headers: bearer(reportsToken) })],
    [pointsOp, 429, () => live(onStub(points + pointsQuery), { headers: bearer(reportsToken) })]
  )

  const exercised = new Set<string>()
  for (const [operation, status, run] of cases) {
    const [method, path] = operation.split(' ') as [string, string]
    const answer = await run()
    t.equal(answer.status, status, `${operation}: ${status}`)
    t.same((path.startsWith('/v1/reports/') ? stubContract : contract).check(method, path, answer), [], `${operation} ${answer.status}: as documented`)
    exercised.add(`${operation} ${status}`)
  }

  const documented = [...contract.documented(), ...stubContract.documented().filter(entry => entry.startsWith('GET /v1/reports/'))]
  t.ok(REPORT_NAMES.every(name => documented.some(entry => entry.startsWith(`GET /v1/reports/${name} `))), 'the report routes are in the document')
  const missing = documented.filter(entry => !exercised.has(entry) && NOT_PRODUCED[entry] === undefined && NOT_PRODUCED[entry.split(' ').pop()!] === undefined)
  t.same(missing, [], 'every documented status has a live case here (or a reason in NOT_PRODUCED)')
  const undocumented = [...exercised].filter(entry => !documented.includes(entry))
  t.same(undocumented, [], 'no case for a status the document does not list')
})

t.test('the checker catches drift', async t => {
  const stub = await startTestApi()
  t.teardown(() => stub.close())
  const contract = new OpenApiContract(JSON.parse(await (await fetch(`${stub.url}/openapi.json`)).text()) as Record<string, unknown>)
  const { client, clientSecret } = await stub.services.tokenServer!.clients.create({ name: `contract-drift-${randomUUID()}`, scopes: ['balances:read'] })
  const token = await tokenAt(stub.url, client.clientId, clientSecret)
  const real = await live(`${stub.url}/v1/members/m-known/balance`, { headers: { authorization: `Bearer ${token}` } })
  const path = '/v1/members/{memberId}/balance'
  t.same(contract.check('GET', path, real), [], 'the real answer is as documented')

  const body = JSON.parse(real.text) as Record<string, unknown>
  const withBody = (value: unknown): LiveAnswer => ({ ...real, text: JSON.stringify(value) })
  t.match(contract.check('GET', path, withBody({ ...body, available: undefined })), [/does not match the schema/], 'a missing field')
  t.match(contract.check('GET', path, withBody({ ...body, available: String(body.available) })), [/does not match the schema/], 'a number sent as a string (no coercion)')
  t.match(contract.check('GET', path, { ...real, headers: new Headers([...real.headers.entries()].filter(([name]) => name !== 'etag')) }), [/header ETag is missing/], 'a missing documented header')
  const notFound = await live(`${stub.url}/v1/members/nobody/balance`, { headers: { authorization: `Bearer ${token}` } })
  t.same(contract.check('GET', path, notFound), [], 'a real 404 problem is as documented')
  const asPlainJson = new Headers(notFound.headers)
  asPlainJson.set('content-type', 'application/json')
  t.match(contract.check('GET', path, { ...notFound, headers: asPlainJson }), [/content type "application\/json" is not documented/], 'an error without the problem media type')
  t.match(contract.check('GET', path, { ...notFound, text: JSON.stringify({ error: { code: 'MEMBER_NOT_FOUND', message: 'x' } }) }), [/does not match the schema/], 'the old error shape alone')
  t.match(contract.check('GET', path, { ...real, status: 418 }), [/status 418 is not documented/], 'an undocumented status')
})
