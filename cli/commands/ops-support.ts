// Shared by the ops commands (rebuild, replay, reconcile): progress display, the input
// partitions of the application, and running the processor in this process until it has
// consumed everything in its input topics. Not a command itself.
import type { Registry } from 'prom-client'
import type { RewardsConfig } from '../../lib/config.ts'
import type { Log, TopicPartition } from '../../log/log-port.ts'
import type { StreamsApplication } from '../../topology/streams-application.ts'
import type { RewardsPlatform } from '../rewards-platform.ts'

/** A progress line on a stream: redrawn in place on a terminal, one line per second otherwise. */
export class Progress {
  readonly #stream: NodeJS.WritableStream & { isTTY?: boolean }
  readonly #label: string
  #lastAt = 0
  #lastText = ''
  readonly #startedAt = Date.now()

  constructor (stream: NodeJS.WritableStream, label: string) {
    this.#stream = stream
    this.#label = label
  }

  update (done: number, total: number, unit = 'records', force = false): void {
    const now = Date.now()
    if (!force && now - this.#lastAt < (this.#stream.isTTY === true ? 100 : 1000)) return
    this.#lastAt = now
    const pct = total > 0 ? Math.min(100, Math.floor(done * 100 / total)) : 100
    const width = 30
    const filled = Math.round(pct * width / 100)
    const rate = done / Math.max(0.001, (now - this.#startedAt) / 1000)
    const text = `${this.#label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${pct}% ${done}/${total} ${unit} (${Math.round(rate)}/s)`
    if (text === this.#lastText) return
    this.#lastText = text
    this.#stream.write(this.#stream.isTTY === true ? `\r${text}` : `${text}\n`)
  }

  done (done: number, total: number, unit = 'records'): void {
    this.update(done, total, unit, true)
    if (this.#stream.isTTY === true) this.#stream.write('\n')
  }
}

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
    config: { applicationId: config.applicationId, stateDir: config.stateDir, processingGuarantee: config.processingGuarantee }
  })
  const close = async (): Promise<void> => { await app.close() }
  try {
    await app.start()
    const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000)
    const inputs = await partitionsOf(log, [platform.topics.rewardEvents, platform.topics.redeemEvents])
    for (;;) {
      if (app.state === 'ERROR') throw app.error instanceof Error ? app.error : new Error('stream application failed')
      const { consumed, total } = await inputProgress(log, config.applicationId, inputs)
      options.progress?.update(consumed, total)
      const tasks = app.localTasks()
      if (app.state === 'RUNNING' && tasks.length > 0 && tasks.every(t => t.ready) && consumed >= total) {
        options.progress?.done(consumed, total)
        return { app, close }
      }
      if (Date.now() > deadline) throw new Error(`the processor did not catch up within ${Math.round((options.timeoutMs ?? 0) / 1000)} s (${consumed}/${total} input records)`)
      await new Promise(resolve => setTimeout(resolve, 250))
    }
  } catch (error) {
    await close().catch(() => undefined)
    throw error
  }
}
