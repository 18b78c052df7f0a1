// GET /v1/properties/{propertyId}/points on the real broker: two processor instances and an
// API-only one (startKafkaCluster). Events over three properties, several hours and days; every
// instance answers every property with the exact figures (owner: local read; other processor:
// forwarded; API-only: forwarded through the group's assignment of the points repartition
// topic); windows behind stream time − grace are closed, the latest ones open. Then every query
// shape: missing, malformed and unknown parameters, from not before to, a range too large, an
// unknown property (200, no windows), 401, 403, and 503 + Retry-After while no store can answer.
import t from 'tap'
import { Registry } from 'prom-client'
import { Readiness } from '../../api/health/readiness.ts'
import { buildServer } from '../../api/ops-server.ts'
import { publicApi } from '../../api/public-api.ts'
import { MemberQueries } from '../../api/query/member-queries.ts'
import { registerStreamsQueries } from '../../api/streams-queries.ts'
import { partitionForKey } from '../../topology/index.ts'
import { call, eventually, startKafkaCluster } from './api-harness.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** One property in each of the 4 partitions of the points repartition topic. */
const PROPERTIES = ['LV-01', 'LV-02', 'RENO-07', 'AC-03']
const T0 = Date.parse('2026-03-01T00:00:00Z')

/** [property, hours after T0, member]: 1000 cents at HOTEL, MEMBER tier = 100 points each. */
const EVENTS: Array<[string, number, string]> = []
for (const [p, property] of PROPERTIES.entries()) {
  for (let h = 0; h < 80; h += 7 + p) EVENTS.push([property, h + 0.25 * p, `m${(h + p) % 9}`])
}
// Stream time of each property's task must pass the last windows' end + grace (1 d for hours,
// 2 d for days): an event per property 5 days on, sent once the others are in their windows (sent
// with them, it could reach the property's task first through another upstream partition and
// make them all late: docs/rewards.md, "Points issued per property").
const CLOSING = PROPERTIES.map((property): [string, number, string] => [property, 24 * 8, 'm-late'])

