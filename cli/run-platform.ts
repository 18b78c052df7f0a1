// What `rewards start` runs (see cli/commands/start.ts): the roles, the ops HTTP listener(s), and
// the shutdown sequence. Loaded only when `start` runs.
import type { FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { Liveness } from '../api/health/liveness.ts'
import { Readiness } from '../api/health/readiness.ts'
import { buildServer } from '../api/ops-server.ts'
import { maskUrl, safeConfigSummary, type RewardsConfig } from '../lib/config.ts'
import { DependencyHealth } from '../lib/dependency-health.ts'
import { offsetResetReporter } from '../lib/offset-reset-reporter.ts'
import { describeLogLocation, openLogFromConfig } from '../lib/open-log.ts'
import type { Log } from '../log/log-port.ts'
import { StateDirectory } from '../stores/state-directory.ts'
import { EXIT, describeFailure } from './cli-context.ts'
import { VERSION } from './version.ts'
import { SHUTDOWN_TIMEOUT_MS } from './shutdown-timeout.ts'
import { monitorDependencies } from './dependency-monitor.ts'
import { ROLE_NAMES, ROLES as ROLE_TABLE, type Role, type RoleContext, type RoleName } from './roles/index.ts'
import type { RoleEntry } from './roles/role.ts'
import type { StopSignals } from './graceful-stop.ts'


export interface RunOptions {
  readonly config: RoleContext['config']
  readonly logger: RoleContext['logger']
  readonly platform: RoleContext['platform']
  readonly requested: RoleName[] | 'all'
  readonly createTopics: boolean
  /** Installed by the command before anything loaded; signals are routed to the shutdown here. */
  readonly signals: StopSignals
  /** The role table; default ROLES (tests pass their own). */
  readonly roles?: Readonly<Record<RoleName, RoleEntry>>
}

export async function runPlatform (options: RunOptions): Promise<number> {
  const { config, logger, platform } = options
  const roleTable = options.roles ?? ROLE_TABLE
  const names = options.requested === 'all' ? [...ROLE_NAMES] : options.requested
  const available = names.filter(name => roleTable[name].factory !== null)
  const unavailable = names.filter(name => roleTable[name].factory === null)
  // One short line; the whole configuration (secrets masked) only at debug level, or on request
  // with `rewards config`.
  logger.info({ version: VERSION, roles: available }, `rewards ${VERSION} starting (roles: ${available.join(', ') || 'none'}; ${describeBackends(config)})`)
  logger.debug({ config: safeConfigSummary(config) }, 'effective configuration')
  for (const name of unavailable) {
    logger.warn({ role: name }, `role ${name} is not available yet in this build${options.requested === 'all' ? ' (skipped)' : ''}: ${roleTable[name].summary}`)
  }

  // One owner per state directory, checked before anything touches the log: a second instance on
  // the same directory (this host, or another container on a shared volume) stops here, naming
  // the holder, before it could fence the first one's producer (docs/decisions/0009).
  let stateDirectory: StateDirectory | undefined
  if (available.includes('processor')) {
    stateDirectory = new StateDirectory(config.stateDir, config.applicationId)
    try {
      stateDirectory.lock()
    } catch (error) {
      logger.error({ event: 'state_dir.lock_refused', dir: stateDirectory.appDir, err: error }, `cannot start: ${(error as Error).message}`)
      return EXIT.FAILED
    }
    const holder = stateDirectory.lockHolder!
    logger.info({ event: 'state_dir.locked', dir: stateDirectory.appDir, pid: holder.pid, host: holder.host, pidNamespace: holder.pidNamespace, bootId: holder.bootId },
      `state directory ${stateDirectory.appDir} locked by pid ${holder.pid} on host ${holder.host}`)
  }

  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const readiness = new Readiness()
  const liveness = new Liveness()
  // Explicitly requested roles that do not exist keep the instance not ready: it cannot serve them.
  if (options.requested !== 'all') {
    for (const name of unavailable) readiness.add(name, () => ({ ready: false, detail: 'role not available in this build' }))
  }
  // Kafka, PostgreSQL and Redis: outages logged, counted and shown by /health/ready.
  const dependencies = new DependencyHealth({ registry, logger })
  const server = buildServer({ readiness, liveness, registry, logger, topology: () => platform.view, serveMetrics: config.metricsPort === null })
  const metricsServer: FastifyInstance | null = config.metricsPort === null
    ? null
    : buildServer({ readiness, registry, logger: logger.child({ listener: 'metrics' }), serveHealth: false })

  let log: Promise<Log> | undefined
  let listening = ''
  let exitCode: number = EXIT.OK
  let stopping: Promise<number> | undefined
  const roles: Role[] = []
  // Probes start with the roles (monitor.start()); ctx.log is read only then.
  const monitor = monitorDependencies({ config, roles: available, health: dependencies, readiness, log: () => ctx.log() })
  const listens: Array<Promise<string>> = []
  let reportStopped: (code: number) => void = () => {}
  const stopped = new Promise<number>(resolve => { reportStopped = resolve })

  const shutdown = (reason: string, code: number): Promise<number> => {
    if (stopping !== undefined) return stopping
    exitCode = code
    readiness.markShuttingDown()
    logger.info({ reason }, `shutting down (${reason}): readiness is now false`)
    const timer = setTimeout(() => {
      logger.error(`shutdown did not finish within ${SHUTDOWN_TIMEOUT_MS} ms; exiting`)
      process.exit(EXIT.FAILED)
    }, SHUTDOWN_TIMEOUT_MS)
    timer.unref()
    stopping = (async () => {
      for (const role of [...roles].reverse()) {
        try {
          await role.close()
        } catch (error) {
          exitCode = EXIT.FAILED
          logger.error({ err: error, role: role.name }, `role ${role.name} did not close cleanly`)
        }
      }
      await monitor.stop()
      stateDirectory?.unlock() // the stream application released it, unless it never started
      // Never close a server while its listen() is in flight (Fastify would wait on its boot).
      await Promise.allSettled(listens)
      await Promise.allSettled([server.close(), metricsServer?.close()])
      if (log !== undefined) {
        try {
          await (await log).close()
        } catch { /* it failed to open; nothing to close */ }
      }
      clearTimeout(timer)
      logger.info({ exitCode }, 'stopped')
      return exitCode
    })()
    void stopping.then(reportStopped)
    return stopping
  }

  // A second signal is the signal handler's business (cli/graceful-stop.ts): it forces the exit.
  options.signals.handle(signal => { void shutdown(signal, EXIT.OK) })
  // A crash anywhere still runs the shutdown (bounded by SHUTDOWN_TIMEOUT_MS) and exits 1.
  const onCrash = (error: unknown): void => {
    logger.fatal({ err: error }, `uncaught error: ${(error as Error)?.message ?? String(error)}`)
    void shutdown('uncaught error', EXIT.FAILED)
  }
  process.on('uncaughtException', onCrash)
  process.on('unhandledRejection', onCrash)

  const ctx: RoleContext = {
    config,
    logger,
    registry,
    readiness,
    liveness,
    dependencies,
    server,
    platform,
    createTopics: options.createTopics,
    log: () => {
      log ??= openLogFromConfig(config, { clientId: `${config.applicationId}-${process.pid}`, onOffsetReset: offsetResetReporter({ logger, registry }) })
      return log
    },
    advertisedAddress: () => listening,
    fatal: error => {
      // As a command's one line: the code and the library's root cause say what to check.
      logger.error({ err: error }, `fatal: ${describeFailure(error)}`)
      void shutdown('fatal error', EXIT.FAILED)
    },
    ...(stateDirectory !== undefined ? { stateDirectory } : {})
  }

  try {
    // A signal that arrived while the modules loaded has already started the shutdown.
    if (stopping !== undefined) return await stopping
    for (const name of available) roles.push(await roleTable[name].factory!(ctx))
    if (stopping !== undefined) return await stopping
    monitor.start()
    const mainListen = server.listen({ host: config.httpHost, port: config.httpPort })
    listens.push(mainListen)
    const address = await mainListen
    const bound = server.server.address()
    listening = typeof bound === 'object' && bound !== null ? `${config.httpHost}:${bound.port}` : `${config.httpHost}:${config.httpPort}`
    logger.info({ address, port: typeof bound === 'object' && bound !== null ? bound.port : config.httpPort }, `HTTP listening on ${address} (GET /health/live, /health/ready, /v1/topology${metricsServer === null ? ', /metrics' : ''})`)
    if (metricsServer !== null) {
      const metricsListening = metricsServer.listen({ host: config.httpHost, port: config.metricsPort! })
      listens.push(metricsListening)
      const metricsAddress = await metricsListening
      logger.info({ address: metricsAddress }, `metrics listening on ${metricsAddress}/metrics`)
    }
  } catch (error) {
    logger.error({ err: error }, `cannot start: ${(error as Error).message}`)
    return Math.max(await shutdown('start-up failed', EXIT.FAILED), EXIT.FAILED)
  }

  for (const role of roles) {
    if (stopping !== undefined) break
    try {
      await role.start()
      if (stopping === undefined) logger.info({ role: role.name }, `role ${role.name} started`)
    } catch (error) {
      if (stopping !== undefined) break // interrupted by the shutdown
      ctx.fatal(error)
    }
  }
  if (roles.length === 0) logger.warn('no role is running: only the ops endpoints are served, and /health/ready stays 503')
  else if (stopping === undefined) {
    const urls = readyUrls(server, metricsServer, listening, available)
    logger.info({ event: 'ready', urls, roles: available }, `ready on ${urls.base} (roles: ${available.join(', ')}; ${Object.entries(urls).filter(([name]) => name !== 'base').map(([name, url]) => `${name} ${url}`).join(', ')})`)
  }
  // Run until a signal or a fatal error shuts us down (the HTTP listener keeps the process alive).
  const code = await stopped
  process.off('uncaughtException', onCrash)
  process.off('unhandledRejection', onCrash)
  return code
}

/** Where each backend is, for the start line: never credentials. */
function describeBackends (config: RewardsConfig): string {
  const archive = config.databaseUrl === null ? `embedded PostgreSQL in ${config.pgDir}` : `PostgreSQL at ${hostOf(config.databaseUrl)}`
  const cache = config.redisUrl === null ? 'in-process cache' : `Redis at ${hostOf(config.redisUrl)}`
  return `log: ${describeLogLocation(config)}; archive: ${archive}; cache: ${cache}`
}

function hostOf (url: string): string {
  try {
    return new URL(url).host
  } catch {
    return maskUrl(url)
  }
}

/** The URLs the "ready" line gives: the base, then what is served there. */
function readyUrls (server: FastifyInstance, metricsServer: FastifyInstance | null, listening: string, roles: readonly RoleName[]): Record<string, string> {
  const base = `http://${listening.includes(':') && listening.split(':').length > 2 ? `[${listening.slice(0, listening.lastIndexOf(':'))}]${listening.slice(listening.lastIndexOf(':'))}` : listening}`
  const urls: Record<string, string> = { base }
  if (roles.includes('api')) urls.api = `${base}/v1`
  if (server.hasRoute({ method: 'GET', url: '/docs' })) urls.docs = `${base}/docs`
  if (server.hasRoute({ method: 'GET', url: '/openapi.json' })) urls.openapi = `${base}/openapi.json`
  urls.health = `${base}/health/ready`
  const metricsAddress = metricsServer?.server.address()
  urls.metrics = metricsServer === null
    ? `${base}/metrics`
    : `http://${listening.slice(0, listening.lastIndexOf(':'))}:${typeof metricsAddress === 'object' && metricsAddress !== null ? metricsAddress.port : '?'}/metrics`
  return urls
}
