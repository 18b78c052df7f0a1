// Between a stream thread's poll and its tasks: each polled record goes to the buffer of the
// running task that owns its partition, and partitions whose buffer is full are paused (resumed
// once drained below half: bufferedRecordsPerPartition bounds the memory of a fast input).
import type { GroupConsumer, LogRecord, TopicPartition } from '../../log/log-port.ts'
import type { EngineMetrics } from './engine-metrics.ts'
import { partitionKey } from './partition-group.ts'
import type { TaskManager } from './task-manager.ts'

export class ThreadInputFeed {
  readonly #tasks: () => TaskManager
  readonly #consumer: () => GroupConsumer
  readonly #metrics: EngineMetrics
  readonly #maxBuffered: number
  /** Input partitions paused by back-pressure (their buffer full). */
  readonly #paused = new Map<string, TopicPartition>()

  constructor (tasks: () => TaskManager, consumer: () => GroupConsumer, metrics: EngineMetrics, maxBufferedPerPartition: number) {
    this.#tasks = tasks
    this.#consumer = consumer
    this.#metrics = metrics
    this.#maxBuffered = maxBufferedPerPartition
  }

  /** Every task suspended: nothing is paused by back-pressure any more. */
  clear (): void {
    this.#paused.clear()
  }

  dispatch (records: LogRecord[]): void {
    if (records.length === 0) return
    const tasks = this.#tasks()
    let run: LogRecord[] = []
    let runKey = ''
    const flush = (): void => {
      if (run.length === 0) return
      const active = tasks.taskForInput(runKey)
      // Records of a partition whose task is gone (revoked meanwhile) are dropped: the next owner
      // reads them again from the committed offset.
      if (active) {
        active.task.addRecords(run[0]!, run)
        this.#metrics.recordsIn.inc({ topic: run[0]!.topic, task: active.task.name }, run.length)
      }
      run = []
    }
    // A poll returns runs of one partition: its key string is built once per run, not per record.
    let topic: string | undefined
    let partition = -1
    for (const r of records) {
      if (r.partition !== partition || r.topic !== topic) { flush(); topic = r.topic; partition = r.partition; runKey = partitionKey(r) }
      run.push(r)
    }
    flush()
  }

  /** Pauses partitions whose buffer is full, resumes those drained below half. */
  applyBackPressure (): void {
    const max = this.#maxBuffered
    const consumer = this.#consumer()
    const tasks = this.#tasks()
    const toPause: TopicPartition[] = []
    for (const { task } of tasks.running.values()) {
      for (const tp of task.partitionsOver(max)) {
        const key = partitionKey(tp)
        if (!this.#paused.has(key)) { this.#paused.set(key, tp); toPause.push(tp) }
      }
    }
    if (toPause.length > 0) consumer.pause(toPause)
    const toResume: TopicPartition[] = []
    for (const [key, tp] of this.#paused) {
      const active = tasks.taskForInput(key)
      if (!active || active.task.bufferedIn(tp) < max / 2) { this.#paused.delete(key); if (active) toResume.push(tp) }
    }
    if (toResume.length > 0) consumer.resume(toResume)
  }
}
