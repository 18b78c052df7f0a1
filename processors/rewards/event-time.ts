// Event time of input records (SPEC §4: within a task, records of the two inputs are taken in
// event-timestamp order). The extractor reads occurredAt / requestedAt straight from the JSON
// text, without a full parse (the processor parses once, later); a record whose event time cannot
// be read (malformed, missing field) keeps the record's own timestamp, so it still flows to the
// dead-letter topic in a sensible place.
//
// Why a scan is safe: in valid JSON a quote inside a string is escaped, so `"occurredAt"`
// followed by `:` can only be a property name. The first such name wins; the schema has no
// nested objects, and a record that has them is dead-lettered anyway.
import type { LogRecord } from '../../log/log-port.ts'
import type { TimestampExtractor } from '../../topology/topology.ts'
import { parseRfc3339 } from './rfc3339.ts'

export function eventTimeExtractor (field: 'occurredAt' | 'requestedAt'): TimestampExtractor {
  const pattern = new RegExp(`"${field}"\\s*:\\s*"([^"\\\\]{1,64})"`)
  return (record: LogRecord): number => {
    if (record.value === null) return record.timestamp
    const m = pattern.exec(record.value.toString('latin1'))
    if (m === null) return record.timestamp
    return parseRfc3339(m[1]!) ?? record.timestamp
  }
}
