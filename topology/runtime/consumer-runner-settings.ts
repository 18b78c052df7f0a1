// The consumer runner's options with their defaults and bounds applied (docs/engine.md "Consumer
// runner"), resolved once at start.
import type { ConsumerRunnerOptions } from './consumer-runner-types.ts'

export interface RunnerSettings {
  readonly name: string
  readonly batchMax: number
  readonly batchWaitMs: number
  readonly maxInFlight: number
  /** At least one batch: records polled and not finished, above which partitions pause. */
  readonly maxPending: number
  readonly commitIntervalMs: number
  readonly pollMs: number
  readonly lagIntervalMs: number
  readonly revokeGraceMs: number
  readonly closeGraceMs: number
}

export function runnerSettings (o: ConsumerRunnerOptions): RunnerSettings {
  const batchMax = Math.max(1, o.batchMaxRecords ?? 500)
  return {
    name: o.name ?? o.groupId,
    batchMax,
    batchWaitMs: o.batchMaxWaitMs ?? 0,
    maxInFlight: Math.max(1, o.maxInFlightBatches ?? 1),
    maxPending: Math.max(batchMax, o.maxPendingRecords ?? batchMax * 5),
    commitIntervalMs: o.commitIntervalMs ?? 1000,
    pollMs: o.pollMs ?? 500,
    lagIntervalMs: o.lagIntervalMs ?? 5000,
    revokeGraceMs: o.revokeGraceMs ?? Infinity,
    closeGraceMs: o.closeGraceMs ?? 5000
  }
}
