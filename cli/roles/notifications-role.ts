// The notifications role: delivers reward-confirmed and redeem-confirmed records to the partner
// webhooks of REWARDS_NOTIFICATIONS_FILE (processors/notifications, docs/notifications.md), in its
// own consumer group `<application-id>-notifications`. With no file (or no endpoint in it) it does
// nothing at all: no consumer, no topic; it reports ready with that detail, so `--role all` is
// harmless. Ready once in its consumer group; an endpoint being down does not make the instance
// unready (it shows in the readiness detail and rewards_notifications_circuit_state).
import { ensureNotificationsDlqTopic, notificationsDlqTopic } from '../../lib/platform-topics.ts'
import type { Notifier } from '../../processors/notifications/notifier.ts'
import type { Role, RoleContext } from './role.ts'

export function notificationsRole (ctx: RoleContext): Role {
  let notifier: Notifier | undefined
  let closing = false
  const logger = ctx.logger.child({ role: 'notifications' })
  const endpoints = ctx.config.notifications?.endpoints ?? []

  ctx.readiness.add('notifications', () => {
    if (endpoints.length === 0) return { ready: true, detail: 'no endpoint configured (REWARDS_NOTIFICATIONS_FILE): idle' }
    if (notifier === undefined) return { ready: false, detail: 'starting' }
    if (!notifier.joined()) return { ready: false, detail: 'joining the notifications consumer group' }
    const circuits = endpoints.map(e => `${e.id} ${notifier!.breakerState(e.id) ?? '?'}`).join(', ')
    return { ready: true, detail: `delivering to ${endpoints.length} endpoint(s) (circuits: ${circuits}); ${notifier.pendingDeliveries()} deliver(ies) pending` }
  })

  return {
    name: 'notifications',
    async start (): Promise<void> {
      const { config } = ctx
      if (endpoints.length === 0) {
        logger.info(config.notificationsFile === null ? 'no notifications file (REWARDS_NOTIFICATIONS_FILE): notifications idle' : `no endpoint in ${config.notificationsFile}: notifications idle`)
        return
      }
      const log = await ctx.log()
      if (closing) return
      if (ctx.createTopics) await ensureNotificationsDlqTopic(log, config)
      const { startNotifier } = await import('../../processors/notifications/notifier.ts')
      if (closing) return
      notifier = await startNotifier({
        log,
        topics: ctx.platform.topics,
        dlqTopic: notificationsDlqTopic(config),
        endpoints,
        applicationId: config.applicationId,
        registry: ctx.registry,
        logger,
        onFatal: error => ctx.fatal(error)
      })
      logger.info({ group: `${config.applicationId}-notifications`, endpoints: endpoints.map(e => e.id), dlq: notificationsDlqTopic(config) },
        `notifications started (group ${config.applicationId}-notifications, ${endpoints.length} endpoint(s): ${endpoints.map(e => e.id).join(', ')})`)
    },
    async close (): Promise<void> {
      closing = true
      await notifier?.close()
    }
  }
}
