// Prometheus counters of the rewards processor: records dead-lettered (by topic and error code) and
// duplicates ignored. Counted when a record is processed: a transaction that aborts and is retried
// counts its records again (as Kafka Streams' processor metrics do). What was committed to a
// dead-letter topic is streams_records_produced_total{topic=~".*-dlq"}; these say why.
// Dead letters and duplicates are rare, so the label lookup per increment costs nothing that
// matters; accepted records are not counted here (streams_records_produced_total has them).
import { Counter, type Registry } from 'prom-client'
import type { DlqCode } from './validation.ts'

export class RewardsMetrics {
  readonly #deadLetters: Counter<'topic' | 'code'>
  readonly #duplicates: Counter<'topic'>

  constructor (registry: Registry) {
    this.#deadLetters = (registry.getSingleMetric('rewards_dlq_records_total') as Counter<'topic' | 'code'> | undefined) ?? new Counter({
      name: 'rewards_dlq_records_total', help: 'Records sent to a dead-letter topic, by dead-letter topic and error code', labelNames: ['topic', 'code'], registers: [registry]
    })
    this.#duplicates = (registry.getSingleMetric('rewards_duplicate_records_total') as Counter<'topic'> | undefined) ?? new Counter({
      name: 'rewards_duplicate_records_total', help: 'Input records recognised as duplicates (eventId or redemptionId already accepted) and ignored, by input topic', labelNames: ['topic'], registers: [registry]
    })
  }

  deadLettered (dlqTopic: string, code: DlqCode): void {
    this.#deadLetters.inc({ topic: dlqTopic, code })
  }

  duplicate (inputTopic: string): void {
    this.#duplicates.inc({ topic: inputTopic })
  }
}
