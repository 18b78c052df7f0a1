// The one place where errors become HTTP responses. Every error response is an RFC 9457 problem
// (`application/problem+json`, docs/api.md "Errors"):
//   { "type": "urn:rewards:problem:store-not-ready", "title": "…", "status": 503, "detail": "…",
//     "instance": "/v1/members/m-1/balance", "code": "STORE_NOT_READY",
//     "error": { "code": "STORE_NOT_READY", "message": "…" } }       ← deprecated, kept for old clients
// with `code` from the catalogue (lib/errors.ts), the API's codes (api/api-errors.ts) or one of
// the HTTP-level codes below. The status of each catalogue code is in HTTP_STATUS_BY_CODE: typed
// as a total map, so a code added to the catalogue does not compile until it is given a status
// here. Retriable codes answered with 503 carry Retry-After. Fastify's own errors (FST_ERR_*: bad
// URL, over-long parameter, body too large, unsupported media type, unparsable JSON) and unknown
// routes go through the same handlers; a known path with another method is 405 with `Allow`.
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
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
  KEY_NOT_FOUND: 404,
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
  NOT_ACCEPTABLE: 'NOT_ACCEPTABLE',
  URI_TOO_LONG: 'URI_TOO_LONG',
  INVALID_JSON: 'INVALID_JSON',
  NOT_READY: 'NOT_READY',
  NOT_LIVE: 'NOT_LIVE',
  INTERNAL: 'INTERNAL'
})

/** Seconds a client should wait before retrying a retriable 503. */
export const RETRY_AFTER_SECONDS = 1

export interface ErrorBody {
  readonly error: { readonly code: string, readonly message: string, readonly details?: unknown }
}

/** The media type of every error response but the token endpoint's OAuth errors. */
export const PROBLEM_JSON = 'application/problem+json; charset=utf-8'

/** The stable `type` URI of a code: one per code, never dereferenced (docs/api.md "Errors"). */
export function problemType (code: string): string {
  return `urn:rewards:problem:${code.toLowerCase().replaceAll('_', '-')}`
}

/** An RFC 9457 problem, with the platform's `code` and the deprecated `error` member. */
export interface Problem {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly instance: string
  readonly code: string
  /** Each invalid field or item (validation errors). */
  readonly errors?: readonly unknown[]
  /** Deprecated: the pre-RFC 9457 shape, kept for existing clients. */
  readonly error: ErrorBody['error']
}

const titles = new Map<string, string>()
/** Registers the title of a code (one per type, RFC 9457 §3.1.3); codes without one are titled by
 *  their status's reason phrase. */
export function defineProblemTitle (code: string, title: string): void {
  titles.set(code, title)
}
for (const [code, spec] of Object.entries(ERRORS)) defineProblemTitle(code, spec.message)
defineProblemTitle('VALIDATION_FAILED', 'The request does not match its schema')
defineProblemTitle('INVALID_JSON', 'The body is not valid JSON')
defineProblemTitle('NOT_READY', 'Not ready')
defineProblemTitle('NOT_LIVE', 'Not live')
defineProblemTitle('INTERNAL', 'Internal server error')

export interface HttpError {
  readonly status: number
  readonly body: ErrorBody
  readonly retryAfterSeconds?: number
}

function statusCodeOf (error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode
  return typeof status === 'number' && status >= 400 && status < 600 ? status : undefined
}

function httpCodeFor (status: number, fastifyCode: string | undefined): string {
  switch (status) {
    case 404: return HTTP_CODES.NOT_FOUND
    case 405: return HTTP_CODES.METHOD_NOT_ALLOWED
    case 406: return HTTP_CODES.NOT_ACCEPTABLE
    case 413: return HTTP_CODES.PAYLOAD_TOO_LARGE
    case 414: return HTTP_CODES.URI_TOO_LONG
    case 415: return HTTP_CODES.UNSUPPORTED_MEDIA_TYPE
    default:
      if (fastifyCode === 'FST_ERR_CTP_INVALID_JSON_BODY' || fastifyCode === 'FST_ERR_CTP_EMPTY_JSON_BODY') return HTTP_CODES.INVALID_JSON
      return status < 500 ? HTTP_CODES.BAD_REQUEST : HTTP_CODES.INTERNAL
  }
}

