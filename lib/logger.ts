// Structured JSON logs (pino), one line per event on stderr (stdout stays free for command
// output such as `--json`). Fields: level, time, msg, plus context (role, reqId, …), and
// trace_id/span_id on lines logged inside a span (tracing/log-trace-fields.ts). Secrets never
// reach a logger: configuration is logged only through safeConfigSummary(), and the redact list
// below is a second line of defence for fields that commonly carry them.
import { pino, type Logger } from 'pino'
import type { LogLevel } from './config.ts'
import { traceMixin } from './tracing/log-trace-fields.ts'

export type { Logger } from 'pino'

export interface LoggerOptions {
  readonly level: LogLevel
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

export function createLogger (options: LoggerOptions): Logger {
  const destination = options.destination ?? 2
  const stream = typeof destination === 'number' ? pino.destination({ dest: destination, sync: true }) : destination
  return pino({
    level: options.level,
    base: { pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: label => ({ level: label }) },
    mixin: traceMixin,
    redact: { paths: REDACT_PATHS, censor: '***' }
  }, stream)
}
