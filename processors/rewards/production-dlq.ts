// The rewards platform's production exception handler (the engine's interface,
// topology/runtime/production-exception-handler.ts; wired in by cli/roles/processor-role.ts): an
// input whose output the broker refuses (an event time more than an hour ahead: INVALID_TIMESTAMP;
// an output over the topic's max.message.bytes) goes to its input topic's dead-letter topic like
// any rejected input — unchanged, with error.code OUTPUT_REFUSED and error.message naming the
// broker's reason — and is otherwise not processed (no balance change, no confirmation).
import type { ProductionExceptionHandler } from '../../topology/index.ts'
import { dlqHeaders } from './dlq.ts'
import type { RewardsMetrics } from './rewards-metrics.ts'
import type { RewardsTopics } from './topics.ts'

const MAX_MESSAGE_CHARS = 1000

export function rewardsProductionDlq (topics: RewardsTopics, metrics?: RewardsMetrics): ProductionExceptionHandler {
  const dlqOf = new Map([[topics.rewardEvents, topics.rewardEventsDlq], [topics.redeemEvents, topics.redeemEventsDlq]])
  return ({ input, topic, code, message }) => {
    const dlq = dlqOf.get(input.topic)
    // Not an input of the rewards topology: nothing to dead-letter it to.
    if (dlq === undefined) return { response: 'FAIL' }
    const reason = code === 'SERIALIZATION_FAILED' ? `the output to ${topic} could not be serialized: ${message}` : `the broker refused the output to ${topic}: ${code} (${message})`
    metrics?.deadLettered(dlq, 'OUTPUT_REFUSED')
    return {
      response: 'CONTINUE',
      deadLetterRecords: [{
        topic: dlq,
        key: input.key,
        value: input.value,
        // The input's own record timestamp: the broker accepted it on the input topic.
        timestamp: input.timestamp,
        headers: dlqHeaders(input.headers, 'OUTPUT_REFUSED', reason.length > MAX_MESSAGE_CHARS ? reason.slice(0, MAX_MESSAGE_CHARS - 1) + '…' : reason, input)
      }]
    }
  }
}
