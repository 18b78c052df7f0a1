// What every command gets from the entry point: the environment (the only place process.env is
// read is cli/rewards.ts, which passes it here), the working directory and the output streams.
// Commands write results to `out` and problems to `err`; JSON logs also go to stderr.
import { Option, type Command } from 'commander'
import { loadConfig, SETTINGS, type RewardsConfig, type SettingKey } from '../lib/config.ts'
import { isRewardsError } from '../lib/errors.ts'

export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  readonly out: NodeJS.WritableStream
  readonly err: NodeJS.WritableStream
}

export const CONFIG_HELP_GROUP = 'Configuration (a flag overrides its REWARDS_* variable):'

/** Adds the configuration flags (one per REWARDS_* variable) to a command. */
export function withConfigOptions (command: Command): Command {
  for (const spec of SETTINGS) {
    command.addOption(
      new Option(`--${spec.flag} <${spec.valueName}>`, `${spec.description} [${spec.env}; default: ${spec.defaultText}]`)
        .helpGroup(CONFIG_HELP_GROUP)
    )
  }
  return command
}

/** The validated configuration from the command's flags and the environment. */
export function configFrom (ctx: CliContext, command: Command): RewardsConfig {
  const opts = command.opts<Record<string, unknown>>()
  const flags: Partial<Record<SettingKey, string>> = {}
  for (const spec of SETTINGS) {
    const value = opts[spec.key]
    if (typeof value === 'string') flags[spec.key] = value
  }
  return loadConfig({ env: ctx.env, flags, cwd: ctx.cwd })
}

/** Exit statuses of the `rewards` command. */
export const EXIT = Object.freeze({ OK: 0, FAILED: 1, CONFIG: 2 })

export function write (stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text.endsWith('\n') ? text : `${text}\n`, error => (error ? reject(error) : resolve()))
  })
}

/** Wraps a command's action: its return value is the exit status; a thrown error is printed as
 *  one line (`rewards <command>: [CODE] message`) and exits 1 (2 for configuration errors). */
export function action<A extends unknown[]> (ctx: CliContext, name: string, fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = (await fn(...args)) ?? EXIT.OK
    } catch (error) {
      await write(ctx.err, `rewards ${name}: ${describeFailure(error)}`)
      process.exitCode = isRewardsError(error, 'CONFIG_INVALID') ? EXIT.CONFIG : EXIT.FAILED
    }
  }
}

/** A failure as one line: `[CODE] message (root cause)`. The root cause from a library (e.g.
 *  "connect ECONNREFUSED 127.0.0.1:9092") often says what our message does not; a cause of our
 *  own already said its part. Used by the commands' one line and by `rewards start`'s fatal. */
export function describeFailure (error: unknown): string {
  const code = isRewardsError(error) ? `[${error.code}] ` : ''
  const root = rootCause(error)
  const message = (error as Error | null)?.message ?? String(error)
  const cause = root !== error && root instanceof Error && !isRewardsError(root) && !message.includes(root.message) ? ` (${root.message})` : ''
  return `${code}${message}${cause}`
}

/** The deepest error along `cause` (and the first of an AggregateError's `errors`). */
export function rootCause (error: unknown): unknown {
  let current = error
  for (let depth = 0; depth < 10; depth++) {
    const next = (current as { cause?: unknown } | null)?.cause ?? (current as { errors?: unknown[] } | null)?.errors?.[0]
    if (!(next instanceof Error)) return current
    current = next
  }
  return current
}
