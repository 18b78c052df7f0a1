// The validation split (docs/rewards.md, "Topology"): the first node after each input. A record
// whose bytes are a valid event goes on to the dedupe filter as that event; any other record goes
// to the input's dead-letter topic, unchanged, with the reason in headers (dlq.ts). Nothing is
// dropped and no bad record stops the task.
//
// The validation itself ran when the record was buffered (the timestamp extractor needs its event
// time, event-time.ts); its result is taken here, not computed again (validated-records.ts).
import type { Processor, ProcessorContext, RecordMetadata } from '../../topology/index.ts'
import { deadLetter } from './dlq.ts'
import type { RawRecord, ValidEvent, ValidRedeemEvent, ValidRewardEvent } from './ledger-records.ts'
import type { RewardsMetrics } from './rewards-metrics.ts'
import { redeemRecords, rewardRecords } from './validated-records.ts'
import type { Validated } from './validation.ts'

/** The outputs of a validation split: node names to forward to. */
export interface ValidationOutputs {
  readonly valid: string
  readonly invalid: string
}

interface Validation<E> {
  take (key: Buffer | null, value: Buffer | null, metadata: RecordMetadata | null): Validated<E>
}

class ValidationSplit<V extends ValidEvent> implements Processor<Buffer | null, Buffer | null, unknown, unknown> {
  readonly #kind: V['kind']
  readonly #validation: Validation<V['event']>
  readonly #outputs: ValidationOutputs
  readonly #dlqTopic: string
  readonly #metrics: RewardsMetrics | undefined
  #context: ProcessorContext<unknown, unknown> | undefined

  constructor (kind: V['kind'], validation: Validation<V['event']>, outputs: ValidationOutputs, dlqTopic: string, metrics: RewardsMetrics | undefined) {
    this.#kind = kind
    this.#validation = validation
    this.#outputs = outputs
    this.#dlqTopic = dlqTopic
    this.#metrics = metrics
  }

  init (context: ProcessorContext<unknown, unknown>): void {
    this.#context = context
  }

  process (record: RawRecord): void {
    const context = this.#context!
    const metadata = context.recordMetadata()
    const validated = this.#validation.take(record.key, record.value, metadata)
    if (!validated.ok) {
      this.#metrics?.deadLettered(this.#dlqTopic, validated.code)
      context.forward(deadLetter(record, validated.code, validated.message, metadata), this.#outputs.invalid)
      return
    }
    // A valid record has a value (a null one is MALFORMED_JSON).
    const value = { kind: this.#kind, event: validated.value, eventTimeMs: validated.eventTimeMs, input: record.value! } as V
    context.forward({ key: record.key, value, timestamp: record.timestamp, headers: record.headers }, this.#outputs.valid)
  }
}

/** reward-events: EARN and REVERSAL events. */
export function rewardValidation (outputs: ValidationOutputs, dlqTopic: string, metrics?: RewardsMetrics): Processor<Buffer | null, Buffer | null, unknown, unknown> {
  return new ValidationSplit<ValidRewardEvent>('reward', rewardRecords, outputs, dlqTopic, metrics)
}

/** redeem-events: redemption requests. */
export function redeemValidation (outputs: ValidationOutputs, dlqTopic: string, metrics?: RewardsMetrics): Processor<Buffer | null, Buffer | null, unknown, unknown> {
  return new ValidationSplit<ValidRedeemEvent>('redeem', redeemRecords, outputs, dlqTopic, metrics)
}
