// Event time of input records (docs/rewards.md, "Event time"): within a task, records of the two
// inputs are taken in event-time order (occurredAt / requestedAt). Only a record the topology will
// accept has an event time: the extractor runs the same validation as the validation split
// (MALFORMED_JSON, SCHEMA_VIOLATION, KEY_MISMATCH, UNSUPPORTED_CURRENCY), and a record that fails
// it has none (null). The engine still hands such a record to the validation split, which
// dead-letters it, but it moves no clock: not the task's stream time, not the STREAM_TIME
// punctuations (the dedupe purge), and it holds back no other record. Without this, one malformed
// record stamped with a producer's wall clock among events months old would advance stream time
// by months.
//
// The validation here is the validation split's own: its result is kept for it
// (validated-records.ts), so a record is validated once and the two can never disagree.
import type { LogRecord, TimestampExtractor } from '../../topology/index.ts'
import { redeemRecords, rewardRecords } from './validated-records.ts'

/** reward-events: occurredAt of a valid event, else null. */
export const rewardEventTime: TimestampExtractor = (record: LogRecord): number | null => {
  const validated = rewardRecords.validate(record)
  return validated.ok ? validated.eventTimeMs : null
}

/** redeem-events: requestedAt of a valid request, else null. */
export const redeemEventTime: TimestampExtractor = (record: LogRecord): number | null => {
  const validated = redeemRecords.validate(record)
  return validated.ok ? validated.eventTimeMs : null
}
