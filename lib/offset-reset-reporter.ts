// Every out-of-range committed offset a consumer group of this process resets (Kafka's
// auto.offset.reset, REWARDS_AUTO_OFFSET_RESET: docs/runbooks/dependency-outage.md) is logged and
// counted, never silent: records were skipped (latest) or will be read again (earliest).
//   log:    { event: 'offset.reset', group, topic, partition, from, to, policy }   (warn)
//   metric: rewards_consumer_offset_resets_total{group, topic, policy}
import { Counter, type Registry } from 'prom-client'
import type { OffsetReset } from '../log/log-port.ts'
import type { Logger } from './logger.ts'

export function offsetResetReporter (options: { logger: Logger, registry: Registry }): (reset: OffsetReset) => void {
  const { logger, registry } = options
  const resets = (registry.getSingleMetric('rewards_consumer_offset_resets_total') as Counter<'group' | 'topic' | 'policy'> | undefined) ?? new Counter({
    name: 'rewards_consumer_offset_resets_total',
    help: 'Committed offsets found out of range and reset by the reset policy (REWARDS_AUTO_OFFSET_RESET)',
    labelNames: ['group', 'topic', 'policy'],
    registers: [registry]
  })
  return reset => {
    resets.inc({ group: reset.groupId, topic: reset.topic, policy: reset.policy })
    logger.warn({ event: 'offset.reset', group: reset.groupId, topic: reset.topic, partition: reset.partition, from: String(reset.from), to: String(reset.to), policy: reset.policy },
      `group ${reset.groupId}: offset ${reset.from} of ${reset.topic}-${reset.partition} is out of range; reading from the ${reset.policy} offset ${reset.to} (REWARDS_AUTO_OFFSET_RESET=${reset.policy})`)
  }
}
