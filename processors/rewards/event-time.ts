// Event time of input records (docs/rewards.md, "Event time"): within a task, records of the two
// inputs are taken in event-time order (occurredAt / requestedAt). Only a record the topology will
// accept has an event time: the extractor runs the same validation as the processor (MALFORMED_JSON,
// SCHEMA_VIOLATION, KEY_MISMATCH, UNSUPPORTED_CURRENCY), and a record that fails it has none
// (null). The engine still hands such a record to the processor, which dead-letters it, but it
// moves no clock: not the task's stream time, not the STREAM_TIME punctuations (the dedupe purge),
// and it holds back no other record. Without this, one malformed record stamped with a producer's
// wall clock among events months old would advance stream time by months.
//
// The record is validated twice (here and in the processor): measured at 2.3 µs per record (the
// text scan this replaced: 0.8 µs), against about 340 µs per record for the whole topology under
// exactly-once (docs/rewards.md, "Measured") — a check that cannot drift from the processor's is
// worth under 1%.
import type { LogRecord } from '../../log/log-port.ts'
import type { TimestampExtractor } from '../../topology/topology.ts'
import { validateRedeemRecord, validateRewardRecord, type Validated } from './validation.ts'

function validEventTime (validate: (key: Buffer | null, value: Buffer | null) => Validated<unknown>): TimestampExtractor {
  return (record: LogRecord): number | null => {
    const validated = validate(record.key, record.value)
    return validated.ok ? validated.eventTimeMs : null
  }
}

/** reward-events: occurredAt of a valid event, else null. */
export const rewardEventTime: TimestampExtractor = validEventTime(validateRewardRecord)

/** redeem-events: requestedAt of a valid request, else null. */
export const redeemEventTime: TimestampExtractor = validEventTime(validateRedeemRecord)
