// What `rewards start` watches of its dependencies (docs/runbooks/dependency-outage.md): it
// declares each one the configured roles use, probes Kafka and PostgreSQL periodically (Redis is
// reported by its client's own connection events, api/cache/shared-cache.ts), and adds one
// readiness check per dependency:
//
//   kafka     required: down → not ready (this instance can neither ingest, process nor archive)
//   database  degraded: down → still ready (the archiver buffers and catches up, tokens already
//             loaded keep verifying; new tokens and client registration answer 503)
//   redis     degraded: down → still ready (cache, idempotency keys and rate limits fall back to
//             this instance)
//
// The embedded log and the embedded PostgreSQL (PGlite) live in the process: nothing to watch.
import type { Readiness } from '../api/health/readiness.ts'
import type { RewardsConfig } from '../lib/config.ts'
import type { DependencyHealth, DependencyName } from '../lib/dependency-health.ts'
import { startDependencyProbe, type Probe } from '../lib/dependency-probe.ts'
import type { Log } from '../log/log-port.ts'
import type { RoleName } from './roles/role.ts'

export const DEPENDENCY_IMPACT: Readonly<Record<DependencyName, string>> = Object.freeze({
  kafka: 'this instance cannot ingest, process or archive; not ready until it is back',
  database: 'the archiver buffers and catches up later, tokens already loaded keep working, new tokens and client registration answer 503; still ready (degraded)',
  redis: 'caching, idempotency keys and rate limits fall back to this instance; still ready (degraded)'
})

export interface DependencyMonitorOptions {
  readonly config: Pick<RewardsConfig, 'kafkaBrokers' | 'databaseUrl' | 'redisUrl' | 'dataDir'>
  readonly roles: readonly RoleName[]
  readonly health: DependencyHealth
  readonly readiness: Readiness
  readonly log: () => Promise<Log>
  readonly intervalMs?: number
  readonly timeoutMs?: number
}

export interface DependencyMonitor {
  /** Starts the probes (after the roles were set up: the log is opened on first use). */
  start (): void
  stop (): Promise<void>
}

export function monitorDependencies (options: DependencyMonitorOptions): DependencyMonitor {
  const { config, roles, health, readiness } = options
  const probeOptions = { intervalMs: options.intervalMs ?? 2_000, timeoutMs: options.timeoutMs ?? 5_000 }
  const usesLog = roles.some(r => r !== 'auth')
  // The built-in token server and the API's token checks read PostgreSQL, as does the archiver.
  const usesDatabase = roles.some(r => r === 'archiver' || r === 'auth' || r === 'api' || r === 'processor')
  const usesRedis = roles.some(r => r === 'api' || r === 'auth' || r === 'processor')
  const watched: DependencyName[] = []
  if (config.kafkaBrokers !== null && usesLog) watched.push('kafka')
  if (config.databaseUrl !== null && usesDatabase) watched.push('database')
  if (config.redisUrl !== null && usesRedis) watched.push('redis')

  for (const name of watched) {
    const required = name === 'kafka'
    health.declare(name, { required, impact: DEPENDENCY_IMPACT[name] })
    readiness.add(name, () => {
      const status = health.status(name)!
      if (status.state !== 'down') return { ready: true, detail: status.state === 'up' ? 'up' : 'not checked yet' }
      const since = status.sinceMs === null ? '' : ` for ${Math.round((Date.now() - status.sinceMs) / 1000)} s`
      return required
        ? { ready: false, detail: `down${since} (${status.detail})` }
        : { ready: true, degraded: true, detail: `down${since} (${status.detail}): ${status.impact}` }
    })
  }

  const probes: Probe[] = []
  let closeDatabase: (() => Promise<void>) | undefined
  return {
    start () {
      if (watched.includes('kafka')) {
        probes.push(startDependencyProbe(health, 'kafka', async () => { await (await options.log()).admin.listTopics() }, probeOptions))
      }
      if (watched.includes('database')) {
        // A pool of its own (one connection, short timeouts): the probe must not queue behind the
        // archiver's batches, nor wait for its longer query timeout.
        const opening = import('../lib/db/database.ts').then(({ archiveDatabaseConfig, openDatabase }) => openDatabase(archiveDatabaseConfig(config, {
          maxConnections: 1, connectTimeoutMs: probeOptions.timeoutMs, queryTimeoutMs: probeOptions.timeoutMs
        })))
        closeDatabase = async () => { await (await opening).close() }
        probes.push(startDependencyProbe(health, 'database', async () => { await (await opening).query('SELECT 1') }, probeOptions))
      }
    },
    async stop () {
      for (const probe of probes) probe.stop()
      await closeDatabase?.().catch(() => undefined)
    }
  }
}
