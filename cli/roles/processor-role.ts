// The processor role: runs the rewards topology as a StreamsApplication on the configured log.
// Ready (for /health/ready) once the application is RUNNING and every local store is READY.
import { ensurePlatformTopics } from '../../lib/platform-topics.ts'
import { describeLogLocation } from '../../lib/open-log.ts'
import { StreamsApplication } from '../../topology/streams-application.ts'
import type { Role, RoleContext } from './role.ts'
import { restoreCompletedLog } from './restore-completed-log.ts'
import { apiServicesFor } from '../../api/api-services.ts'
import { registerStreamsQueries } from '../../api/streams-queries.ts'

export function processorRole (ctx: RoleContext): Role & { readonly app: () => StreamsApplication | undefined } {
  let app: StreamsApplication | undefined
  let closing = false
  let starting: Promise<void> | undefined
  const logger = ctx.logger.child({ role: 'processor' })
  // Interactive queries: internal routes for queries forwarded by other instances (api/).
  const api = apiServicesFor(ctx.server, { config: ctx.config, registry: ctx.registry, logger, advertisedAddress: ctx.advertisedAddress, dependencies: ctx.dependencies })
  registerStreamsQueries(ctx.server, () => app, () => api)

  ctx.readiness.add('processor', () => {
    if (app === undefined) return { ready: false, detail: 'starting' }
    if (app.state !== 'RUNNING') return { ready: false, detail: `stream application is ${app.state}` }
    const tasks = app.localTasks()
    const restoring = tasks.filter(t => !t.ready).map(t => t.task)
    if (restoring.length > 0) return { ready: false, detail: `restoring task(s) ${restoring.join(', ')}` }
    return { ready: true, detail: `RUNNING with ${tasks.length} task(s)` }
  })

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
      app = new StreamsApplication(ctx.platform.topologyWithMetrics(ctx.registry), {
        log,
        registry: ctx.registry,
        ...(ctx.stateDirectory !== undefined ? { stateDirectory: ctx.stateDirectory } : {}),
        config: {
          applicationId: config.applicationId,
          stateDir: config.stateDir,
          processingGuarantee: config.processingGuarantee,
          applicationServer: ctx.advertisedAddress()
        }
      })
      // `event: restore.completed` with durationMs is what the AWS RestoreTime alarm's metric
      // filter reads (restore-completed-log.ts); Prometheus has rewards_task_restore_duration_seconds.
      app.onTaskRestored(restored => {
        const { fields, message } = restoreCompletedLog(restored)
        logger.info(fields, message)
      })
      // Each recovered commit failure: operators see why rewards_commits_total{result!="committed"} moves.
      app.onCommitFailed(({ result, error, consecutive }) => {
        const action = result === 'aborted' ? 'reading again from the committed offsets' : 'producer replaced, tasks restored from their changelogs'
        logger.warn({ event: 'commit.failed', result, consecutive, err: error }, `commit ${result} (${consecutive} in a row): ${action}`)
      })
      app.onStateChange((next, old, error) => {
        logger.info({ from: old, to: next }, `stream application ${old} -> ${next}`)
        if (next === 'ERROR') ctx.fatal(error ?? app?.error ?? new Error('stream application failed'))
      })
      logger.info({ applicationId: config.applicationId, log: describeLogLocation(config), stateDir: config.stateDir, guarantee: config.processingGuarantee }, 'starting the stream application')
      starting = app.start()
      await starting
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
