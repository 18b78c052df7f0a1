// The engine's errors (docs/engine.md "Errors"). Every error has a stable `code` (logged, asserted
// by tests, mapped to HTTP by applications) and says whether retrying can help. Applications that
// add codes of their own extend StreamsError with a wider catalogue (the platform's RewardsError).

export interface ErrorSpec {
  readonly message: string
  readonly retriable: boolean
}

export const STREAMS_ERRORS = {
  CONFIG_INVALID: { message: 'Invalid configuration', retriable: false },
  TOPOLOGY_INVALID: { message: 'Invalid topology', retriable: false },
  STORE_NOT_FOUND: { message: 'Unknown state store', retriable: false },
  STORE_CLOSED: { message: 'State store is closed', retriable: false },
  STORE_NOT_READY: { message: 'State store is restoring or not assigned here', retriable: true },
  KEY_OWNED_ELSEWHERE: { message: 'The key is owned by another instance', retriable: false },
  STATE_DIR_LOCKED: { message: 'State directory is locked by another instance', retriable: true },
  SERDE_ERROR: { message: 'Could not (de)serialize a record', retriable: false },
  LOG_CONNECTION: { message: 'Cannot reach the log', retriable: true },
  // Wrong credentials or mechanism, TLS expected but not used, an untrusted certificate: retrying
  // the same settings cannot help.
  LOG_SECURITY: { message: 'Kafka refused the connection\'s SASL or TLS settings', retriable: false },
  // The broker's ACLs refuse an operation (topic, group, transactional id, cluster): fatal.
  LOG_AUTHORIZATION: { message: 'Kafka refused an operation: not authorised', retriable: false },
  LOG_TOPIC_NOT_FOUND: { message: 'Topic does not exist', retriable: false },
  LOG_TOPIC_EXISTS: { message: 'Topic already exists', retriable: false },
  LOG_PRODUCER_FENCED: { message: 'Producer fenced by a newer instance (zombie)', retriable: false },
  LOG_REBALANCE_IN_PROGRESS: { message: 'Consumer group is rebalancing', retriable: true },
  LOG_GROUP_NOT_EMPTY: { message: 'Consumer group still has members', retriable: true },
  LOG_CLOSED: { message: 'Log client is closed', retriable: false },
  // The offset reset policy is none and a group has no valid position on a partition.
  LOG_OFFSET_OUT_OF_RANGE: { message: 'No valid committed offset and the reset policy is none', retriable: false },
  LOG_TRANSACTION_ABORTED: { message: 'Transaction aborted', retriable: true },
  // The broker refused one record or one partition's batch (invalid timestamp, too large, corrupt):
  // details.refused names the records (indexes into the batch). The producer must be replaced
  // (its sequence numbers moved on), the rest can go through again without the refused records.
  LOG_RECORD_REFUSED: { message: 'The broker refused a record', retriable: false },
  // The abort of a failed transaction failed too: it may yet commit or abort. The producer must be
  // replaced (a new one with the same transactional id completes or aborts it) and state read
  // again from what the log committed.
  LOG_TRANSACTION_UNKNOWN: { message: 'Transaction outcome unknown: the producer must be replaced', retriable: true },
  TASK_MIGRATED: { message: 'Task no longer owned by this instance', retriable: true },
  PROCESSING_FAILED: { message: 'A processor threw while processing a record', retriable: false }
} as const satisfies Record<string, ErrorSpec>

export type StreamsErrorCode = keyof typeof STREAMS_ERRORS

export interface StreamsErrorOptions {
  readonly cause?: unknown
  readonly details?: Record<string, unknown>
}

export class StreamsError<C extends string = StreamsErrorCode> extends Error {
  readonly code: C
  readonly retriable: boolean
  readonly details: Record<string, unknown> | undefined

  /** `catalogue` is the engine's unless a subclass brings a wider one. */
  constructor (code: C, message?: string, options?: StreamsErrorOptions, catalogue: Readonly<Record<string, ErrorSpec>> = STREAMS_ERRORS) {
    const spec = catalogue[code]
    super(message ?? spec?.message ?? code, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'StreamsError'
    this.code = code
    this.retriable = spec?.retriable ?? false
    this.details = options?.details
  }
}

export function isStreamsError (error: unknown, code?: StreamsErrorCode): error is StreamsError {
  return error instanceof StreamsError && (code === undefined || error.code === code)
}
