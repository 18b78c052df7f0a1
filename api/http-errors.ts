// The one place where errors become HTTP responses. Every error response has the same shape,
//   { "error": { "code": "STORE_NOT_READY", "message": "…" } }
// with `code` from the catalogue (lib/errors.ts) or one of the HTTP-level codes below. The status
// of each catalogue code is in HTTP_STATUS_BY_CODE: typed as a total map, so a code added to the
// catalogue does not compile until it is given a status here. Retriable codes answered with 503
// carry Retry-After.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ERRORS, isRewardsError, type ErrorCode } from '../lib/errors.ts'

export const HTTP_STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = Object.freeze({
  CONFIG_INVALID: 500,
  TOPOLOGY_INVALID: 500,
  STORE_NOT_FOUND: 404,
  STORE_CLOSED: 503,
  STORE_NOT_READY: 503,
  // Reaches a client only when forwarding to the owner was impossible (ownership is moving).
  KEY_OWNED_ELSEWHERE: 503,
  STATE_DIR_LOCKED: 503,
  SERDE_ERROR: 500,
  LOG_CONNECTION: 503,
  LOG_SECURITY: 503,
  LOG_AUTHORIZATION: 503,
  LOG_TOPIC_NOT_FOUND: 500,
  LOG_TOPIC_EXISTS: 409,
  LOG_PRODUCER_FENCED: 503,
  LOG_REBALANCE_IN_PROGRESS: 503,
  LOG_GROUP_NOT_EMPTY: 409,
  LOG_CLOSED: 503,
  LOG_OFFSET_OUT_OF_RANGE: 500,
  LOG_TRANSACTION_ABORTED: 503,
  LOG_RECORD_REFUSED: 500,
  LOG_TRANSACTION_UNKNOWN: 503,
  TASK_MIGRATED: 503,
  DATABASE_UNAVAILABLE: 503,
  PROCESSING_FAILED: 500
})

/** Codes that are not in the catalogue because they are about HTTP itself. */
export const HTTP_CODES = Object.freeze({
  NOT_FOUND: 'NOT_FOUND',
  BAD_REQUEST: 'BAD_REQUEST',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  NOT_READY: 'NOT_READY',
  NOT_LIVE: 'NOT_LIVE',
  INTERNAL: 'INTERNAL'
})

/** Seconds a client should wait before retrying a retriable 503. */
export const RETRY_AFTER_SECONDS = 1

export interface ErrorBody {
  readonly error: { readonly code: string, readonly message: string, readonly details?: unknown }
}

export interface HttpError {
  readonly status: number
  readonly body: ErrorBody
  readonly retryAfterSeconds?: number
}

function statusCodeOf (error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode
  return typeof status === 'number' && status >= 400 && status < 600 ? status : undefined
}

function httpCodeFor (status: number): string {
  switch (status) {
    case 404: return HTTP_CODES.NOT_FOUND
    case 405: return HTTP_CODES.METHOD_NOT_ALLOWED
    case 413: return HTTP_CODES.PAYLOAD_TOO_LARGE
    case 415: return HTTP_CODES.UNSUPPORTED_MEDIA_TYPE
    default: return status < 500 ? HTTP_CODES.BAD_REQUEST : HTTP_CODES.INTERNAL
  }
}

/** Maps any thrown value to a status and the error body. Internal errors (5xx not from the
 *  catalogue) get a generic message: their text may hold details that are not the client's. */
export function toHttpError (error: unknown): HttpError {
  if (isRewardsError(error)) {
    const status = HTTP_STATUS_BY_CODE[error.code]
    const body: ErrorBody = { error: { code: error.code, message: error.message } }
    return status === 503 && ERRORS[error.code].retriable ? { status, body, retryAfterSeconds: RETRY_AFTER_SECONDS } : { status, body }
  }
  const fastifyError = error as Partial<FastifyError> | null
  if (fastifyError?.validation !== undefined) {
    return { status: 400, body: { error: { code: HTTP_CODES.VALIDATION_FAILED, message: fastifyError.message ?? 'Invalid request', details: fastifyError.validation } } }
  }
  const status = statusCodeOf(error)
  if (status !== undefined && status < 500) {
    return { status, body: { error: { code: httpCodeFor(status), message: fastifyError?.message ?? 'Bad request' } } }
  }
  return { status: status ?? 500, body: { error: { code: HTTP_CODES.INTERNAL, message: 'Internal server error' } } }
}

export function sendError (reply: FastifyReply, error: HttpError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds))
  return reply.code(error.status).type('application/json; charset=utf-8').send(error.body)
}

/** Installs the error and not-found handlers on the root instance (they apply to every plugin
 *  registered on it, so routes added later by other plugins answer errors the same way). */
export function installErrorHandling (app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = toHttpError(error)
    // A retriable 503 (a store restoring, ownership moving, a dependency down) is expected and
    // answered with Retry-After: dozens per rebalance must not read as failures in error logs.
    if (mapped.retryAfterSeconds !== undefined) request.log.info({ code: mapped.body.error.code, retryAfterSeconds: mapped.retryAfterSeconds }, 'request deferred: retry later')
    else if (mapped.status >= 500) request.log.error({ err: error }, 'request failed')
    else request.log.debug({ err: error }, 'request rejected')
    return sendError(reply, mapped)
  })
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => sendError(reply, {
    status: 404,
    body: { error: { code: HTTP_CODES.NOT_FOUND, message: `Route ${request.method} ${request.url.split('?')[0]} not found` } }
  }))
}
