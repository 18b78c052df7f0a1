// `rewards demo`: publishes realistic, seeded demo load (hotel stays, casino play, dining checks,
// reversals, redemptions, a few bad records) to reward-events / redeem-events, on Kafka or the
// embedded log, creating the platform topics if they are missing.
import { Command, InvalidArgumentError, Option } from 'commander'
import { loadConfig, SETTINGS, type SettingKey } from '../../lib/config.ts'
import { describeLogLocation, openLogFromConfig } from '../../lib/open-log.ts'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { publishDemo } from '../../processors/rewards/demo/publish-demo.ts'
import { parseRfc3339 } from '../../processors/rewards/rfc3339.ts'

/** The configuration settings this command uses (each also read from its REWARDS_* variable). */
const CONFIG_KEYS: readonly SettingKey[] = ['kafkaBrokers', 'dataDir', 'applicationId', 'partitions', 'topicPrefix']

function integer (name: string, min: number) {
  return (text: string): number => {
    const n = Number(text)
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`)
    return n
  }
}

export interface DemoCommandIo {
  /** Progress lines and the summary (default: stderr / stdout). */
  readonly progress?: (line: string) => void
  readonly output?: (line: string) => void
  readonly env?: Readonly<Record<string, string | undefined>>
}

export function demoCommand (io: DemoCommandIo = {}): Command {
  const command = new Command('demo')
    .description('publish realistic demo load (stays, casino play, dining, reversals, redemptions, a few bad records) to the input topics')
    .addOption(new Option('--rate <events/s>', 'events per second (0: as fast as possible)').default(100).argParser(integer('--rate', 0)))
    .addOption(new Option('--count <n>', 'events to publish (0: until interrupted)').default(10_000).argParser(integer('--count', 0)))
    .addOption(new Option('--seed <n>', 'random seed: the same seed gives the same events').default(1).argParser(integer('--seed', 0)))
    .addOption(new Option('--members <n>', 'distinct members').default(1000).argParser(integer('--members', 1)))
    .addOption(new Option('--start <rfc3339>', 'event time of the first event (default: now)').argParser(text => {
      const ms = parseRfc3339(text)
      if (ms === undefined) throw new InvalidArgumentError('--start must be an RFC 3339 timestamp, e.g. 2026-03-01T00:00:00Z')
      return ms
    }))
    .addOption(new Option('--bad-rate <fraction>', 'share of bad records (dead-letter demo)').default(0.005).argParser(text => {
      const n = Number(text)
      if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('--bad-rate must be between 0 and 1')
      return n
    }))
  for (const key of CONFIG_KEYS) {
    const spec = SETTINGS.find(s => s.key === key)!
    command.addOption(new Option(`--${spec.flag} <${spec.valueName}>`, `${spec.description} (env ${spec.env}; default ${spec.defaultText})`))
  }
  command.action(async (opts: Record<string, unknown>) => {
    const progressLine = io.progress ?? ((line: string) => process.stderr.write(line + '\n'))
    const output = io.output ?? ((line: string) => process.stdout.write(line + '\n'))
    const flags: Partial<Record<SettingKey, string>> = {}
    for (const key of CONFIG_KEYS) {
      const value = opts[key]
      if (typeof value === 'string') flags[key] = value
    }
    const config = loadConfig({ env: io.env ?? process.env, flags })
    const log = await openLogFromConfig(config, { clientId: `${config.applicationId}-demo` })
    const abort = new AbortController()
    const stop = (): void => abort.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    try {
      await ensurePlatformTopics(log, config)
      const count = opts.count as number
      progressLine(`demo: publishing ${count === 0 ? 'until interrupted' : `${count} events`} at ${opts.rate === 0 ? 'full speed' : `${String(opts.rate)}/s`} to ${describeLogLocation(config)} (seed ${String(opts.seed)}, ${String(opts.members)} members)`)
      let lastPrintMs = 0
      const result = await publishDemo(log, {
        seed: opts.seed as number,
        members: opts.members as number,
        count,
        ratePerSecond: opts.rate as number,
        badRecordRate: opts.badRate as number,
        ...(opts.start === undefined ? {} : { startTimeMs: opts.start as number }),
        topics: platformTopics(config),
        clientId: `${config.applicationId}-demo`,
        signal: abort.signal,
        onProgress: p => {
          if (p.elapsedMs - lastPrintMs < 1000) return
          lastPrintMs = p.elapsedMs
          progressLine(demoProgressLine(p, count))
        }
      })
      // The last line shows where it ended: 100 % of a count (or the count sent until interrupted).
      progressLine(demoProgressLine(result, count))
      output(JSON.stringify({ sent: result.sent, rewardEvents: result.rewardEvents, redeemEvents: result.redeemEvents, elapsedMs: result.elapsedMs, seed: opts.seed, members: opts.members }))
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      await log.close()
    }
  })
  return command
}

/** One progress line: count, rate and, for a count, the percentage and the ETA at this rate. */
export function demoProgressLine (p: { sent: number, rewardEvents: number, redeemEvents: number, elapsedMs: number }, count: number): string {
  const perSecond = Math.round(p.sent / Math.max(p.elapsedMs, 1) * 1000)
  const ofCount = count === 0 ? '' : `/${count} (${Math.floor(p.sent / count * 100)} %)`
  const eta = count === 0 || perSecond === 0 ? '' : `, ETA ${Math.ceil((count - p.sent) / perSecond)} s`
  return `demo: ${p.sent}${ofCount} events (${p.rewardEvents} reward, ${p.redeemEvents} redeem), ${perSecond}/s${eta}`
}
