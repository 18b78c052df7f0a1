// `rewards start [--role …]`: runs roles of the platform in this process, with the ops HTTP
// endpoints on REWARDS_HTTP_HOST:REWARDS_HTTP_PORT.
//
// Shutdown (SIGTERM, SIGINT or SIGHUP, or a role failing): readiness goes false at once, then the
// roles close in reverse order (the processor commits, checkpoints its stores and leaves the
// group), then the HTTP listeners close, then the log. Exit 0 after a signal, 1 after a failure. A
// second signal, or shutdown taking longer than SHUTDOWN_TIMEOUT_MS, exits 1 at once
// (cli/graceful-stop.ts; docs/cli.md "Stopping").
import { Command, Option } from 'commander'
import { createLogger, type Logger } from '../../lib/logger.ts'
import { TRACING_HELP, tracingSettings } from '../../lib/tracing/tracing-settings.ts'
import { SHUTDOWN_TIMEOUT_MS } from '../shutdown-timeout.ts'
import { action, configFrom, withConfigOptions, type CliContext } from '../cli-context.ts'
import { ROLE_DESCRIPTIONS, ROLE_NAMES, type RoleName } from '../roles/role.ts'
import { gracefulStop, type GracefulStop } from '../graceful-stop.ts'

function parseRoles (value: string): RoleName[] | 'all' {
  const parts = value.split(',').map(s => s.trim()).filter(Boolean)
  if (parts.length === 1 && parts[0] === 'all') return 'all'
  const bad = parts.filter(p => !(ROLE_NAMES as readonly string[]).includes(p))
  if (parts.length === 0 || bad.length > 0) throw new Error(`--role ${JSON.stringify(value)}: expected all, or one or more of ${ROLE_NAMES.join(', ')} (comma-separated)`)
  return [...new Set(parts as RoleName[])]
}

export function startCommand (ctx: CliContext): Command {
  const command = new Command('start')
    .description('Start the platform: one or more roles in this process, with /health, /metrics and /v1/topology on the HTTP listener')
    .addOption(new Option('--role <roles>', `roles to run: all, or a comma-separated list of ${ROLE_NAMES.join(', ')}`).default('all'))
    .option('--create-topics', 'create the platform topics when missing (always done on the embedded log)')
    .addHelpText('after', [
      '',
      'Roles:',
      ...ROLE_NAMES.map(name => `  ${name.padEnd(10)} ${ROLE_DESCRIPTIONS[name]}`),
      '',
      'With nothing configured it runs embedded: log and state under ./data, HTTP on 127.0.0.1:8080.',
      'SIGTERM, SIGINT (Ctrl-C) or SIGHUP: readiness goes false, the roles close (commit, checkpoint),',
      'then HTTP; exit 0. A second signal during that exits 1 at once.',
      TRACING_HELP,
      '',
      'Examples:',
      '  rewards start',
      '  rewards start --role processor --kafka-brokers 127.0.0.1:9092 --create-topics --http-port 8081'
    ].join('\n'))
  withConfigOptions(command)
  command.action(action(ctx, 'start', async () => {
    // Before anything loads: a signal from now on gets the graceful path.
    let logger: Logger | undefined
    const signals = gracefulStop({
      timeoutMs: SHUTDOWN_TIMEOUT_MS,
      say: message => { if (logger !== undefined) logger.warn(message); else ctx.err.write(`rewards start: ${message}\n`) }
    })
    try {
      const status = startPlatform(ctx, command, signals, created => { logger = created })
      signals.outcome(status)
      return await status
    } finally {
      signals.uninstall()
    }
  }))
  return command
}

async function startPlatform (ctx: CliContext, command: Command, signals: GracefulStop, onLogger: (logger: Logger) => void): Promise<number> {
  const config = configFrom(ctx, command)
  const opts = command.opts<{ role: string, createTopics?: boolean }>()
  const requested = parseRoles(opts.role)
  const tracing = tracingSettings(ctx.env)
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, base: { app: 'rewards' } })
  onLogger(logger)
  // The engine, Fastify and the log clients load only now (keeps --help and other commands fast);
  // the OpenTelemetry SDK only when tracing is configured, and before anything it traces.
  logger.debug('loading the engine')
  const sdk = tracing.enabled ? await (await import('../../lib/tracing/tracing-sdk.ts')).startTracing(tracing) : null
  if (sdk !== null) logger.info({ exporters: tracing.exporters, sampler: tracing.sampler, serviceName: tracing.serviceName }, `tracing on (${tracing.exporters.join(', ')}; sampler ${tracing.sampler})`)
  try {
    const [{ rewardsPlatform }, { runPlatform }] = await Promise.all([import('../rewards-platform.ts'), import('../run-platform.ts')])
    const platform = rewardsPlatform(config)
    return await runPlatform({ config, logger, platform, requested, signals, createTopics: opts.createTopics === true || config.kafkaBrokers === null })
  } finally {
    // Spans still buffered are exported before the process exits.
    await sdk?.shutdown().catch((error: unknown) => logger.warn({ err: error }, `tracing shutdown failed: ${(error as Error).message}`))
  }
}

