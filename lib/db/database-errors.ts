// Which database errors mean "PostgreSQL cannot be reached right now" (wait and retry: the server
// is down, restarting, or the network between is cut) as opposed to a mistake that waiting cannot
// fix (wrong password, unknown database, bad SQL), which must still stop start-up with its message.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'])
// SQLSTATE class 08 (connection exception), and the server shutting down or starting up.
const SERVER_CODES = new Set(['57P01', '57P02', '57P03'])
const MESSAGES = /Connection terminated|timeout exceeded when trying to connect|connection timeout|Query read timeout|Client has encountered a connection error|Connection refused|the database system is (starting up|shutting down)/i

export function isDatabaseUnreachable (error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== null && e !== undefined && depth < 5; depth++) {
    const { code, message, errors, cause } = e as { code?: unknown, message?: unknown, errors?: unknown, cause?: unknown }
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_CODES.has(code) || code.startsWith('08'))) return true
    if (typeof message === 'string' && MESSAGES.test(message)) return true
    // Node reports a refused connection to a name with several addresses as an AggregateError.
    if (Array.isArray(errors) && errors.some(isDatabaseUnreachable)) return true
    e = cause
  }
  return false
}

/** What an archive write's failure means for the rows it carried (docs/archive.md, "Rows the
 *  database refuses"):
 *  - 'row-refused': the server refused the data itself (SQLSTATE class 22 data exception, e.g.
 *    22P02 invalid JSON, 22P05 untranslatable character, 22021 invalid byte sequence; class 23
 *    integrity violation; 54000 a value over a server limit). Retrying cannot help; it is not an
 *    outage either, so it must not count against the circuit breaker.
 *  - 'retriable': anything else (connection lost, timeouts, 40001 serialization failure, 40P01
 *    deadlock, 53300 too many connections, 57P01 admin shutdown, 57014 statement timeout…) and
 *    errors without a SQLSTATE: waited out behind the breaker, nothing is skipped. */
export type DatabaseErrorKind = 'row-refused' | 'retriable'

const ROW_REFUSED_CLASSES = ['22', '23']
const ROW_REFUSED_CODES = new Set(['54000'])

/** SQLSTATE of a database error (pg and PGlite both set `code`), or null. */
export function sqlStateOf (error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null
}

export function classifyDatabaseError (error: unknown): DatabaseErrorKind {
  if (isDatabaseUnreachable(error)) return 'retriable'
  const code = sqlStateOf(error)
  if (code === null) return 'retriable'
  return ROW_REFUSED_CLASSES.includes(code.slice(0, 2)) || ROW_REFUSED_CODES.has(code) ? 'row-refused' : 'retriable'
}
