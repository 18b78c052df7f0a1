// The platform (processor, api, archiver, auth) running in THIS process on the real broker and
// PostgreSQL, for the tracing tests: they need the process's global tracer provider (or its
// absence) to be the platform's. Unique topics, application id and database; a client with
// `events:write` and its token; every log line parsed. Everything is removed in t's teardown.
import { pointsInternalTopics } from '../../../processors/rewards/points-windows.ts'
import { PassThrough } from 'node:stream'
import type { Test } from 'tap'
import { ClientStore } from '../../../api/auth/client-store.ts'
import { rewardsPlatform } from '../../../cli/rewards-platform.ts'
import { runPlatform } from '../../../cli/run-platform.ts'
import { inProcessSignals } from '../../cli/in-process-signals.ts'
import { loadConfig } from '../../../lib/config.ts'
import { createLogger } from '../../../lib/logger.ts'
import { platformTopics } from '../../../lib/platform-topics.ts'
import { createKafkaLog } from '../../../log/kafka/index.ts'
import { REWARDS_STORES } from '../../../processors/rewards/topics.ts'
import { createTestDatabase, openMigrated } from '../../archive/archive-helpers.ts'
import { brokers, clientToken, unique, waitForStatus } from '../../cli/cli-helpers.ts'

export interface InProcessPlatform {
  readonly base: string
  readonly token: string
  readonly appId: string
  readonly topics: ReturnType<typeof platformTopics>
  readonly databaseUrl: string
  /** Every log line so far, parsed. */
  readonly lines: ReadonlyArray<Record<string, unknown>>
  /** SIGTERM (as an operator would), then the platform's exit code. */
  stop (): Promise<number>
}

export async function startInProcessPlatform (t: Test, name: string): Promise<InProcessPlatform> {
  const prefix = `${unique(name)}.`
  const appId = unique(`${name}-app`)
  const topics = platformTopics({ topicPrefix: prefix })
  const database = await createTestDatabase(`${name}_test`)
  t.teardown(database.drop)
  const log = createKafkaLog({ brokers, clientId: unique(`${name}-test`) })
  t.teardown(async () => {
    await log.admin.deleteTopics([...Object.values(topics), ...Object.values(REWARDS_STORES).map(s => `${appId}-${s}-changelog`), ...pointsInternalTopics(appId)]).catch(() => undefined)
    await log.close()
  })
  const dataDir = t.testdir({})
  const db = await openMigrated(database.url, dataDir)
  const { client: { clientId }, clientSecret } = await new ClientStore(db).create({ name: `${name}-test`, scopes: ['events:write'] })
  await db.close()

  const config = loadConfig({
    env: { REWARDS_KAFKA_BROKERS: brokers.join(','), REWARDS_DATABASE_URL: database.url, REWARDS_TOPIC_PREFIX: prefix, REWARDS_APPLICATION_ID: appId, REWARDS_DATA_DIR: dataDir, REWARDS_PARTITIONS: '1', REWARDS_HTTP_PORT: '0' },
    cwd: dataDir
  })
  const lines: Array<Record<string, unknown>> = []
  const stream = new PassThrough()
  let partial = ''
  let portSeen: (port: number) => void = () => {}
  const port = new Promise<number>(resolve => { portSeen = resolve })
  stream.on('data', chunk => {
    const parts = (partial + String(chunk)).split('\n')
    partial = parts.pop()!
    for (const part of parts) {
      const line = JSON.parse(part) as Record<string, unknown>
      lines.push(line)
      if (typeof line.msg === 'string' && line.msg.startsWith('HTTP listening')) portSeen(line.port as number)
    }
  })
  const signals = inProcessSignals()
  t.teardown(() => signals.release())
  const done = runPlatform({ config, logger: createLogger({ level: 'debug', destination: stream }), platform: rewardsPlatform(config), requested: ['processor', 'api', 'archiver', 'auth'], createTopics: true, signals })
  let stopped = false
  const stop = async (): Promise<number> => {
    if (!stopped) { stopped = true; process.kill(process.pid, 'SIGTERM') }
    return await done
  }
  t.teardown(async () => { await stop() })
  const base = `http://127.0.0.1:${await port}`
  await waitForStatus(`${base}/health/ready`, 200, 180_000)

  const token = await clientToken(base, clientId, clientSecret)
  return { base, token, appId, topics, databaseUrl: database.url, lines, stop }
}
