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
