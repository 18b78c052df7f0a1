// The processor role: runs the rewards topology as a StreamsApplication on the configured log.
// Ready (for /health/ready) once the application is RUNNING and every local store is READY.
import type { CheckResult } from '../../api/health/readiness.ts'
import { ensurePlatformTopics } from '../../lib/platform-topics.ts'
import { describeLogLocation } from '../../lib/open-log.ts'
import { StreamsApplication } from '../../topology/streams-application.ts'
import type { Role, RoleContext } from './role.ts'
import { restoreCompletedLog } from './restore-completed-log.ts'
import { recoveryLog } from './recovery-log.ts'
import { apiServicesOnDemand } from '../../api/api-services.ts'
import { registerStreamsQueries } from '../../api/streams-queries.ts'
import { processorMemoryConfig } from './processor-memory.ts'

/** Live unless the stream application has no stream thread running: it died and is not replaced
 *  (ERROR), or waits for its replacement. Not started yet, or shutting down: live. */
export function streamLiveness (app: Pick<StreamsApplication, 'state' | 'streamThreadAlive'> | undefined): CheckResult {
  if (app === undefined) return { ready: true, detail: 'not started' }
  if (app.state === 'ERROR') return { ready: false, detail: 'stream application is ERROR' }
  if (app.state === 'CREATED' || app.state === 'PENDING_SHUTDOWN' || app.state === 'NOT_RUNNING') return { ready: true, detail: `stream application is ${app.state}` }
  return app.streamThreadAlive ? { ready: true, detail: 'stream thread running' } : { ready: false, detail: 'no stream thread running' }
}