t.test('points per property over HTTP: exact, closed windows, every query shape', async t => {
  const cluster = await startKafkaCluster(t, 'apipts', 4)
  const { platform, a, b, api } = cluster
  await eventually(async () => [a.app!.state, b.app!.state, a.app!.localTasks().length + b.app!.localTasks().length], s => s[0] === 'RUNNING' && s[1] === 'RUNNING' && s[2] === 8, 90_000)
  const write = await platform.token(['events:write'])
  const reports = await platform.token(['reports:read'])
  const balances = await platform.token(['balances:read'])
  const toEvents = (list: Array<[string, number, string]>, prefix: string): object[] => list.map(([propertyId, hours, memberId], i) => ({
    eventId: `${prefix}${i}`, memberId, source: 'HOTEL', type: 'EARN', amountCents: 1000, currency: 'USD', occurredAt: new Date(T0 + hours * HOUR).toISOString(), propertyId
  }))
  const from = new Date(T0).toISOString()
  const to = new Date(T0 + 10 * DAY).toISOString()
  // Day by day, each day's events counted before the next day's are sent: records of a property
  // reach its task through every upstream partition, in any relative order, so a batch spanning
  // more than the grace could make its own earlier events late (docs/rewards.md).
  const sent = new Map<string, number>()
  for (let day = 0; day < 4; day++) {
    const batch = EVENTS.filter(([, hours]) => Math.floor(hours / 24) === day)
    for (const [p] of batch) sent.set(p, (sent.get(p) ?? 0) + 1)
    t.equal((await call(`${api.url}/v1/events`, write, { body: toEvents(batch, `d${day}-`) })).status, 202)
    for (const property of PROPERTIES) {
      const r = await eventually(() => call(`${api.url}/v1/properties/${property}/points?from=${from}&to=${to}&window=day`, reports),
        x => x.status === 200 && x.body.windows.reduce((s: number, w: { earnEvents: number }) => s + w.earnEvents, 0) === (sent.get(property) ?? 0), 60_000)
      t.equal(r.body.windows.reduce((s: number, w: { earnEvents: number }) => s + w.earnEvents, 0), sent.get(property) ?? 0, `day ${day}, ${property}: every event in a day window`)
    }
  }
  EVENTS.push(...CLOSING)
  t.equal((await call(`${api.url}/v1/events`, write, { body: toEvents(CLOSING, 'late') })).status, 202)

  const expected = (property: string, size: number): Map<string, number> => {
    const out = new Map<string, number>()
    for (const [p, hours] of EVENTS) {
      if (p !== property) continue
      const start = new Date(Math.floor((T0 + hours * HOUR) / size) * size).toISOString()
      out.set(start, (out.get(start) ?? 0) + 100)
    }
    return out
  }
  const ownedBy = new Set<boolean>()
  for (const property of PROPERTIES) {
    ownedBy.add(a.app!.queryMetadataForKey('points-per-property-hour', property).local)
    for (const [name, size, window] of [['hour', HOUR, 'hour'], ['day', DAY, 'day']] as const) {
      const want = expected(property, size)
      const total = [...want.values()].reduce((x, y) => x + y, 0)
      for (const [who, instance] of [['A', a], ['B', b], ['API-only', api]] as const) {
        const r = await eventually(() => call(`${instance.url}/v1/properties/${property}/points?from=${from}&to=${to}&window=${window}`, reports),
          x => x.status === 200 && x.body.windows.reduce((s: number, w: { points: number }) => s + w.points, 0) === total, 60_000)
        t.equal(r.status, 200, `${who} ${property} ${name}`)
        t.same(new Map(r.body.windows.map((w: { start: string, points: number }) => [w.start, w.points])), want, `${who} ${property} ${name}: exact figures`)
        const windows = r.body.windows as Array<{ start: string, end: string, closed: boolean, earnEvents: number, reversedPoints: number }>
        t.ok(windows.every(w => Date.parse(w.end) - Date.parse(w.start) === size && w.reversedPoints === 0), 'window bounds')
        const last = windows[windows.length - 1]!
        t.equal(last.closed, false, 'the latest window is open (stream time is inside it)')
        t.ok(windows.slice(0, -1).every(w => w.closed), 'the earlier windows are closed (5 days behind stream time)')
        t.equal(r.body.graceSeconds, name === 'hour' ? 86_400 : 172_800)
      }
    }
  }
  t.equal(new Set(PROPERTIES.map(p => partitionForKey(Buffer.from(p), 4))).size, 4, 'every partition has a property')
  const windowTasks = a.app!.localTasks().filter(task => task.task.startsWith('1_')).length
  if (windowTasks > 0 && windowTasks < 4) t.same([...ownedBy].sort(), [false, true], 'properties owned by both processors (local and forwarded reads)')
  else t.comment(`the assignor gave A ${windowTasks} of the 4 window tasks: one processor read locally, the other forwarded`)
  t.match(await a.registry.metrics(), /rewards_api_queries_total\{route="points",where="(local|forwarded)"\} [1-9]/)

  // Every query shape, through the API-only instance.
  const base = `${api.url}/v1/properties/LV-01/points`
  const shapes: Array<[string, string, number, string?]> = [
    ['valid, offsets', `from=2026-03-01T01:00:00%2B01:00&to=2026-03-02T00:00:00Z&window=hour`, 200],
    ['missing from', `to=${to}&window=hour`, 400, 'VALIDATION_FAILED'],
    ['missing to', `from=${from}&window=hour`, 400, 'VALIDATION_FAILED'],
    ['missing window', `from=${from}&to=${to}`, 400, 'VALIDATION_FAILED'],
    ['window not hour/day', `from=${from}&to=${to}&window=week`, 400, 'VALIDATION_FAILED'],
    ['from not RFC 3339', `from=2026-03-01&to=${to}&window=day`, 400, 'VALIDATION_FAILED'],
    ['to not RFC 3339', `from=${from}&to=tomorrow&window=day`, 400, 'VALIDATION_FAILED'],
    ['from not a real day', `from=2026-02-30T00:00:00Z&to=${to}&window=day`, 400, 'INVALID_WINDOW_QUERY'],
    ['from after to', `from=${to}&to=${from}&window=day`, 400, 'INVALID_WINDOW_QUERY'],
    ['from equal to', `from=${from}&to=${from}&window=day`, 400, 'INVALID_WINDOW_QUERY'],
    ['range too large (hours)', `from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&window=hour`, 400, 'INVALID_WINDOW_QUERY'],
    ['range too large (days)', `from=2025-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&window=day`, 400, 'INVALID_WINDOW_QUERY'],
    ['unknown parameter', `from=${from}&to=${to}&window=day&source=HOTEL`, 400, 'VALIDATION_FAILED']
  ]
  for (const [name, query, status, code] of shapes) {
    const r = await call(`${base}?${query}`, reports)
    t.equal(r.status, status, name)
    if (code !== undefined) t.equal(r.body.code, code, `${name}: ${r.body.detail as string}`)
  }
  const offsets = await call(`${base}?from=2026-03-01T01:00:00%2B01:00&to=2026-03-02T00:00:00Z&window=hour`, reports)
  t.equal(offsets.body.from, '2026-03-01T00:00:00.000Z', 'an offset instant is answered in UTC')
  t.same(new Map(offsets.body.windows.map((w: { start: string, points: number }) => [w.start, w.points])),
    new Map([...expected('LV-01', HOUR)].filter(([s]) => Date.parse(s) < Date.parse('2026-03-02T00:00:00Z'))), 'windows starting in [from, to)')
  for (const instance of [a, b, api]) {
    const unknown = await call(`${instance.url}/v1/properties/NO-SUCH-PROPERTY/points?from=${from}&to=${to}&window=day`, reports)
    t.equal(unknown.status, 200, 'unknown property: 200')
    t.same(unknown.body.windows, [], 'unknown property: no windows')
  }
  t.equal((await call(`${base}?from=${from}&to=${to}&window=day`, 'not-a-token')).status, 401)
  t.equal((await call(`${base}?from=${from}&to=${to}&window=day`, balances)).status, 403, 'balances:read is not enough')
  t.equal((await call(`${api.url}/v1/properties/${'x'.repeat(65)}/points?from=${from}&to=${to}&window=day`, reports)).status, 400, 'propertyId over 64 characters')

  // OpenAPI lists the route with its scope.
  const openapi = await call(`${api.url}/openapi.json`, reports)
  const op = openapi.body.paths['/v1/properties/{propertyId}/points'].get
  t.same(op.security, [{ oauth2: ['reports:read'] }])
  t.same(op.parameters.filter((p: { in: string }) => p.in === 'query').map((p: { name: string, required: boolean }) => [p.name, p.required]).sort(), [['from', true], ['to', true], ['window', true]])

  // No store can answer (the stream application is not started): 503 + Retry-After.
  const registry = new Registry()
  const server = buildServer({ readiness: new Readiness(), registry })
  const reader = registerStreamsQueries(server, () => undefined, async () => platform.services)
  await server.register(publicApi, {
    settings: platform.settings, guard: platform.services.guard, cache: platform.services.cache,
    queries: new MemberQueries({ local: reader, registry }), topics: platform.topics, producer: async () => { throw new Error('unused') }, registry
  })
  await server.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => server.close())
  const notReady = await call(`http://127.0.0.1:${(server.server.address() as { port: number }).port}/v1/properties/LV-01/points?from=${from}&to=${to}&window=day`, reports)
  t.equal(notReady.status, 503)
  t.equal(notReady.body.code, 'STORE_NOT_READY')
  t.ok(notReady.headers.get('retry-after') !== null, 'Retry-After')
})
