// The routing decision of member queries when the active copy cannot answer
// (api/query/member-queries.ts, api/query/standby-fallback.ts), with stand-in readers and a real
// HTTP instance serving the internal routes for the remote cases:
//   active ok → its answer, unmarked;
//   active restoring + a standby copy within the bound → the copy's answer, marked with its lag;
//   standby lagging over the bound → STORE_NOT_READY (503 + Retry-After);
//   no copy → STORE_NOT_READY;
//   owner unreachable → this instance's copy, else a standby host's copy over HTTP.
import t, { type Test } from 'tap'
import { Registry } from 'prom-client'
import type { FastifyInstance } from 'fastify'
import { Readiness } from '../../api/health/readiness.ts'
import { buildServer } from '../../api/ops-server.ts'
import type { LocalReader, MemberOwner, StandbyAnswer } from '../../api/query/local-reader.ts'
import { MemberQueries, OwnerUnavailable, type CallContext } from '../../api/query/member-queries.ts'
import { standbyCandidates, withStalenessBound, type ServedByStandby } from '../../api/query/standby-fallback.ts'
import { internalRoutes } from '../../api/routes/internal-routes.ts'
import type { ScopeGuard } from '../../api/auth/require-scope.ts'
import { RewardsError } from '../../lib/errors.ts'

const BALANCE = { memberId: 'm1', earned: 500, reversed: 0, redeemed: 0, available: 500, qualifyingPoints: 500, tier: 'MEMBER', lastActivityAt: '2026-03-01T12:00:00.000Z', events: 5 }

interface Copy { readonly lag: number | null }

/** A stand-in for an instance's reader: its active copy (ready or restoring), its standby copy
 *  (with a lag, or none), where the metadata says the others are. */
function reader (o: { owner: MemberOwner, active: 'ready' | 'restoring' | 'elsewhere', standby: Copy, self?: string | null }): LocalReader {
  const notReady = (): never => { throw new RewardsError('STORE_NOT_READY', 'task 0_1 restoring') }
  const standby = async <T>(value: T, bound: number): Promise<StandbyAnswer<T>> => {
    if (o.standby.lag === null) throw new RewardsError('STORE_NOT_READY', 'no standby of task 0_1 on this instance')
    if (o.standby.lag > bound) throw new RewardsError('STORE_NOT_READY', `${o.standby.lag} records behind`)
    return { value, lagRecords: o.standby.lag }
  }
  const balance = (): typeof BALANCE => {
    if (o.active === 'restoring') notReady()
    if (o.active === 'elsewhere') throw new RewardsError('KEY_OWNED_ELSEWHERE', 'owned by another instance')
    return BALANCE
  }
  return {
    owner: () => o.owner,
    host: () => o.self ?? null,
    balance,
    // LocalReader.balanceIfLocal: the owner check and the read in one call.
    balanceIfLocal: () => o.owner.local ? { local: true, value: balance() } : o.owner,
    activity: () => o.active === 'ready' ? { memberId: 'm1', items: [], nextCursor: null } : notReady(),
    standbyBalance: async (_m: string, bound: number) => await standby(BALANCE, bound),
    standbyActivity: async (_m: string, _l: number, _s: number | undefined, bound: number) => await standby({ memberId: 'm1', items: [], nextCursor: null }, bound)
  } as unknown as LocalReader
}

function context (): { call: CallContext, served: ServedByStandby[] } {
  const served: ServedByStandby[] = []
  return { call: { authorization: undefined, requestId: 'r1', servedByStandby: s => served.push(s) }, served }
}

const here = (o: Partial<MemberOwner> = {}): MemberOwner => ({ local: true, host: '127.0.0.1:1', standbyHosts: [], localStandby: false, ...o })
const elsewhere = (host: string, o: Partial<MemberOwner> = {}): MemberOwner => ({ local: false, host, standbyHosts: [], localStandby: false, ...o })

const allow: ScopeGuard = (() => (_request: unknown, _reply: unknown, done: () => void) => { done() }) as unknown as ScopeGuard

/** An instance serving the internal routes from `local`. */
async function peer (t: Test, local: LocalReader): Promise<string> {
  const server: FastifyInstance = buildServer({ readiness: new Readiness(), registry: new Registry() })
  await server.register(internalRoutes, { reader: local, guard: allow })
  await server.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => server.close())
  return `127.0.0.1:${(server.server.address() as { port: number }).port}`
}

/** An address nobody listens on (a port just released). */
async function deadHost (): Promise<string> {
  const server = buildServer({ readiness: new Readiness(), registry: new Registry() })
  await server.listen({ host: '127.0.0.1', port: 0 })
  const address = `127.0.0.1:${(server.server.address() as { port: number }).port}`
  await server.close()
  return address
}

t.test('active ok: its answer, not marked', async t => {
  const queries = new MemberQueries({ local: reader({ owner: here({ localStandby: false }), active: 'ready', standby: { lag: null } }), registry: new Registry() })
  const { call, served } = context()
  t.equal(await queries.balanceJson('m1', call), JSON.stringify(BALANCE))
  t.same(served, [], 'no standby mark')
})

