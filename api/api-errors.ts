// The API's own error codes (about HTTP requests rather than the engine), answered in the one
// error shape of api/http-errors.ts: { "error": { "code", "message", "details"? } }. Engine
// errors (STORE_NOT_READY, …) are thrown and mapped there; these are sent by the routes.
import type { FastifyReply } from 'fastify'
import { RETRY_AFTER_SECONDS, sendError } from './http-errors.ts'

export const API_ERRORS = Object.freeze({
  UNAUTHORIZED: { status: 401, message: 'Missing, invalid or expired access token' },
  FORBIDDEN: { status: 403, message: 'The access token lacks the scope this route requires' },
  MEMBER_NOT_FOUND: { status: 404, message: 'Unknown member' },
  REDEMPTION_NOT_FOUND: { status: 404, message: 'Unknown redemption' },
  INVALID_EVENTS: { status: 400, message: 'One or more events are invalid; nothing was published' },
  INVALID_REDEMPTION: { status: 400, message: 'The redemption request is invalid; nothing was published' },
  INVALID_CURSOR: { status: 400, message: 'Invalid activity cursor' },
  INVALID_REPORT_PARAMS: { status: 400, message: 'Invalid report parameters' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, message: 'Idempotency-Key was already used with a different request body' },
  RATE_LIMITED: { status: 429, message: 'Too many requests' },
  OWNER_UNAVAILABLE: { status: 503, message: 'The instance owning this member cannot be reached; retry shortly' },
  REPORTS_UNAVAILABLE: { status: 503, message: 'This instance has no archive database to report from' }
} as const)

export type ApiErrorCode = keyof typeof API_ERRORS

export function sendApiError (reply: FastifyReply, code: ApiErrorCode, options: { message?: string, details?: unknown, retryAfterSeconds?: number } = {}): FastifyReply {
  const spec = API_ERRORS[code]
  const retry = options.retryAfterSeconds ?? (spec.status === 503 ? RETRY_AFTER_SECONDS : undefined)
  return sendError(reply, {
    status: spec.status,
    body: { error: { code, message: options.message ?? spec.message, ...(options.details !== undefined ? { details: options.details } : {}) } },
    ...(retry !== undefined ? { retryAfterSeconds: retry } : {})
  })
}
