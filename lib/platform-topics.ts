// The platform's topics (docs/contract.md "Topics and events") under the configured prefix, and their idempotent creation.
// Changelog topics are not here: the stream application creates its own
// (`<application-id>-<store>-changelog`).
import type { Log } from '../log/log-port.ts'
import { RewardsError } from './errors.ts'
import { REWARDS_TOPICS, type RewardsTopics } from './platform-topic-names.ts'
import { kafkaPolicy } from './resilience/kafka-policy.ts'
import type { RewardsConfig } from './config.ts'

/** How long a topic just created may take to show in the metadata before it counts as missing. */
const CREATED_TOPIC_VISIBLE_MS = 30_000

/** The six platform topic names with REWARDS_TOPIC_PREFIX applied. */
export function platformTopics (config: Pick<RewardsConfig, 'topicPrefix'>): RewardsTopics {
  const p = config.topicPrefix
  return Object.freeze({
    rewardEvents: p + REWARDS_TOPICS.rewardEvents,
    redeemEvents: p + REWARDS_TOPICS.redeemEvents,
    rewardConfirmed: p + REWARDS_TOPICS.rewardConfirmed,
    redeemConfirmed: p + REWARDS_TOPICS.redeemConfirmed,
    rewardEventsDlq: p + REWARDS_TOPICS.rewardEventsDlq,
    redeemEventsDlq: p + REWARDS_TOPICS.redeemEventsDlq
  })
}

export interface TopicOutcome {
  readonly name: string
  readonly partitions: number
  readonly status: 'created' | 'exists'
}

/** Topic configs of every topic the platform creates (docs/cli.md "rewards topics create"): no
 *  time retention. Records carry their event time as timestamp, and events are often months old
 *  when they arrive; the broker's default retention (7 days, judged by record timestamps) would
 *  delete them as soon as a segment rolls — before the processor or the archiver has read them,
 *  and long before a rebuild from the topics needs them. */
export const KEEP_EVERY_RECORD: Readonly<Record<string, string>> = Object.freeze({ 'retention.ms': '-1' })

/** Creates the platform topics that are missing (all with `config.partitions` partitions) and
 *  reports each. Fails with TOPOLOGY_INVALID when the two input topics exist with different
 *  partition counts (they must be co-partitioned), naming both. */
export async function ensurePlatformTopics (log: Log, config: Pick<RewardsConfig, 'topicPrefix' | 'partitions'>): Promise<TopicOutcome[]> {
  const topics = platformTopics(config)
  const names = [topics.rewardEvents, topics.redeemEvents, topics.rewardConfirmed, topics.redeemConfirmed, topics.rewardEventsDlq, topics.redeemEventsDlq]
  const before = new Map((await log.admin.describeTopics(names)).map(d => [d.name, d.partitions]))
  const rewardParts = before.get(topics.rewardEvents)
  const redeemParts = before.get(topics.redeemEvents)
  // A missing input is created with the partitions of the existing one, so they stay co-partitioned.
  const inputPartitions = rewardParts ?? redeemParts ?? config.partitions
  if (rewardParts !== undefined && redeemParts !== undefined && rewardParts !== redeemParts) {
    throw new RewardsError('TOPOLOGY_INVALID', `${topics.rewardEvents} has ${rewardParts} partitions but ${topics.redeemEvents} has ${redeemParts}: the input topics must be co-partitioned (same partition count); recreate one of them`)
  }
  const missing = names.filter(n => !before.has(n)).map(name => ({
    name,
    partitions: name === topics.rewardEvents || name === topics.redeemEvents ? inputPartitions : config.partitions,
    config: KEEP_EVERY_RECORD
  }))
  if (missing.length > 0) await log.admin.createTopics(missing)
  const after = await describeOnceVisible(log, names)
  const createdNames = new Set(missing.map(m => m.name))
  return names.map(name => ({ name, partitions: after.get(name)!, status: createdNames.has(name) ? 'created' : 'exists' }))
}

/** The notifications role's dead-letter topic (webhook deliveries that exhausted their retries),
 *  with REWARDS_TOPIC_PREFIX applied. Not one of the six platform topics: created by the
 *  notifications role (--create-topics, or the embedded log) and by `rewards topics create` when a
 *  notifications file is configured. */
export function notificationsDlqTopic (config: Pick<RewardsConfig, 'topicPrefix'>): string {
  return `${config.topicPrefix}notifications-dlq`
}

/** Creates the notifications DLQ topic when missing (`config.partitions` partitions). */
export async function ensureNotificationsDlqTopic (log: Log, config: Pick<RewardsConfig, 'topicPrefix' | 'partitions'>): Promise<TopicOutcome> {
  const name = notificationsDlqTopic(config)
  const before = await log.admin.describeTopics([name])
  if (before.length > 0) return { name, partitions: before[0]!.partitions, status: 'exists' }
  await log.admin.createTopics([{ name, partitions: config.partitions, config: KEEP_EVERY_RECORD }])
  const after = await describeOnceVisible(log, [name])
  return { name, partitions: after.get(name)!, status: 'created' }
}

/** Partition counts of `names`, waiting (bounded) until every one is visible: on a fresh broker
 *  a topic just created can be missing from the metadata of the broker answering for a moment,
 *  and must not be reported missing then. */
async function describeOnceVisible (log: Log, names: string[], timeoutMs = CREATED_TOPIC_VISIBLE_MS): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs
  for (let backoff = kafkaPolicy.topicVisibleBackoff.next(); ; backoff = backoff.next(undefined)) {
    const after = new Map((await log.admin.describeTopics(names)).map(d => [d.name, d.partitions]))
    const notThere = names.filter(n => !after.has(n))
    if (notThere.length === 0) return after
    if (Date.now() >= deadline) throw new RewardsError('LOG_TOPIC_NOT_FOUND', `topics still missing ${Math.round(timeoutMs / 1000)} s after creation: ${notThere.join(', ')}`)
    await new Promise(resolve => setTimeout(resolve, backoff.duration))
  }
}
