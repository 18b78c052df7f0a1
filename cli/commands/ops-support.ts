// Shared by the ops commands (rebuild, replay, reconcile): the input partitions of the application, and running the processor in this process until it has
// consumed everything in its input topics. Not a command itself.
import type { Registry } from 'prom-client'
import type { RewardsConfig } from '../../lib/config.ts'
import type { Log, TopicPartition } from '../../log/log-port.ts'
import type { StreamsApplication } from '../../topology/streams-application.ts'
import type { Progress } from '../progress.ts'
import type { RewardsPlatform } from '../rewards-platform.ts'

export async function partitionsOf (log: Log, topics: string[]): Promise<TopicPartition[]> {
  const described = await log.admin.describeTopics(topics)
  return described.flatMap(d => Array.from({ length: d.partitions }, (_, partition) => ({ topic: d.name, partition })))
}

const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`

/** How far the application's group has committed on its input topics: consumed = Σ(committed −
 *  earliest), total = Σ(latest − earliest). */
export async function inputProgress (log: Log, groupId: string, inputs: TopicPartition[]): Promise<{ consumed: number, total: number }> {
  const [latest, earliest, committed] = await Promise.all([
    log.admin.listOffsets(inputs, 'latest'),
    log.admin.listOffsets(inputs, 'earliest'),
    log.admin.listCommittedOffsets(groupId, inputs)
  ])
  const start = new Map(earliest.map(o => [tpKey(o), o.offset]))
  const done = new Map(committed.map(o => [tpKey(o), o.offset]))
  let consumed = 0n
  let total = 0n
  for (const end of latest) {
    const from = start.get(tpKey(end)) ?? 0n
    const at = done.get(tpKey(end)) ?? from
    total += end.offset - from
    consumed += (at < end.offset ? at : end.offset) - from
  }
  return { consumed: Number(consumed), total: Number(total) }
}

/** How long the in-process processor may take to consume the inputs, unless told otherwise. */
export const DEFAULT_CATCH_UP_MS = 30 * 60_000

export interface InProcessApp {
  readonly app: StreamsApplication
  close (): Promise<void>
}

/** Starts the rewards topology in this process (it joins the application's group, so it gets
 *  every task when no other instance runs) and waits until RUNNING with every store restored and
 *  every input record consumed (committed), showing progress. The caller closes it. */
export async function runProcessorUntilCaughtUp (options: {
  readonly config: RewardsConfig
  readonly log: Log
  readonly platform: RewardsPlatform
  readonly registry: Registry
  readonly progress?: Progress
  readonly timeoutMs?: number
}): Promise<InProcessApp> {
  const { config, log, platform } = options
  const { StreamsApplication } = await import('../../topology/streams-application.ts')
  const app = new StreamsApplication(platform.topology, {
    log,
    registry: options.registry,
    // As the processor role: an input whose output the broker refuses goes to its dead-letter
    // topic (OUTPUT_REFUSED, docs/rewards.md) instead of stopping the stream thread.
    productionExceptionHandler: platform.productionExceptionHandler(options.registry),
    config: { applicationId: config.applicationId, stateDir: config.stateDir, processingGuarantee: config.processingGuarantee }
  })
  const close = async (): Promise<void> => { await app.close() }
  try {
    await app.start()
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_CATCH_UP_MS)
    const inputs = await partitionsOf(log, [platform.topics.rewardEvents, platform.topics.redeemEvents])
    for (;;) {
      if (app.state === 'ERROR') throw app.error instanceof Error ? app.error : new Error('stream application failed')
      const { consumed, total } = await inputProgress(log, config.applicationId, inputs)
      options.progress?.update(consumed, total)
      const tasks = app.localTasks()
      if (app.state === 'RUNNING' && tasks.length > 0 && tasks.every(t => t.ready) && consumed >= total) {
        options.progress?.done(total)
        return { app, close }
      }
      if (Date.now() > deadline) throw new Error(`the processor did not catch up within ${Math.round((options.timeoutMs ?? DEFAULT_CATCH_UP_MS) / 1000)} s (${consumed}/${total} input records)`)
      await new Promise(resolve => setTimeout(resolve, 250))
    }
  } catch (error) {
    options.progress?.stop()
    await close().catch(() => undefined)
    throw error
  }
}