t.test('active restoring: a standby copy at lag 0 answers, marked; over the bound or none: 503', async t => {
  // This instance keeps the standby (the active is restoring elsewhere and says so with 503).
  const activeHost = await peer(t, reader({ owner: here(), active: 'restoring', standby: { lag: null } }))
  const caughtUp = new MemberQueries({ local: reader({ owner: elsewhere(activeHost, { localStandby: true }), active: 'elsewhere', standby: { lag: 0 } }), registry: new Registry() })
  const { call, served } = context()
  t.equal(await caughtUp.balanceJson('m1', call), JSON.stringify(BALANCE), 'the standby\'s balance')
  t.same(served, [{ host: null, lagRecords: 0 }], 'marked: this instance\'s standby, 0 records behind')
  const page = context()
  t.same(await caughtUp.activity('m1', 5, undefined, page.call), { memberId: 'm1', items: [], nextCursor: null }, 'activity too')
  t.same(page.served, [{ host: null, lagRecords: 0 }])

  const lagging = new MemberQueries({ local: reader({ owner: elsewhere(activeHost, { localStandby: true }), active: 'elsewhere', standby: { lag: 4 } }), registry: new Registry() })
  await t.rejects(Promise.resolve(lagging.balanceJson('m1', context().call)), { code: 'STORE_NOT_READY' }, '4 behind, bound 0: 503')
  const bounded = new MemberQueries({ local: reader({ owner: elsewhere(activeHost, { localStandby: true }), active: 'elsewhere', standby: { lag: 4 } }), registry: new Registry(), maxStalenessRecords: 10 })
  const within = context()
  t.equal(await bounded.balanceJson('m1', within.call), JSON.stringify(BALANCE), 'bound 10: answered')
  t.same(within.served, [{ host: null, lagRecords: 4 }], 'marked 4 records behind')

  const none = new MemberQueries({ local: reader({ owner: elsewhere(activeHost), active: 'elsewhere', standby: { lag: null } }), registry: new Registry() })
  await t.rejects(Promise.resolve(none.balanceJson('m1', context().call)), { code: 'STORE_NOT_READY' }, 'no copy: 503')

  // The local active restoring, its standby on another instance (over HTTP, the bound sent along).
  const standbyHost = await peer(t, reader({ owner: elsewhere('x:1'), active: 'elsewhere', standby: { lag: 0 } }))
  const remote = new MemberQueries({ local: reader({ owner: here({ standbyHosts: [standbyHost] }), active: 'restoring', standby: { lag: null } }), registry: new Registry() })
  const r = context()
  t.equal(await remote.balanceJson('m1', r.call), JSON.stringify(BALANCE), 'the remote standby\'s balance')
  t.same(r.served, [{ host: standbyHost, lagRecords: 0 }], 'marked with the remote standby and its lag')
  const farBehind = await peer(t, reader({ owner: elsewhere('x:1'), active: 'elsewhere', standby: { lag: 7 } }))
  const refused = new MemberQueries({ local: reader({ owner: here({ standbyHosts: [farBehind] }), active: 'restoring', standby: { lag: null } }), registry: new Registry(), maxStalenessRecords: 5 })
  await t.rejects(Promise.resolve(refused.balanceJson('m1', context().call)), { code: 'STORE_NOT_READY' }, 'remote standby 7 behind, bound 5: 503')
})

t.test('owner unreachable: this instance\'s standby, else a standby host; none: OWNER_UNAVAILABLE', async t => {
  const dead = await deadHost()
  const local = new MemberQueries({ local: reader({ owner: elsewhere(dead, { localStandby: true }), active: 'elsewhere', standby: { lag: 0 } }), registry: new Registry(), forwardTimeoutMs: 1000 })
  const a = context()
  t.equal(await local.balanceJson('m1', a.call), JSON.stringify(BALANCE))
  t.same(a.served, [{ host: null, lagRecords: 0 }], 'answered by this instance\'s standby')

  const standbyHost = await peer(t, reader({ owner: elsewhere(dead), active: 'elsewhere', standby: { lag: 2 } }))
  const remote = new MemberQueries({ local: reader({ owner: elsewhere(dead, { standbyHosts: [standbyHost] }), active: 'elsewhere', standby: { lag: null } }), registry: new Registry(), maxStalenessRecords: 2 })
  const b = context()
  t.equal(await remote.balanceJson('m1', b.call), JSON.stringify(BALANCE))
  t.same(b.served, [{ host: standbyHost, lagRecords: 2 }], 'answered by the standby host, 2 behind')

  const alone = new MemberQueries({ local: reader({ owner: elsewhere(dead), active: 'elsewhere', standby: { lag: null } }), registry: new Registry() })
  await t.rejects(Promise.resolve(alone.balanceJson('m1', context().call)), OwnerUnavailable, 'no copy: the owner\'s failure stands')
})

t.test('standbyCandidates: which copies are asked, in which order', async t => {
  t.same(standbyCandidates({ owner: elsewhere('a:1', { standbyHosts: ['b:2', 'c:3'], localStandby: false }), self: 'c:3', failed: 'a:1' }), { local: false, hosts: ['b:2'] }, 'named standbys, not itself')
  t.same(standbyCandidates({ owner: here({ host: 'c:3', standbyHosts: ['b:2'] }), self: 'c:3' }), { local: false, hosts: ['b:2'] }, 'local active restoring: the named standby')
  t.same(standbyCandidates({ owner: elsewhere('a:1', { localStandby: true }), self: 'b:2' }), { local: true, hosts: [] }, 'this instance\'s copy first')
  t.same(standbyCandidates({ instances: ['a:1', 'b:2', 'c:3'], self: null, failed: 'a:1' }), { local: false, hosts: ['b:2', 'c:3'] }, 'API-only: every other instance')
  t.same(standbyCandidates({ owner: elsewhere('a:1'), instances: ['b:2'], self: null }), { local: false, hosts: [] }, 'metadata known and naming none: nobody else is asked')
  t.equal(withStalenessBound('/internal/v1/members/m1/balance', 0), '/internal/v1/members/m1/balance?maxStalenessRecords=0')
  t.equal(withStalenessBound('/internal/v1/members/m1/activity?limit=5', 3), '/internal/v1/members/m1/activity?limit=5&maxStalenessRecords=3')
})
