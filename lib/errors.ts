// One catalogue of errors for the whole platform. Every error has a stable `code` (logged,
// returned by the HTTP API, asserted by tests) and says whether retrying can help.

import { STREAMS_ERRORS, StreamsError, type ErrorSpec, type StreamsErrorOptions } from '../topology/streams-error.ts'

export type { ErrorSpec }

/** The engine's codes (topology/streams-error.ts) and the platform's own. */
export const ERRORS = {
  ...STREAMS_ERRORS,
  // PostgreSQL (clients and signing keys, the archive) cannot be reached: what needs it waits
  // (docs/runbooks/dependency-outage.md).
  DATABASE_UNAVAILABLE: { message: 'The database (PostgreSQL) cannot be reached; retry shortly', retriable: true },
  // A key that no task of a store holds (`rewards store get`; docs/cli.md "Exit status").
  KEY_NOT_FOUND: { message: 'No such key in the store', retriable: false }
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERRORS

/** The platform's error: the engine's StreamsError with the platform's wider catalogue. Engine
 *  errors reach the platform as StreamsError; isRewardsError() recognises both. */
export class RewardsError extends StreamsError<ErrorCode> {
  constructor (code: ErrorCode, message?: string, options?: StreamsErrorOptions) {
    super(code, message, options, ERRORS)
    this.name = 'RewardsError'
  }
}

/** A coded error of the engine or the platform. */
export function isRewardsError (error: unknown, code?: ErrorCode): error is StreamsError<ErrorCode> {
  return error instanceof StreamsError && (code === undefined || error.code === code)
}
