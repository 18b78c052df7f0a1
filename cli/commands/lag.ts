// `rewards lag`: consumer lag per group, topic and partition: the group's committed offset
// against the partition's latest (last stable) offset. A partition without a committed offset is
// shown with COMMITTED "-" and the lag counted from the log start (the engine starts from the
// earliest offset), so a group that never committed shows everything it still has to read.
import { runningPlatformUrl } from '../../api/auth/admin-run-file.ts'
import { Command } from 'commander'
import type { Log, TopicPartition } from '../../log/log-port.ts'
import { RewardsError, isRewardsError } from '../../lib/errors.ts'
import { openLogFromConfig } from '../../lib/open-log.ts'
import { action, configFrom, withConfigOptions, write, type CliContext } from '../cli-context.ts'
import { formatTable } from '../format-table.ts'
import { platformTopics } from '../../lib/platform-topics.ts'

export interface PartitionLag {
  readonly group: string
  readonly topic: string
  readonly partition: number
  readonly committed: string | null
  readonly latest: string
  readonly lag: string
}

export interface GroupLag {
  readonly group: string
  readonly state: string
  readonly members: number
  readonly totalLag: string
  readonly partitions: PartitionLag[]
}

export async function groupLag (log: Log, group: string, topics: string[]): Promise<GroupLag> {
  const described = await log.admin.describeTopics(topics)
  const tps: TopicPartition[] = described.flatMap(d => Array.from({ length: d.partitions }, (_, partition) => ({ topic: d.name, partition })))
  const key = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`
  const [latest, earliest, committed, description] = await Promise.all([
    log.admin.listOffsets(tps, 'latest'),
    log.admin.listOffsets(tps, 'earliest'),
    log.admin.listCommittedOffsets(group, tps),
    log.admin.describeGroup(group)
  ])
  const latestBy = new Map(latest.map(o => [key(o), o.offset]))
  const earliestBy = new Map(earliest.map(o => [key(o), o.offset]))
  const committedBy = new Map(committed.map(o => [key(o), o.offset]))
  let total = 0n
  const partitions = tps.map(tp => {
    const end = latestBy.get(key(tp)) ?? 0n
    const start = earliestBy.get(key(tp)) ?? 0n
    const done = committedBy.get(key(tp))
    const from = done ?? start
    const lag = end > from ? end - from : 0n
    total += lag
    return { group, topic: tp.topic, partition: tp.partition, committed: done === undefined ? null : String(done), latest: String(end), lag: String(lag) }
  })
  return { group, state: description.state, members: description.members.length, totalLag: String(total), partitions }
}

function collect (value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map(s => s.trim()).filter(Boolean)]
}

export function lagCommand (ctx: CliContext): Command {
  const command = new Command('lag')
    .description('Show consumer lag per group, topic and partition (committed offset vs latest)')
    .option('--group <group>', 'consumer group (repeatable or comma-separated; default: the application id)', collect)
    .option('--topic <topic>', 'topics to report (repeatable or comma-separated; default: reward-events and redeem-events)', collect)
    .option('--json', 'print the lag as JSON')
    .addHelpText('after', '\nExamples:\n  rewards lag\n  rewards lag --group rewards --topic reward-events --json')
  withConfigOptions(command)
  command.action(action(ctx, 'lag', async () => {
    const config = configFrom(ctx, command)
    const opts = command.opts<{ group?: string[], topic?: string[], json?: boolean }>()
    const groups = opts.group ?? [config.applicationId]
    const names = platformTopics(config)
    const topics = opts.topic ?? [names.rewardEvents, names.redeemEvents]
    const log = await openLogFromConfig(config, { clientId: `${config.applicationId}-lag-cli` }).catch((error: unknown) => {
      if (isRewardsError(error, 'STATE_DIR_LOCKED')) {
        throw new RewardsError('STATE_DIR_LOCKED', `${error.message}. A running instance on the embedded log publishes its lag as streams_consumer_lag_records on GET ${runningPlatformUrl(config)}/metrics`, { cause: error })
      }
      throw error
    })
    try {
      const existing = new Set((await log.admin.describeTopics(topics)).map(d => d.name))
      const missing = topics.filter(t => !existing.has(t))
      if (missing.length === topics.length) throw new Error(`none of the topics exist: ${missing.join(', ')} (run \`rewards topics create\`)`)
      const results: GroupLag[] = []
      for (const group of groups) results.push(await groupLag(log, group, topics.filter(t => existing.has(t))))
      if (opts.json === true) {
        await write(ctx.out, JSON.stringify({ groups: results, missingTopics: missing }, null, 2))
        return
      }
      const rows = results.flatMap(g => g.partitions.map(p => [p.group, p.topic, p.partition, p.committed ?? '-', p.latest, p.lag]))
      const summary = results.map(g => `group ${g.group}: state ${g.state}, ${g.members} member(s), total lag ${g.totalLag}`)
      await write(ctx.out, [formatTable(['GROUP', 'TOPIC', 'PARTITION', 'COMMITTED', 'LATEST', 'LAG'], rows), '', ...summary,
        ...(missing.length > 0 ? [`missing topics (skipped): ${missing.join(', ')}`] : [])].join('\n'))
    } finally {
      await log.close()
    }
  }))
  return command
}
