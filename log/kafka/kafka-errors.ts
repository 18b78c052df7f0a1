// Maps @platformatic/kafka errors (GenericError / MultipleErrors with `apiId` protocol codes and
// `canRetry`) onto the platform's error catalogue, and says what is safe to retry (the retries
// themselves: lib/resilience/kafka-policy.ts).
import { findErrorBy } from '@platformatic/kafka'
import { StreamsError, isStreamsError } from '../../topology/streams-error.ts'
import type { StreamsErrorCode } from '../../topology/streams-error.ts'

/** Protocol errors meaning "this producer, or this group member, can no longer commit": a newer
 *  producer or group generation exists (KIP-98 / KIP-447), or the broker lost or refuses the
 *  producer's sequence state (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID,
 *  INVALID_PRODUCER_ID_MAPPING). Kafka Streams turns all of them into TaskMigratedException: close
 *  the tasks dirty, replace the producer, rejoin. Also: @platformatic/kafka moves its idempotent
 *  sequence numbers on before a send and never back, so after one refused batch every later send
 *  of the same producer fails OUT_OF_ORDER_SEQUENCE_NUMBER; only a new producer recovers. */
export const PRODUCER_REPLACEMENT_ERRORS = ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID', 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_ID_MAPPING'] as const

/** The broker's ACLs refuse the operation: retrying cannot help (fatal, as in Kafka Streams). */
export const AUTHORIZATION_ERRORS = ['TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'] as const

/** Inside a transaction: the coordinator's view of the transaction is not the client's, or the
 *  broker failed in a way it does not explain. The transaction's outcome is treated as unknown
 *  (the producer is replaced and the state read again from the log). */
export const TRANSACTION_STATE_ERRORS = ['INVALID_TXN_STATE', 'UNKNOWN_SERVER_ERROR', 'TRANSACTION_ABORTABLE'] as const

