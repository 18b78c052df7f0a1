// Outages of the platform's dependencies while traffic flows: the run's own broker stopped and
// started again, PostgreSQL and Redis cut off by a TCP proxy in front of the shared servers. What
// the processes answer meanwhile is recorded and judged against docs/deploy.md (readiness names the
// dependency that is down) and docs/api.md (tokens issued before a database outage keep
// working); the data checks at the end judge the rest.
import type { TcpProxy } from '../archive/tcp-proxy.ts'
import type { OwnBroker } from '../integration/own-broker.ts'
import type { PlatformSupervisor } from './platform-supervisor.ts'
import type { RecoveryTimer } from './recovery-timer.ts'

export interface FaultCheck {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

interface Probe { readonly status: number, readonly body: string }

async function get (url: string, token?: string): Promise<Probe> {
  try {
    const response = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) })
    return { status: response.status, body: await response.text() } // whole: it is parsed
  } catch (error) {
    return { status: 0, body: (error as Error).message }
  }
}

/** Polls readiness (and, with a token, a balance) on every live instance every 2 s for `ms`. */
async function probeFor (supervisor: PlatformSupervisor, ms: number, balancePath?: string, token?: string): Promise<{ ready: Probe[], balance: Probe[] }> {
  const ready: Probe[] = []
  const balance: Probe[] = []
  const until = Date.now() + ms
  while (Date.now() < until) {
    for (const url of supervisor.liveUrls()) {
      ready.push(await get(`${url}/health/ready`))
      if (balancePath !== undefined) balance.push(await get(`${url}${balancePath}`, token))
    }
    await new Promise(resolve => setTimeout(resolve, Math.max(0, Math.min(2000, until - Date.now())))) // the probe's period
  }
  return { ready, balance }
}

interface ReadinessBody { readonly checks?: Record<string, { ready?: boolean, degraded?: boolean }>, readonly degraded?: string[] }

/** Whether readiness names `dependency` as degraded or down (whatever the status: the instance
 *  restarted on purpose inside an outage is not ready while it restores). */
function listsDown (body: ReadinessBody, dependency: string): boolean {
  const check = body.checks?.[dependency]
  return body.degraded?.includes(dependency) === true || check?.degraded === true || check?.ready === false
}

/** docs/deploy.md: Kafka down makes an instance not ready (503, the `kafka` check not ready);
 *  PostgreSQL or Redis down leaves it ready but lists `database` / `redis` as degraded. */
function readinessCheck (name: string, probes: Probe[], says: (status: number, body: ReadinessBody) => boolean): FaultCheck {
  const late = probes.slice(Math.floor(probes.length / 2)).filter(p => p.status !== 0) // once noticed; not a process we killed
  // 200: the report itself; 503: the same report as the details of a NOT_READY error.
  const parse = (text: string): ReadinessBody => {
    try {
      const body = JSON.parse(text) as ReadinessBody & { error?: { details?: ReadinessBody } }
      return body.error?.details ?? body
    } catch {
      return {}
    }
  }
  const wrong = late.filter(p => !says(p.status, parse(p.body)))
  const shown = (list: Probe[]): string => [...new Set(list.map(p => `${p.status} ${p.body.slice(0, 200)}`))].slice(0, 2).join(' | ')
  const ok = late.length > 0 && wrong.length === 0
  return { name, ok, detail: ok ? `${late.length} answers while down, e.g. ${shown(late)}` : `${wrong.length} of ${late.length} answers while down do not say so: ${shown(wrong)}` }
}

export async function brokerOutage (o: { broker: OwnBroker, outageMs: number, supervisor: PlatformSupervisor, timer: RecoveryTimer, log: (line: string) => void }): Promise<{ checks: FaultCheck[], recovery: Promise<number | null> }> {
  o.log(`broker: stopping the run's own broker (${o.broker.bootstrap}) for ${o.outageMs / 1000} s`)
  const stoppedAt = Date.now()
  await o.broker.stop()
  const { ready } = await probeFor(o.supervisor, Math.max(0, o.outageMs - (Date.now() - stoppedAt)))
  await o.broker.start()
  const restartedAt = Date.now()
  o.log(`broker: started again after ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s`)
  return {
    checks: [readinessCheck('readiness reports Kafka down during the broker outage', ready, (status, body) => status === 503 && body.checks?.kafka?.ready === false)],
    recovery: o.timer.resumed(restartedAt)
  }
}

/** PostgreSQL cut off for outageMs; a third of the way in, instance 0 is SIGKILLed and started
 *  again, so a process also has to start without the database and check a token it never saw. */
export async function postgresOutage (o: { proxy: TcpProxy, outageMs: number, supervisor: PlatformSupervisor, token: string, memberId: string, log: (line: string) => void }): Promise<FaultCheck[]> {
  o.log(`postgres: cutting PostgreSQL off for ${o.outageMs / 1000} s (a token was issued just before)`)
  o.proxy.cut()
  let probes
  try {
    const restart = (async () => {
      await new Promise(resolve => setTimeout(resolve, o.outageMs / 3)) // a moment inside the outage
      o.log('postgres: instance 0 SIGKILLed and started again while the database is down')
      await o.supervisor.kill(0)
      o.supervisor.start(0)
    })()
    probes = await probeFor(o.supervisor, o.outageMs, `/v1/members/${o.memberId}/balance`, o.token)
    await restart
  } finally {
    o.proxy.restore()
  }
  o.log('postgres: reachable again')
  // 503 (a task moving) is an answer; 0 is the instance restarted on purpose, not reachable.
  const refused = probes.balance.filter(p => p.status === 401 || p.status >= 500 && p.status !== 503)
  return [
    {
      name: 'tokens issued before the PostgreSQL outage keep working through it',
      ok: probes.balance.length > 0 && refused.length === 0,
      detail: `${probes.balance.length} balance queries with the token while down: ${refused.length} refused or failed${refused.length > 0 ? ` (e.g. ${refused[0]!.status} ${refused[0]!.body.slice(0, 160)})` : ''}`
    },
    readinessCheck('readiness lists the database as degraded while PostgreSQL is down', probes.ready, (_, body) => listsDown(body, 'database'))
  ]
}

/** Cuts Redis off; the caller restores it (after the balances were checked without it). */
export async function redisOutage (o: { proxy: TcpProxy, outageMs: number, supervisor: PlatformSupervisor, token: () => Promise<string>, memberId: string, log: (line: string) => void }): Promise<FaultCheck[]> {
  o.log(`redis: cutting Redis off (kept down until the balances are checked)`)
  o.proxy.cut()
  const probes = await probeFor(o.supervisor, o.outageMs, `/v1/members/${o.memberId}/balance`, await o.token())
  const failed = probes.balance.filter(p => ![200, 404, 503].includes(p.status))
  return [{
    name: 'balance queries keep being answered while Redis is down',
    ok: probes.balance.length > 0 && failed.length === 0,
    detail: `${probes.balance.length} balance queries while down, ${failed.length} failed${failed.length > 0 ? ` (e.g. ${failed[0]!.status} ${failed[0]!.body.slice(0, 160)})` : ''}`
  }, readinessCheck('readiness lists Redis as degraded while it is down', probes.ready, (_, body) => listsDown(body, 'redis'))]
}
