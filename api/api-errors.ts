// The API's own error codes (about HTTP requests rather than the engine), answered as the RFC 9457
// problems of api/http-errors.ts (`code`, `detail`, and the deprecated `error: {code, message,
// details?}`). Engine errors (STORE_NOT_READY, …) are thrown and mapped there; these are sent by
// the routes, or thrown from hooks as an HttpProblem (apiProblem).
import type { FastifyReply } from 'fastify'
import { defineProblemTitle, HttpProblem, RETRY_AFTER_SECONDS, sendError } from './http-errors.ts'

export const API_ERRORS = Object.freeze({
  UNAUTHORIZED: { status: 401, message: 'Missing, invalid or expired access token' },
  FORBIDDEN: { status: 403, message: 'The access token lacks the scope this route requires' },
  MEMBER_NOT_FOUND: { status: 404, message: 'Unknown member' },
  REDEMPTION_NOT_FOUND: { status: 404, message: 'Unknown redemption' },
  INVALID_EVENTS: { status: 400, message: 'One or more events are invalid; nothing was published' },
  INVALID_REDEMPTION: { status: 400, message: 'The redemption request is invalid; nothing was published' },
  INVALID_CURSOR: { status: 400, message: 'Invalid activity cursor' },
  INVALID_REPORT_PARAMS: { status: 400, message: 'Invalid report parameters' },
  INVALID_WINDOW_QUERY: { status: 400, message: 'Invalid points window query' },
  INVALID_IDEMPOTENCY_KEY: { status: 400, message: 'Idempotency-Key must be a Structured Field string ("…") or a token of 1–255 visible ASCII characters' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, message: 'Idempotency-Key was already used with a different request body' },
  IDEMPOTENCY_KEY_IN_FLIGHT: { status: 409, message: 'A request with this Idempotency-Key is still being processed; retry shortly' },
  EVENT_ID_CONFLICT: { status: 409, message: 'An event with this eventId and different content was already accepted; nothing was published' },
  REDEMPTION_ID_CONFLICT: { status: 409, message: 'A redemption with this redemptionId and different content was already accepted; nothing was published' },
  RATE_LIMITED: { status: 429, message: 'Too many requests' },
  OWNER_UNAVAILABLE: { status: 503, message: 'The instance owning this member cannot be reached; retry shortly' },
  REPORTS_UNAVAILABLE: { status: 503, message: 'This instance has no archive database to report from' }
} as const)

export type ApiErrorCode = keyof typeof API_ERRORS

for (const [code, spec] of Object.entries(API_ERRORS)) defineProblemTitle(code, spec.message)

/** The error to throw (from a hook) to answer with `code`. */
export function apiProblem (code: ApiErrorCode, options: { message?: string, details?: unknown, retryAfterSeconds?: number } = {}): HttpProblem {
  const spec = API_ERRORS[code]
  return new HttpProblem(spec.status, code, options.message ?? spec.message, {
    ...(options.details !== undefined ? { details: options.details } : {}),
    ...(options.retryAfterSeconds !== undefined ? { retryAfterSeconds: options.retryAfterSeconds } : {})
  })
}

export function sendApiError (reply: FastifyReply, code: ApiErrorCode, options: { message?: string, details?: unknown, retryAfterSeconds?: number } = {}): FastifyReply {
  const spec = API_ERRORS[code]
  const retry = options.retryAfterSeconds ?? (spec.status === 503 ? RETRY_AFTER_SECONDS : undefined)
  return sendError(reply, {
    status: spec.status,
    body: { error: { code, message: options.message ?? spec.message, ...(options.details !== undefined ? { details: options.details } : {}) } },
    ...(retry !== undefined ? { retryAfterSeconds: retry } : {})
  })
}
