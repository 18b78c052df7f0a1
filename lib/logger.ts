// Logs (pino), one event per line on stderr (stdout stays free for command output such as
// `--json`), in one of two formats (docs/observability.md "Logs"):
// - json: one JSON object per line: level, time, msg, plus context (role, reqId, …), and
//   trace_id/span_id on lines logged inside a span (tracing/log-trace-fields.ts);
// - pretty: the same events as coloured text for a person at a terminal (pino-pretty).
// Secrets never reach a logger: configuration is logged only through safeConfigSummary(), and the
// redact list below is a second line of defence for fields that commonly carry them.
import { pino, type Logger } from 'pino'
import pretty from 'pino-pretty'
import type { LogFormat, LogLevel } from './config.ts'
import { traceMixin } from './tracing/log-trace-fields.ts'

export type { Logger } from 'pino'

export interface LoggerOptions {
  readonly level: LogLevel
  /** Default json; 'auto' is pretty when the destination is a terminal. */
  readonly format?: LogFormat
  /** Default: stderr (fd 2). Tests pass a stream to capture lines. */
  readonly destination?: NodeJS.WritableStream | number
  /** Base fields on every line. */
  readonly base?: Record<string, unknown>
}

export const REDACT_PATHS = [
  'password', '*.password', 'databaseUrl', '*.databaseUrl', 'redisUrl', '*.redisUrl',
  'clientSecret', '*.clientSecret', 'req.headers.authorization', 'headers.authorization',
  'kafkaSaslUsername', '*.kafkaSaslUsername', 'kafkaSaslPassword', '*.kafkaSaslPassword', 'sasl.password', '*.sasl.password'
]

function isTerminal (destination: NodeJS.WritableStream | number): boolean {
  return typeof destination === 'number' ? destination === 2 && process.stderr.isTTY === true : (destination as { isTTY?: boolean }).isTTY === true
}

/** The format 'auto' stands for on this destination. */
export function resolveLogFormat (format: LogFormat, destination: NodeJS.WritableStream | number): 'pretty' | 'json' {
  if (format !== 'auto') return format
  return isTerminal(destination) ? 'pretty' : 'json'
}

export function createLogger (options: LoggerOptions): Logger {
  const destination = options.destination ?? 2
  const format = resolveLogFormat(options.format ?? 'json', destination)
  const stream = format === 'pretty'
    // Synchronous, in this thread: a line logged just before exit is never lost.
    ? pretty({
      destination,
      sync: true,
      colorize: isTerminal(destination),
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,app'
    })
    : typeof destination === 'number' ? pino.destination({ dest: destination, sync: true }) : destination
  return pino({
    level: options.level,
    base: { pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: label => ({ level: label }) },
    mixin: traceMixin,
    redact: { paths: REDACT_PATHS, censor: '***' }
  }, stream)
}
