// `rewards notifications replay-dlq`: sends the notifications DLQ's records again to their
// partner endpoints once the partner is fixed (processors/notifications/dlq-replay.ts says how and
// why; docs/notifications.md). One endpoint (--endpoint) or every endpoint of the notifications
// file, each with its own progress group, so a re-run sends nothing already replayed.
import { Command, InvalidArgumentError, Option } from 'commander'
import { RewardsError } from '../../lib/errors.ts'
import { action, configFrom, EXIT, withConfigOptions, write, type CliContext } from '../cli-context.ts'

function positiveInteger (text: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('--limit must be a whole number ≥ 1')
  return n
}

export function notificationsCommand (ctx: CliContext): Command {
  const notifications = new Command('notifications')
    .description('Partner webhook notifications: operate the notifications DLQ (docs/notifications.md)')

  const replay = new Command('replay-dlq')
    .description('Send the records of the notifications DLQ again to their endpoint (same body and idempotency key, freshly signed), after the partner is fixed')
    .option('--endpoint <id>', 'replay this endpoint\'s records only (default: every endpoint of the notifications file, one after the other)')
    .option('--dry-run', 'count what would be sent; send nothing, record no progress')
    .addOption(new Option('--limit <n>', 'send at most n records per endpoint in this run (the next run goes on from there)').argParser(positiveInteger))
    .addHelpText('after', [
      '',
      'Reads <topic-prefix>notifications-dlq up to its end as the run begins and sends each record dead-lettered',
      'for the endpoint straight to it, through the endpoint\'s settings from the notifications file',
      '(REWARDS_NOTIFICATIONS_FILE, with its secret variables set): concurrency, retries, timeout.',
      'At least once: the partner dedupes on the Idempotency-Key it already saw.',
      '',
      'Progress is kept in the consumer group <application-id>-notifications-replay-<endpoint>: a re-run',
      'sends nothing already replayed. The run stops, exit status 1, as soon as the partner fails again',
      '(its circuit opens or a record exhausts its retries); what it did not deliver is left for the next',
      'run. A record the partner refuses (4xx other than 408/429) is reported and passed (it stays in the',
      'DLQ). Run one replay per endpoint at a time.',
      '',
      'Examples:',
      '  rewards notifications replay-dlq --endpoint hotel-crm --dry-run',
      '  rewards notifications replay-dlq --endpoint hotel-crm',
      '  rewards notifications replay-dlq --limit 100          # every endpoint, 100 records each',
      'Documentation: docs/notifications.md#replaying-the-dlq'
    ].join('\n'))
  withConfigOptions(replay)
  replay.action(action(ctx, 'notifications replay-dlq', async () => {
    const config = configFrom(ctx, replay)
    const opts = replay.opts<{ endpoint?: string, dryRun?: boolean, limit?: number }>()
    if (config.notifications === null) {
      throw new RewardsError('CONFIG_INVALID', 'no notifications file (REWARDS_NOTIFICATIONS_FILE or --notifications-file): the replay sends to the endpoints it configures, with their URLs and secrets')
    }
    const configured = config.notifications.endpoints
    const endpoints = opts.endpoint === undefined ? configured : configured.filter(e => e.id === opts.endpoint)
    if (endpoints.length === 0) {
      const known = configured.length === 0 ? 'none' : configured.map(e => e.id).join(', ')
      throw new RewardsError('CONFIG_INVALID', `${opts.endpoint === undefined ? 'no endpoint' : `no endpoint "${opts.endpoint}"`} in the notifications file ${config.notifications.file} (endpoints: ${known})`)
    }
    const [{ openLogFromConfig, describeLogLocation }, { notificationsDlqTopic }, { replayDlq, replayGroupId }, { Progress }] = await Promise.all([
      import('../../lib/open-log.ts'), import('../../lib/platform-topics.ts'), import('../../processors/notifications/dlq-replay.ts'), import('../progress.ts')
    ])
    const dlqTopic = notificationsDlqTopic(config)
    const dryRun = opts.dryRun === true
    // Ctrl-C: stop sending, record what was delivered, exit.
    const interrupt = new AbortController()
    const onSignal = (): void => interrupt.abort()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    const log = await openLogFromConfig(config, { clientId: `${config.applicationId}-notifications-replay` })
    let failed = false
    const unknown = new Map<string, number>()
    try {
      await write(ctx.out, `Replaying ${dlqTopic} on ${describeLogLocation(config)}${dryRun ? ' (dry run: nothing is sent)' : ''}`)
      for (const endpoint of endpoints) {
        if (interrupt.signal.aborted) break
        const groupId = replayGroupId(config.applicationId, endpoint.id)
        await write(ctx.out, `${endpoint.id}: to ${endpoint.url} (progress in group ${groupId})`)
        const progress = new Progress(ctx.err, `replay-dlq ${endpoint.id}`)
        const result = await replayDlq({
          log,
          dlqTopic,
          endpoint,
          groupId,
          dryRun,
          ...(opts.limit === undefined ? {} : { limit: opts.limit }),
          signal: interrupt.signal,
          onProgress: (read, total) => progress.update(read, total),
          onSkipped: skipped => { void write(ctx.out, `  ${skipped.why}: ${skipped.source} (DLQ ${skipped.dlq}): ${skipped.detail}; left in the DLQ`) }
        })
        // 100 % only when everything was read: --limit, a stop or Ctrl-C leave it where it got.
        if (result.read >= result.total) progress.done(result.total)
        else {
          progress.update(result.read, result.total)
          progress.stop()
        }
        for (const [id, n] of result.otherEndpoints) if (!configured.some(e => e.id === id)) unknown.set(id, Math.max(unknown.get(id) ?? 0, n))
        const parts = [`${result.replayed} ${dryRun ? 'would be sent' : 'delivered'}`]
        if (result.refused > 0) parts.push(`${result.refused} refused by the partner`)
        if (result.unreplayable > 0) parts.push(`${result.unreplayable} not replayable`)
        await write(ctx.out, `${endpoint.id}: ${parts.join(', ')} (${result.read} DLQ record(s) read)${result.limited ? `; --limit ${opts.limit} reached, run again for the rest` : ''}`)
        if (result.stopped !== null) {
          failed = true
          await write(ctx.err, `rewards notifications replay-dlq: ${endpoint.id}: stopped: ${result.stopped}. What was not delivered stays for the next run.`)
        }
      }
      for (const [id, n] of unknown) await write(ctx.out, `${n} DLQ record(s) for endpoint "${id}", which is not in the notifications file: not replayed`)
      return failed || interrupt.signal.aborted ? EXIT.FAILED : EXIT.OK
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      await log.close()
    }
  }))

  return notifications.addCommand(replay)
}
