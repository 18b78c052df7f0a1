import type { Headers } from '../../log/log-port.ts'

/** A record flowing through a topology: typed key and value, event timestamp, headers. */
export interface Record<K, V> {
  readonly key: K
  readonly value: V
  /** Event time, ms since the epoch. */
  readonly timestamp: number
  readonly headers: Headers
}

/** Where the record being processed came from (absent for punctuation-generated records). */
export interface RecordMetadata {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
}
