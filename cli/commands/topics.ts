// `rewards topics create`: creates the platform topics that are missing (idempotent) and prints
// each with its partition count and whether it was created or already there. Changelog topics
// are created by the stream application itself on start.
import { Command } from 'commander'
import { openLogFromConfig, describeLogLocation } from '../../lib/open-log.ts'
import { ensureNotificationsDlqTopic, ensurePlatformTopics } from '../../lib/platform-topics.ts'
import { action, configFrom, withConfigOptions, write, type CliContext } from '../cli-context.ts'
import { formatTable } from '../format-table.ts'

export function topicsCommand (ctx: CliContext): Command {
  const topics = new Command('topics').description('Manage the platform topics')
  const create = new Command('create')
    .description('Create reward-events and redeem-events (co-partitioned, REWARDS_PARTITIONS partitions), reward-confirmed, redeem-confirmed and both -dlq topics (and notifications-dlq with a notifications file), when missing')
    .option('--json', 'print the outcome as JSON')
    .addHelpText('after', '\nExamples:\n  rewards topics create --kafka-brokers 127.0.0.1:9092 --partitions 12\n  REWARDS_TOPIC_PREFIX=staging. rewards topics create')
  withConfigOptions(create)
  create.action(action(ctx, 'topics create', async () => {
    const config = configFrom(ctx, create)
    const log = await openLogFromConfig(config, { clientId: `${config.applicationId}-topics-cli` })
    try {
      const outcome = await ensurePlatformTopics(log, config)
      // The notifications DLQ only when partner webhooks are configured (docs/notifications.md).
      if (config.notificationsFile !== null) outcome.push(await ensureNotificationsDlqTopic(log, config))
      if (create.opts<{ json?: boolean }>().json === true) {
        await write(ctx.out, JSON.stringify({ log: log.kind, topics: outcome }, null, 2))
      } else {
        const created = outcome.filter(t => t.status === 'created').length
        await write(ctx.out, `${formatTable(['TOPIC', 'PARTITIONS', 'STATUS'], outcome.map(t => [t.name, t.partitions, t.status === 'created' ? 'created' : 'exists']))}\n` +
          `${created} created, ${outcome.length - created} already existed on ${describeLogLocation(config)}`)
      }
    } finally {
      await log.close()
    }
  }))
  topics.addCommand(create)
  return topics
}
