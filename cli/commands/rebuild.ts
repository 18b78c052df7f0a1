// `rewards rebuild`: the application reset (as Kafka Streams' kafka-streams-application-reset):
//   1. stop check: refuse while the application's consumer group has members (unless --force,
//      which waits for stale members to time out instead of refusing);
//   2. reset the group's committed offsets on the input topics to the earliest offsets;
//   3. delete the application's changelog topics (`<application-id>-<store>-changelog`) and
//      repartition topics (`<application-id>-<name>-repartition`);
//   4. delete the local state (every task directory under <data-dir>/state/<application-id>; the
//      instance id, which keeps the transactional id stable, is kept).
// The next start recreates the changelogs and reprocesses every input record. With --reprocess
// this command does that now, in this process, with progress, and stops when caught up.
// Output topics are not touched: reprocessing emits the confirmations again (consumers dedupe
// by eventId / redemptionId; the archive keeps both and reconcile takes the latest).
import { Command } from 'commander'
import { Progress } from '../progress.ts'
import { action, configFrom, EXIT, withConfigOptions, write, type CliContext } from '../cli-context.ts'

export function rebuildCommand (ctx: CliContext): Command {
  const command = new Command('rebuild')
    .description('Reset the application: input offsets to earliest, delete its changelog topics and local state, so the next start reprocesses everything')
    .option('--force', 'do not refuse while the group has members: wait (up to --wait-seconds) for them to leave or time out')
    .option('--wait-seconds <n>', 'with --force: how long to wait for the group to become empty', '60')
    .option('--reprocess', 'then run the processor here until every input record is reprocessed (progress shown), and stop')
    .option('--dry-run', 'print what would be done, do nothing')
    .addHelpText('after', [
      '',
      'Stop every instance of the application first (its consumer group must be empty).',
      'Output topics and the archive are not touched.',
      '',
      'Examples:',
      '  rewards rebuild --kafka-brokers 127.0.0.1:9092',
      '  rewards rebuild --reprocess            # embedded: reset and reprocess now',
      'Runbook: docs/runbooks/rebuild.md'
    ].join('\n'))
  withConfigOptions(command)
  command.action(action(ctx, 'rebuild', async () => {
    const config = configFrom(ctx, command)
    const opts = command.opts<{ force?: boolean, waitSeconds: string, reprocess?: boolean, dryRun?: boolean }>()
    const [{ openLogFromConfig, describeLogLocation }, { rewardsPlatform }, { changelogTopicName }, { StateDirectory }, { Registry }, support] = await Promise.all([
      import('../../lib/open-log.ts'), import('../rewards-platform.ts'), import('../../topology/runtime/stream-task.ts'),
      import('../../stores/state-directory.ts'), import('prom-client'), import('./ops-support.ts')
    ])
    const platform = rewardsPlatform(config)
    const group = config.applicationId
    const say = (line: string): Promise<void> => write(ctx.out, line)
    const dry = opts.dryRun === true
    const verb = (did: string, would: string): string => (dry ? would : did)
    const log = await openLogFromConfig(config, { clientId: `${config.applicationId}-rebuild` })
    try {
      await say(`Rebuilding application "${group}" on ${describeLogLocation(config)}${opts.dryRun === true ? ' (dry run)' : ''}`)
      // 1. Stop check.
      let description = await log.admin.describeGroup(group)
      if (description.members.length > 0) {
        const who = description.members.map(m => m.clientId).join(', ')
        if (opts.force !== true) {
          await write(ctx.err, `rewards rebuild: the consumer group "${group}" has ${description.members.length} member(s) (${who}): stop every instance first, or use --force to wait for stale members to time out`)
          return EXIT.FAILED
        }
        const waitMs = Number(opts.waitSeconds) * 1000
        await say(`  group has ${description.members.length} member(s) (${who}); --force: waiting up to ${opts.waitSeconds} s for it to become empty`)
        const deadline = Date.now() + waitMs
        while (description.members.length > 0 && Date.now() < deadline) {
          await new Promise(resolve => setTimeout(resolve, 1000))
          description = await log.admin.describeGroup(group)
        }
        if (description.members.length > 0) {
          await write(ctx.err, `rewards rebuild: the group "${group}" still has ${description.members.length} member(s) after ${opts.waitSeconds} s; nothing was changed`)
          return EXIT.FAILED
        }
      }
      await say(`  stop check: group "${group}" has no members`)

      // 2. Input offsets to earliest.
      const inputs = await support.partitionsOf(log, [platform.topics.rewardEvents, platform.topics.redeemEvents])
      if (inputs.length === 0) {
        await say('  input topics do not exist: no offsets to reset')
      } else {
        const earliest = await log.admin.listOffsets(inputs, 'earliest')
        const committed = new Map((await log.admin.listCommittedOffsets(group, inputs)).map(o => [`${o.topic}:${o.partition}`, o.offset]))
        const moved = earliest.reduce((n, o) => n + Number((committed.get(`${o.topic}:${o.partition}`) ?? o.offset) - o.offset), 0)
        if (opts.dryRun !== true) await log.admin.alterCommittedOffsets(group, earliest)
        await say(`  ${verb('reset', 'would reset')} offsets of ${inputs.length} input partition(s) (${[platform.topics.rewardEvents, platform.topics.redeemEvents].join(', ')}) to earliest: ${moved} record(s) to reprocess`)
      }

      // 3. Changelog topics.
      const changelogs = platform.topology.storeDefinitions().filter(d => d.changelog).map(d => changelogTopicName(config.applicationId, d.name))
      const existing = (await log.admin.describeTopics(changelogs)).map(d => d.name)
      if (opts.dryRun !== true) await log.admin.deleteTopics(existing)
      await say(existing.length > 0 ? `  ${verb('deleted', 'would delete')} changelog topics: ${existing.join(', ')}` : '  no changelog topics to delete')
      // Repartition topics hold records of the old run in flight (docs/engine.md "Repartition topics").
      const repartitions = (await log.admin.describeTopics(platform.topology.withApplicationId(config.applicationId).internalTopics().map(t => t.name))).map(d => d.name)
      if (repartitions.length > 0) {
        if (opts.dryRun !== true) await log.admin.deleteTopics(repartitions)
        await say(`  ${verb('deleted', 'would delete')} repartition topics: ${repartitions.join(', ')}`)
      }

      // 4. Local state.
      const directory = new StateDirectory(config.stateDir, config.applicationId)
      let wiped: string[] = []
      try {
        directory.lock()
      } catch (error) {
        await write(ctx.err, `rewards rebuild: the local state directory ${directory.appDir} is in use by a running instance: ${(error as Error).message}`)
        return EXIT.FAILED
      }
      try {
        wiped = directory.listTaskDirs()
        if (opts.dryRun !== true) for (const task of wiped) directory.wipeTask(task)
      } finally {
        directory.unlock()
      }
      await say(wiped.length > 0 ? `  ${verb('deleted', 'would delete')} local state of ${wiped.length} task(s) under ${directory.appDir}` : `  no local state under ${directory.appDir}`)
      if (opts.dryRun === true) return EXIT.OK

      if (opts.reprocess === true) {
        await say('  reprocessing every input record now…')
        const running = await support.runProcessorUntilCaughtUp({ config, log, platform, registry: new Registry(), progress: new Progress(ctx.err, 'reprocess') })
        await running.close()
        await say('Done: state rebuilt from the input topics (stores checkpointed under the state directory, changelogs recreated).')
      } else {
        await say('Done. The next `rewards start` recreates the changelogs and reprocesses every input record (progress: rewards lag, or rewards_store_restore_* and consumer lag metrics).')
      }
      return EXIT.OK
    } finally {
      await log.close()
    }
  }))
  return command
}
