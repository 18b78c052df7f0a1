// A balance query the public fast lane (api/routes/balance-fast-lane.ts) forwarded to the member's
// owner and whose outcome it does not answer itself (404, an error, a standby's answer, the rate
// limit reached meanwhile): the lane hands the request to Fastify with the outcome, and the route
// (api/routes/member-routes.ts) answers it as it answers its own query's — so every error and
// staleness marking keeps its one implementation, and the owner is asked once.
import type { IncomingMessage } from 'node:http'
import type { CallContext } from '../query/member-queries.ts'
import type { ServedByStandby } from '../query/standby-fallback.ts'

/** How a query ended: its JSON text (undefined: no such member) or its error, and a standby's mark. */
export interface SettledBalance {
  readonly failed: boolean
  readonly json?: string | undefined
  readonly error?: unknown
  readonly standby?: ServedByStandby | undefined
}

const handedOver = new WeakMap<IncomingMessage, SettledBalance>()

export function handOver (request: IncomingMessage, settled: SettledBalance): void {
  handedOver.set(request, settled)
}

/** The outcome the lane handed over with this request, as MemberQueries.balanceJson would give it
 *  (a standby's mark told to `call`), once; undefined when the lane handed over none. */
export function takeHandedOver (request: IncomingMessage, call: CallContext): Promise<string | undefined> | undefined {
  const settled = handedOver.get(request)
  if (settled === undefined) return undefined
  handedOver.delete(request)
  if (settled.standby !== undefined) call.servedByStandby?.(settled.standby)
  return settled.failed ? Promise.reject(settled.error as Error) : Promise.resolve(settled.json)
}
