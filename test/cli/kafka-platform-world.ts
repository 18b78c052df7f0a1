// An isolated world for one `rewards start` test on the real broker: a unique topic prefix and
// application id, a data directory, the environment that selects them, and a teardown that
// removes the platform topics, the application's changelogs and its consumer groups (the stream
// application's and the archiver's).
import { pointsInternalTopics } from '../../processors/rewards/points-windows.ts'
import type { Test } from 'tap'
import { createKafkaLog } from '../../log/kafka/index.ts'
import type { Log } from '../../log/log-port.ts'
import { REWARDS_STORES } from '../../processors/rewards/topics.ts'
import { brokers, cleanEnv, unique } from './cli-helpers.ts'

const PLATFORM_TOPICS = ['reward-events', 'redeem-events', 'reward-confirmed', 'redeem-confirmed', 'reward-events-dlq', 'redeem-events-dlq']

export interface KafkaPlatformWorld {
  readonly prefix: string
  readonly appId: string
  readonly dataDir: string
  /** For the `rewards` child: brokers, prefix, application id, data dir, partitions, port 0. */
  readonly env: Record<string, string>
  /** The six platform topics under the prefix. */
  readonly topics: string[]
  /** A log client of the test's own (closed at teardown). */
  readonly log: Log
}

/** `dataDir`: a directory the test already made (default: the test's own `t.testdir()`). */
export function kafkaPlatformWorld (t: Test, name: string, partitions: number, options: { dataDir?: string } = {}): KafkaPlatformWorld {
  const prefix = `${unique(name)}.`
  const appId = unique(`${name}-app`)
  const dataDir = options.dataDir ?? t.testdir({})
  const env = cleanEnv({
    REWARDS_KAFKA_BROKERS: brokers.join(','),
    REWARDS_TOPIC_PREFIX: prefix,
    REWARDS_APPLICATION_ID: appId,
    REWARDS_DATA_DIR: dataDir,
    REWARDS_PARTITIONS: String(partitions),
    REWARDS_HTTP_PORT: '0'
  })
  const log = createKafkaLog({ brokers, clientId: unique(`${name}-test`) })
  const topics = PLATFORM_TOPICS.map(n => prefix + n)
  t.teardown(async () => {
    await log.admin.deleteTopics([...topics, ...Object.values(REWARDS_STORES).map(s => `${appId}-${s}-changelog`), ...pointsInternalTopics(appId)]).catch(() => undefined)
    for (const group of [appId, `${appId}-archiver`]) await log.admin.deleteGroup(group).catch(() => undefined)
    await log.close()
  })
  return { prefix, appId, dataDir, env, topics, log }
}
