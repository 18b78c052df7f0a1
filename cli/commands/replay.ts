// `rewards replay --from-archive`: republishes the archived input events into the input topics
// (processors/archive/replay.ts): in original order per member, skipping what is already there.
// Then `rewards rebuild` recomputes the state from them.
import { Command } from 'commander'
import { action, configFrom, EXIT, withConfigOptions, write, type CliContext } from '../cli-context.ts'

export function replayCommand (ctx: CliContext): Command {
  const command = new Command('replay')
    .description('Republish archived input events (reward-events, redeem-events) into the input topics, in original order per member, without duplicating what is already there')
    .requiredOption('--from-archive', 'replay from the PostgreSQL archive (the only source for now)')
    .option('--source-prefix <prefix>', 'topic prefix the archived records were read from (default: --topic-prefix, i.e. replay into the same topics)')
    .option('--dry-run', 'count what would be published, publish nothing')
    .addHelpText('after', [
      '',
      'Stop the processors first (or replay into fresh topics for a new application id), then run `rewards rebuild`.',
      '',
      'Examples:',
      '  rewards replay --from-archive                                   # same topics, after retention dropped records',
      '  rewards replay --from-archive --source-prefix "" --topic-prefix v2. --application-id rewards-v2',
      'Runbook: docs/runbooks/replay.md'
    ].join('\n'))
  withConfigOptions(command)
  command.action(action(ctx, 'replay', async () => {
    const config = configFrom(ctx, command)
    const opts = command.opts<{ sourcePrefix?: string, dryRun?: boolean }>()
    const [{ openLogFromConfig, describeLogLocation }, { ensurePlatformTopics, platformTopics }, { openArchiveDatabase }, { migrate }, { replayFromArchive }, { Progress }] = await Promise.all([
      import('../../lib/open-log.ts'), import('../../lib/platform-topics.ts'), import('../archive-database.ts'), import('../../lib/db/migrate.ts'),
      import('../../processors/archive/replay.ts'), import('../progress.ts')
    ])
    const source = platformTopics({ topicPrefix: opts.sourcePrefix ?? config.topicPrefix })
    const target = platformTopics(config)
    const log = await openLogFromConfig(config, { clientId: `${config.applicationId}-replay` })
    try {
      const db = await openArchiveDatabase(config)
      try {
        await migrate(db)
        if (opts.dryRun !== true) await ensurePlatformTopics(log, config)
        await write(ctx.out, `Replaying archived ${source.rewardEvents}, ${source.redeemEvents} into ${target.rewardEvents}, ${target.redeemEvents} on ${describeLogLocation(config)}${opts.dryRun === true ? ' (dry run)' : ''}`)
        const scan = new Progress(ctx.err, 'scan target topics')
        const publish = new Progress(ctx.err, 'replay')
        let phase: 'scan' | 'publish' | undefined
        let outcome: Awaited<ReturnType<typeof replayFromArchive>>
        try {
          outcome = await replayFromArchive({
            db,
            log,
            source,
            target,
            dryRun: opts.dryRun === true,
            onProgress: (next, done, total) => {
              if (next === 'publish' && phase === 'scan') scan.stop()
              phase = next
              ;(next === 'scan' ? scan : publish).update(done, total)
            }
          })
        } catch (error) {
          ;(phase === 'publish' ? publish : scan).stop()
          throw error
        }
        if (phase === 'scan') scan.stop()
        // The publish phase reports after each page: its last report is the whole archive.
        publish.done(outcome.archived)
        await write(ctx.out, `${outcome.archived} archived input record(s): ${outcome.alreadyPresent} already in the topics, ${outcome.published} ${opts.dryRun === true ? 'would be ' : ''}published`)
        if (outcome.published > 0 && opts.dryRun !== true) await write(ctx.out, 'Next: `rewards rebuild` (processors stopped) so the state is recomputed from the topics.')
        return EXIT.OK
      } finally {
        await db.close()
      }
    } finally {
      await log.close()
    }
  }))
  return command
}
