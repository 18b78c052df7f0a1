// The isolated world of one chaos run, as the other multi-process tests isolate themselves: a
// unique topic prefix and application id, a fresh PostgreSQL database (archive and OAuth clients),
// member ids tagged with the run, and an OAuth client registered through the CLI. The six platform
// topics are created here with time retention off: the traffic mixes record timestamps months
// apart, and with the broker's default 7-day retention a segment rolled by a timestamp jump would
// be deleted under the test (a real backfill needs the same setting).
import { Kafka, logLevel, type Admin } from 'kafkajs'
import { platformTopics } from '../../lib/platform-topics.ts'
import type { RewardsTopics } from '../../processors/rewards/topics.ts'
import { createTestDatabase } from '../archive/archive-helpers.ts'
import { cleanEnv, runCli, unique } from '../cli/cli-helpers.ts'

export interface ChaosEnvironment {
  /** Short tag in every member id, so the shared Redis cache never mixes runs. */
  readonly tag: string
  readonly topicPrefix: string
  readonly applicationId: string
  readonly topics: RewardsTopics
  readonly partitions: number
  readonly brokers: string[]
  readonly databaseUrl: string
  readonly kafka: Kafka
  readonly admin: Admin
  readonly client: { readonly clientId: string, readonly clientSecret: string }
  close (): Promise<void>
}

export function inputTopics (topics: RewardsTopics): string[] {
  return [topics.rewardEvents, topics.redeemEvents]
}

export function allTopics (topics: RewardsTopics): string[] {
  return [topics.rewardEvents, topics.redeemEvents, topics.rewardConfirmed, topics.redeemConfirmed, topics.rewardEventsDlq, topics.redeemEventsDlq]
}

export async function createChaosEnvironment (options: { brokers: string[], partitions: number, name?: string }): Promise<ChaosEnvironment> {
  const name = options.name ?? 'chaos'
  const topicPrefix = `${unique(name)}.`
  const applicationId = unique(`${name}-app`)
  const tag = applicationId.slice(-6)
  const topics = platformTopics({ topicPrefix })
  const kafka = new Kafka({ clientId: unique(`${name}-verifier`), brokers: options.brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 200, maxRetryTime: 5000 } })
  const admin = kafka.admin()
  await admin.connect()
  const database = await createTestDatabase('chaos')
  const dropTopics = async (): Promise<void> => {
    const changelogs = (await admin.listTopics()).filter(t => t.startsWith(`${applicationId}-`))
    await admin.deleteTopics({ topics: [...allTopics(topics), ...changelogs] }).catch(() => undefined)
    await admin.deleteGroups([applicationId, `${applicationId}-archiver`, `${applicationId}-notifications`]).catch(() => undefined)
  }
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: allTopics(topics).map(topic => ({ topic, numPartitions: options.partitions, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '-1' }] }))
    })
    const created = await runCli(['clients', 'create', '--name', `${name}-traffic`, '--scopes', 'balances:read,events:write,redemptions:write', '--json'], {
      env: cleanEnv({ REWARDS_DATABASE_URL: database.url, REWARDS_DATA_DIR: '/nonexistent-chaos-data' }),
      timeoutMs: 60_000
    })
    if (created.code !== 0) throw new Error(`rewards clients create failed (${created.code}): ${created.stderr}`)
    const client = JSON.parse(created.stdout) as { clientId: string, clientSecret: string }
    return {
      tag, topicPrefix, applicationId, topics, partitions: options.partitions, brokers: options.brokers, databaseUrl: database.url, kafka, admin, client,
      async close () {
        await dropTopics().catch(() => undefined)
        await admin.disconnect().catch(() => undefined)
        await database.drop().catch(() => undefined)
      }
    }
  } catch (error) {
    await dropTopics().catch(() => undefined)
    await admin.disconnect().catch(() => undefined)
    await database.drop().catch(() => undefined)
    throw error
  }
}
