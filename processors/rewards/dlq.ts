// Dead-letter records: the input key, value and headers unchanged, plus headers saying why
// (docs/contract.md "Dead letters"). Header values are UTF-8 text.
import type { Headers, Record, RecordMetadata } from '../../topology/index.ts'
import type { DlqCode } from './validation.ts'

export const DLQ_HEADERS = Object.freeze({
  code: 'error.code',
  message: 'error.message',
  topic: 'source.topic',
  partition: 'source.partition',
  offset: 'source.offset'
})

export function dlqHeaders (original: Headers, code: DlqCode, message: string, source: RecordMetadata | null): Headers {
  const headers: Headers = { ...original }
  headers[DLQ_HEADERS.code] = Buffer.from(code, 'utf8')
  headers[DLQ_HEADERS.message] = Buffer.from(message, 'utf8')
  if (source !== null) {
    headers[DLQ_HEADERS.topic] = Buffer.from(source.topic, 'utf8')
    headers[DLQ_HEADERS.partition] = Buffer.from(String(source.partition), 'utf8')
    headers[DLQ_HEADERS.offset] = Buffer.from(String(source.offset), 'utf8')
  }
  return headers
}

/** The dead letter of an input record: its key, value and timestamp, its headers plus why. */
export function deadLetter (input: Record<Buffer | null, Buffer | null>, code: DlqCode, message: string, source: RecordMetadata | null): Record<Buffer | null, Buffer | null> {
  return { key: input.key, value: input.value, timestamp: input.timestamp, headers: dlqHeaders(input.headers, code, message, source) }
}