/** Protocol errors that a later attempt (after finding the coordinator / leader again) can cure. */
const RETRIABLE_PROTOCOL_ERRORS = ['COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR', 'NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'CONCURRENT_TRANSACTIONS', 'UNSTABLE_OFFSET_COMMIT', 'REQUEST_TIMED_OUT', 'NETWORK_EXCEPTION', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'THROTTLING_QUOTA_EXCEEDED'] as const

/** Errors that mean "the coordinator moved or is not ready": forget the cached coordinator. */
const COORDINATOR_ERRORS = ['COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR'] as const

export function hasProtocolError (error: unknown, apiId: string): boolean {
  return findErrorBy(error as Error, 'apiId', apiId) !== null
}

export function protocolErrorOf (error: unknown, ids: readonly string[]): string | null {
  for (const id of ids) if (hasProtocolError(error, id)) return id
  return null
}

/** The producer must be replaced and its tasks migrated (see PRODUCER_REPLACEMENT_ERRORS). */
export function isFencingError (error: unknown): boolean {
  if (isStreamsError(error, 'LOG_PRODUCER_FENCED')) return true
  return protocolErrorOf(error, PRODUCER_REPLACEMENT_ERRORS) !== null
}

export function isAuthorizationError (error: unknown): boolean {
  return protocolErrorOf(error, AUTHORIZATION_ERRORS) !== null
}

export function isCoordinatorError (error: unknown): boolean {
  return protocolErrorOf(error, COORDINATOR_ERRORS) !== null
}

export function isNetworkError (error: unknown): boolean {
  const network = findErrorBy(error as Error, 'code', 'PLT_KFK_NETWORK') ?? findErrorBy(error as Error, 'code', 'PLT_KFK_TIMEOUT')
  if (network !== null) return true
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND'].includes(code)
}

/** TLS verification failures Node reports (tls.connect): the broker's certificate is not trusted. */
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_/

/** Walks a platformatic error tree, `errors` and `cause` both (platformatic's findErrorBy does not
 *  follow `cause`, where a connection's SASL and TLS failures sit). */
function findInTree (error: unknown, match: (node: { code?: unknown, message?: unknown }) => boolean, depth = 0): { code?: unknown, message?: unknown, cause?: unknown } | null {
  if (error === null || typeof error !== 'object' || depth > 12) return null
  const node = error as { code?: unknown, message?: unknown, cause?: unknown, errors?: unknown }
  if (match(node)) return node
  for (const inner of [node.cause, ...(Array.isArray(node.errors) ? node.errors : [])]) {
    const found = findInTree(inner, match, depth + 1)
    if (found !== null) return found
  }
  return null
}

/** Why the broker refused this connection's security settings, or null when it did not. */
export function securityProblem (error: unknown): string | null {
  const auth = findInTree(error, n => n.code === 'PLT_KFK_AUTHENTICATION')
  if (auth !== null) {
    const reason = findInTree(auth.cause, n => n.code === 'PLT_KFK_PROTOCOL')?.message
    if (reason !== undefined) {
      const detail = reason === auth.message ? String(reason) : `${String(auth.message)} ${String(reason)}`
      return `SASL authentication refused: ${detail} Check the mechanism, username and password.`
    }
    if (findInTree(auth.cause, n => n.message === 'Connection closed') !== null) {
      return `SASL: ${String(auth.message)} (the broker closed the connection: a TLS listener reached without TLS?)`
    }
    return `SASL: ${String(auth.message)}`
  }
  const certificate = findInTree(error, n => typeof n.code === 'string' && CERTIFICATE_ERROR.test(n.code))
  if (certificate !== null) return `TLS: the broker's certificate is not trusted (${String(certificate.message)}); a private CA needs its CA file`
  const tls = findInTree(error, n => typeof n.message === 'string' && /Broker requires TLS|TLS handshake failed/.test(n.message))
  if (tls !== null) return `TLS: ${String(tls.message)}`
  return null
}

export function isRetriable (error: unknown): boolean {
  if (isStreamsError(error)) return error.retriable && error.code !== 'LOG_TRANSACTION_ABORTED' && error.code !== 'LOG_TRANSACTION_UNKNOWN'
  if (isFencingError(error) || isAuthorizationError(error)) return false
  if (securityProblem(error) !== null) return false
  return isNetworkError(error) || protocolErrorOf(error, RETRIABLE_PROTOCOL_ERRORS) !== null
}

/** Converts any backend error into a StreamsError (keeps StreamsErrors as they are). */
export function toStreamsError (error: unknown, fallback: StreamsErrorCode, message?: string): StreamsError {
  if (isStreamsError(error)) return error
  const cause = error
  const detail = error instanceof Error ? `${message ?? fallback}: ${describeError(error)}` : message
  const authorization = protocolErrorOf(error, AUTHORIZATION_ERRORS)
  if (authorization !== null) return new StreamsError('LOG_AUTHORIZATION', `${message ?? fallback}: ${authorization}: grant the principal this operation (Kafka ACLs)`, { cause, details: { protocolError: authorization } })
  const replacement = protocolErrorOf(error, PRODUCER_REPLACEMENT_ERRORS)
  if (replacement !== null) return new StreamsError('LOG_PRODUCER_FENCED', detail, { cause, details: { protocolError: replacement } })
  const security = securityProblem(error)
  if (security !== null) return new StreamsError('LOG_SECURITY', `${message ?? fallback}: ${security}`, { cause })
  if (isNetworkError(error)) return new StreamsError('LOG_CONNECTION', detail, { cause })
  if (hasProtocolError(error, 'UNKNOWN_TOPIC_OR_PARTITION') || hasProtocolError(error, 'UNKNOWN_TOPIC_ID')) return new StreamsError('LOG_TOPIC_NOT_FOUND', detail, { cause })
  if (hasProtocolError(error, 'REBALANCE_IN_PROGRESS')) return new StreamsError('LOG_REBALANCE_IN_PROGRESS', detail, { cause })
  if (hasProtocolError(error, 'NON_EMPTY_GROUP')) return new StreamsError('LOG_GROUP_NOT_EMPTY', detail, { cause })
  return new StreamsError(fallback, detail, { cause })
}

/** One line naming the protocol error ids inside a platformatic error tree. */
export function describeError (error: unknown): string {
  const ids = new Set<string>()
  const visit = (e: unknown, depth: number): void => {
    if (e === null || typeof e !== 'object' || depth > 6) return
    const record = e as { apiId?: unknown, message?: unknown, errors?: unknown }
    if (typeof record.apiId === 'string') ids.add(record.apiId)
    if (Array.isArray(record.errors)) for (const inner of record.errors) visit(inner, depth + 1)
  }
  visit(error, 0)
  const base = error instanceof Error ? error.message : String(error)
  return ids.size > 0 ? `${base} [${[...ids].join(', ')}]` : base
}