/** An error a route or hook throws to answer with one of the API's codes (api/api-errors.ts). */
export class HttpProblem extends Error {
  readonly status: number
  readonly code: string
  readonly details: unknown
  readonly retryAfterSeconds: number | undefined
  constructor (status: number, code: string, message: string, options: { details?: unknown, retryAfterSeconds?: number } = {}) {
    super(message)
    this.name = 'HttpProblem'
    this.status = status
    this.code = code
    this.details = options.details
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

/** Maps any thrown value to a status and the error body. Internal errors (5xx not from the
 *  catalogue) get a generic message: their text may hold details that are not the client's. */
export function toHttpError (error: unknown): HttpError {
  if (error instanceof HttpProblem) {
    const body: ErrorBody = { error: { code: error.code, message: error.message, ...(error.details !== undefined ? { details: error.details } : {}) } }
    return error.retryAfterSeconds !== undefined ? { status: error.status, body, retryAfterSeconds: error.retryAfterSeconds } : { status: error.status, body }
  }
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
    return { status, body: { error: { code: httpCodeFor(status, fastifyError?.code), message: fastifyError?.message ?? 'Bad request' } } }
  }
  return { status: status ?? 500, body: { error: { code: HTTP_CODES.INTERNAL, message: 'Internal server error' } } }
}

/** The problem object of an error answered to `request`. */
export function toProblem (request: FastifyRequest, error: HttpError): Problem {
  const { code, message, details } = error.body.error
  const fieldErrors = Array.isArray(details) ? details : Array.isArray((details as { errors?: unknown } | null | undefined)?.errors) ? (details as { errors: unknown[] }).errors : undefined
  return {
    type: problemType(code),
    title: titles.get(code) ?? STATUS_CODES[error.status] ?? 'Error',
    status: error.status,
    detail: message,
    // The path only: the query string may hold what is not the client's to see again in logs.
    instance: request.url.split('?')[0]!,
    code,
    ...(fieldErrors !== undefined ? { errors: fieldErrors } : {}),
    error: error.body.error
  }
}

export function sendError (reply: FastifyReply, error: HttpError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds))
  // Serialized here: a route's response schema must not strip the problem's members.
  return reply.code(error.status).type(PROBLEM_JSON).serializer(JSON.stringify).send(toProblem(reply.request, error))
}

/** The methods routed for a concrete path, from the router (for 405 and its Allow header). */
function allowedMethods (app: FastifyInstance, path: string): string[] {
  const methods: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
  return methods.filter(method => app.findRoute({ method, url: path }) !== null)
}

/** Fastify's `frameworkErrors` option: errors met before routing (FST_ERR_BAD_URL, an over-long
 *  path parameter FST_ERR_MAX_PARAM_LENGTH) answered as problems too. No hook ran yet. */
export function answerFrameworkError (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  request.log.debug({ err: error }, 'request rejected before routing')
  void reply.header('x-request-id', request.id)
  void sendError(reply, toHttpError(error))
}

/** Installs the error and not-found handlers on the root instance (they apply to every plugin
 *  registered on it, so routes added later by other plugins answer errors the same way). */
export function installErrorHandling (app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = toHttpError(error)
    // A retriable 503 (a store restoring, ownership moving, a dependency down) is expected and
    // answered with Retry-After: dozens per rebalance must not read as failures in error logs.
    // (A 429 carries Retry-After too, but is the client's doing: debug, like other 4xx.)
    if (mapped.retryAfterSeconds !== undefined && mapped.status >= 500) request.log.info({ code: mapped.body.error.code, retryAfterSeconds: mapped.retryAfterSeconds }, 'request deferred: retry later')
    else if (mapped.status >= 500) request.log.error({ err: error }, 'request failed')
    else request.log.debug({ err: error }, 'request rejected')
    return sendError(reply, mapped)
  })
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0]!
    const allow = allowedMethods(app, path)
    if (allow.length > 0) {
      void reply.header('allow', allow.join(', '))
      return sendError(reply, { status: 405, body: { error: { code: HTTP_CODES.METHOD_NOT_ALLOWED, message: `${request.method} is not allowed on ${path}; allowed: ${allow.join(', ')}` } } })
    }
    return sendError(reply, { status: 404, body: { error: { code: HTTP_CODES.NOT_FOUND, message: `Route ${request.method} ${path} not found` } } })
  })
}
