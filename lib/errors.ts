// One catalogue of errors for the whole platform. Every error has a stable `code` (logged,
// returned by the HTTP API, asserted by tests) and says whether retrying can help.

export interface ErrorSpec {
  readonly message: string
  readonly retriable: boolean
}

export const ERRORS = {
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
  // REWARDS_AUTO_OFFSET_RESET=none and a group has no valid position on a partition.
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
  // PostgreSQL (clients and signing keys, the archive) cannot be reached: what needs it waits
  // (docs/runbooks/dependency-outage.md).
  DATABASE_UNAVAILABLE: { message: 'The database (PostgreSQL) cannot be reached; retry shortly', retriable: true },
  PROCESSING_FAILED: { message: 'A processor threw while processing a record', retriable: false }
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERRORS

export class RewardsError extends Error {
  readonly code: ErrorCode
  readonly retriable: boolean
  readonly details: Record<string, unknown> | undefined

  constructor (code: ErrorCode, message?: string, options?: { cause?: unknown, details?: Record<string, unknown> }) {
    super(message ?? ERRORS[code].message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'RewardsError'
    this.code = code
    this.retriable = ERRORS[code].retriable
    this.details = options?.details
  }
}

export function isRewardsError (error: unknown, code?: ErrorCode): error is RewardsError {
  return error instanceof RewardsError && (code === undefined || error.code === code)
}