export function processorRole (ctx: RoleContext): Role & { readonly app: () => StreamsApplication | undefined } {
  let app: StreamsApplication | undefined
  let closing = false
  let starting: Promise<void> | undefined
  const logger = ctx.logger.child({ role: 'processor' })
  // Interactive queries: internal routes for queries forwarded by other instances (api/). Their
  // token checks need the token store, which this role does not open to start: on the embedded
  // PostgreSQL (seconds of CPU, migrations) only if a query is ever forwarded here; with
  // REWARDS_DATABASE_URL or an external IdP, in the background once the stream application has
  // started, so that keys and revocations are loaded before an outage (docs/api.md "Roles").
  const api = apiServicesOnDemand(ctx.server, { config: ctx.config, registry: ctx.registry, logger, advertisedAddress: ctx.advertisedAddress, dependencies: ctx.dependencies })
  registerStreamsQueries(ctx.server, () => app, api)
  const preloadTokenChecks = ctx.config.databaseUrl !== null || ctx.config.authJwksUrl !== null

  ctx.readiness.add('processor', () => {
    if (app === undefined) return { ready: false, detail: 'starting' }
    if (app.state !== 'RUNNING') return { ready: false, detail: `stream application is ${app.state}` }
    const tasks = app.localTasks()
    const restoring = tasks.filter(t => !t.ready).map(t => t.task)
    if (restoring.length > 0) return { ready: false, detail: `restoring task(s) ${restoring.join(', ')}` }
    return { ready: true, detail: `RUNNING with ${tasks.length} task(s)` }
  })

  // No stream thread running (it died and is not replaced, or waits for its replacement): the
  // process is not live, so an orchestrator restarts it if that lasts. Before start and during a
  // graceful shutdown it is.
  ctx.liveness.add('processor', () => closing ? { ready: true, detail: 'closing' } : streamLiveness(app))

  return {
    name: 'processor',
    app: () => app,
    async start (): Promise<void> {
      const { config } = ctx
      const log = await ctx.log()
      if (closing) return
      if (ctx.createTopics) {
        const outcome = await ensurePlatformTopics(log, config)
        const created = outcome.filter(t => t.status === 'created').map(t => t.name)
        logger.info({ created, existing: outcome.length - created.length }, created.length > 0 ? `created topics ${created.join(', ')}` : 'platform topics exist')
      }
      if (closing) return
      const topology = ctx.platform.topologyWithMetrics(ctx.registry)
      const memory = processorMemoryConfig(config, topology, ctx.registry)
      logger.info({ event: 'memory.budget', ...memory.summary }, `memory budget ${memory.summary.budgetMib} MiB: V8 heap limit ${memory.summary.v8HeapLimitMib} MiB, cache ${memory.summary.cacheMib} MiB, RocksDB ${memory.summary.rocksDbBlockCacheKibPerStore} KiB block cache + ${memory.summary.rocksDbMemtableKibPerStore} KiB memtables per store × up to ${memory.summary.rocksDbInstances} instances`)
      app = new StreamsApplication(topology, {
        log,
        registry: ctx.registry,
        productionExceptionHandler: ctx.platform.productionExceptionHandler(ctx.registry),
        ...(ctx.stateDirectory !== undefined ? { stateDirectory: ctx.stateDirectory } : {}),
        config: {
          applicationId: config.applicationId,
          stateDir: config.stateDir,
          processingGuarantee: config.processingGuarantee,
          onStreamError: config.onStreamError,
          ...(config.numStandbyReplicas !== undefined ? { numStandbyReplicas: config.numStandbyReplicas } : {}),
          ...(config.acceptableRecoveryLag !== undefined ? { acceptableRecoveryLag: config.acceptableRecoveryLag } : {}),
          ...(config.maxWarmupReplicas !== undefined ? { maxWarmupReplicas: config.maxWarmupReplicas } : {}),
          ...(config.probingRebalanceIntervalMs !== undefined ? { probingRebalanceIntervalMs: config.probingRebalanceIntervalMs } : {}),
          ...(config.rebalanceProtocol !== undefined ? { rebalanceProtocol: config.rebalanceProtocol } : {}),
          applicationServer: ctx.advertisedAddress(),
          ...memory.streams
        }
      })
      // `event: restore.completed` with durationMs is what the AWS RestoreTime alarm's metric
      // filter reads (restore-completed-log.ts); Prometheus has streams_task_restore_duration_seconds.
      app.onTaskRestored(restored => {
        const { fields, message } = restoreCompletedLog(restored)
        logger.info(fields, message)
      })
      // While tasks restore (every 5 s, and once when done): how far, how fast, how long still.
      app.onRestoreProgress(p => {
        const eta = p.etaMs === null ? 'unknown' : `${Math.ceil(p.etaMs / 1000)} s`
        logger.info({ event: 'restore.progress', ...p }, p.done
          ? `restore done: ${p.restored} changelog records in ${(p.elapsedMs / 1000).toFixed(1)} s`
          : `restoring ${p.tasks} task(s): ${p.restored} changelog records done, ${p.remaining} remaining, ${Math.round(p.recordsPerSecond)} records/s, ETA ${eta}`)
      })
      // The same for standby and warm-up copies catching up (a cold start among caught-up instances).
      app.onStandbyProgress(p => {
        const eta = p.etaMs === null ? 'unknown' : `${Math.ceil(p.etaMs / 1000)} s`
        logger.info({ event: 'standby.progress', ...p }, p.done
          ? `standby catch-up done: ${p.restored} changelog records in ${(p.elapsedMs / 1000).toFixed(1)} s, ${Math.round(p.recordsPerSecond)} records/s`
          : `standbys catching up, ${p.tasks} task(s): ${p.restored} changelog records done, ${p.remaining} remaining, ${Math.round(p.recordsPerSecond)} records/s, ETA ${eta}`)
      })
      // Each recovered commit failure: operators see why streams_commits_total{result!="committed"} moves.
      app.onCommitFailed(({ result, error, consecutive }) => {
        const action = result === 'aborted' ? 'reading again from the committed offsets' : 'producer replaced, tasks restored from their changelogs'
        logger.warn({ event: 'commit.failed', result, consecutive, err: error }, `commit ${result} (${consecutive} in a row): ${action}`)
      })
      // One line per recovery (docs/engine.md "Faults and recovery" lists the events).
      app.onRecovery(event => {
        const { level, fields, message } = recoveryLog(event)
        logger[level](fields, message)
      })
      app.onStateChange((next, old, error) => {
        logger.info({ from: old, to: next }, `stream application ${old} -> ${next}`)
        if (next === 'ERROR') {
          const cause = error ?? app?.error
          ctx.fatal(new Error(`stream application ERROR (REWARDS_ON_STREAM_ERROR=${config.onStreamError}): ${(cause as Error | undefined)?.message ?? 'stream application failed'}`, { cause }))
        }
      })
      logger.info({ applicationId: config.applicationId, log: describeLogLocation(config), stateDir: config.stateDir, guarantee: config.processingGuarantee }, 'starting the stream application')
      starting = app.start()
      await starting
      if (preloadTokenChecks && !closing) {
        api().catch(error => { if (!closing) logger.warn({ err: error }, `the token checks of forwarded queries could not be loaded yet: ${(error as Error).message}`) })
      }
    },
    async close (): Promise<void> {
      closing = true
      if (app === undefined) return
      // A close during start waits for start to settle (it holds the state directory lock by then).
      await starting?.catch(() => undefined)
      logger.info('closing the stream application (commit, checkpoint, leave the group)')
      await app.close()
    }
  }
}
