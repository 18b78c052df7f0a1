// GET /v1/redemptions/{id} without memberId: a decision lives in its member's task, and the id
// alone does not say which task that is. So every processor instance is asked (scatter/gather;
// docs/decisions/0007-redemption-lookup-by-id.md): each searches its own tasks through the
// redemption-index store (O(log n) per task) and answers the decision, or "not in my tasks X, Y"
// (404 with the tasks it searched, all READY), or 503 while restoring or rebalancing.
//
// The first decision found wins. "Not found" only when the tasks that answered "not here" cover
// every task of the topology: an instance the (cached) group map missed, a task moving between
// instances, an instance restoring — each leaves a task uncovered and the answer is 503 +
// Retry-After, never a false 404.
import { isRewardsError, RewardsError } from '../../lib/errors.ts'
import type { RedeemConfirmed } from '../../processors/rewards/schemas.ts'
import { CONTENT_DIGEST_HEADER } from '../routes/internal-routes.ts'
import type { GroupOwnerMap } from './group-owner-map.ts'
import type { LocalReader } from './local-reader.ts'

export interface RedemptionLookupOptions {
  /** Present on instances running the stream application: searched first, without a hop. */
  readonly local?: LocalReader
  /** The group's instances. Without it only the local tasks are searched, and their answer is
   *  final (a single instance that is not in a group with others, e.g. tests). */
  readonly owners?: GroupOwnerMap
  readonly forwardTimeoutMs: number
}

export interface LookupCall {
  readonly authorization: string | undefined
  readonly requestId: string
}

/** `digest`: the accepted request's contentDigest; null when the entry predates digests or the
 *  answering instance does not send it. */
export type LookupResult =
  | { readonly kind: 'found', readonly decision: RedeemConfirmed, readonly digest: string | null, readonly where: 'local' | 'forwarded' }
  | { readonly kind: 'absent' }

type InstanceAnswer =
  | { readonly kind: 'found', readonly decision: RedeemConfirmed, readonly digest: string | null }
  | { readonly kind: 'absent', readonly tasks: string[] }
  | { readonly kind: 'unsure', readonly error: Error }

/** The internal route every processor instance serves for this lookup. */
export function internalRedemptionPath (redemptionId: string): string {
  return `/internal/v1/redemptions/${encodeURIComponent(redemptionId)}`
}

export class OwnersUnreachable extends Error {
  readonly hosts: string[]
  constructor (hosts: string[], cause: unknown) {
    super(`instance(s) ${hosts.join(', ')} did not answer`, { cause })
    this.name = 'OwnersUnreachable'
    this.hosts = hosts
  }
}

export async function lookupRedemption (options: RedemptionLookupOptions, redemptionId: string, call: LookupCall): Promise<LookupResult> {
  const covered = new Set<string>()
  const unsure: Error[] = []
  const { local, owners } = options
  if (local !== undefined) {
    try {
      const search = local.redemptionById(redemptionId)
      if (search.decision !== undefined) return { kind: 'found', decision: search.decision, digest: search.digest ?? null, where: 'local' }
      for (const task of search.tasks) covered.add(task)
    } catch (error) {
      if (!isRewardsError(error, 'STORE_NOT_READY') && !isRewardsError(error, 'KEY_OWNED_ELSEWHERE')) throw error
      unsure.push(error as Error)
    }
    if (owners === undefined) {
      if (unsure.length > 0) throw new RewardsError('STORE_NOT_READY', unsure[0]!.message, { cause: unsure[0] })
      return { kind: 'absent' }
    }
  }
  if (owners === undefined) throw new Error('lookupRedemption needs a local reader or an owner map')

  // The members' sub-topology (both inputs feed the ledger) has one task per partition of
  // reward-events, and instances report only those tasks (LocalReader.redemptionById), so every
  // task is covered when `partitions` distinct tasks are.
  const { partitions, hosts } = await owners.instances()
  const self = local?.host() ?? null
  if (partitions > 0 && covered.size >= partitions) return { kind: 'absent' }
  const others = hosts.filter(h => h !== self)
  const found = await gather(others, redemptionId, call, options.forwardTimeoutMs, answer => {
    if (answer.kind === 'absent') for (const task of answer.tasks) covered.add(task)
    else if (answer.kind === 'unsure') unsure.push(answer.error)
  })
  if (found !== undefined) return { kind: 'found', decision: found.decision, digest: found.digest, where: 'forwarded' }
  if (partitions > 0 && covered.size >= partitions) return { kind: 'absent' }
  // Some task was not searched: the map may be stale (a new instance), or a task is moving.
  owners.invalidate()
  const unreachable = unsure.filter(e => e instanceof OwnersUnreachable) as OwnersUnreachable[]
  if (unreachable.length > 0 && unreachable.length === unsure.length) throw new OwnersUnreachable(unreachable.flatMap(e => e.hosts), unreachable[0]!.cause)
  throw new RewardsError('STORE_NOT_READY', partitions === 0
    ? 'the processor group has no members yet'
    : `searched ${covered.size} of ${partitions} task(s); the others are restoring, moving or not reachable`)
}

/** Asks every host at once; resolves with the first decision (aborting the rest) or, once every
 *  host answered, undefined. */
function gather (hosts: string[], redemptionId: string, call: LookupCall, timeoutMs: number, onAnswer: (answer: InstanceAnswer) => void): Promise<{ decision: RedeemConfirmed, digest: string | null } | undefined> {
  if (hosts.length === 0) return Promise.resolve(undefined)
  const abort = new AbortController()
  return new Promise(resolve => {
    let pending = hosts.length
    for (const host of hosts) {
      void askInstance(host, redemptionId, call, AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)])).then(answer => {
        if (abort.signal.aborted) return
        if (answer.kind === 'found') {
          abort.abort()
          resolve({ decision: answer.decision, digest: answer.digest })
          return
        }
        onAnswer(answer)
        if (--pending === 0) resolve(undefined)
      })
    }
  })
}

async function askInstance (host: string, redemptionId: string, call: LookupCall, signal: AbortSignal): Promise<InstanceAnswer> {
  let response: Response
  try {
    response = await fetch(`http://${host}${internalRedemptionPath(redemptionId)}`, {
      headers: { ...(call.authorization !== undefined ? { authorization: call.authorization } : {}), 'x-request-id': call.requestId, accept: 'application/json' },
      signal
    })
  } catch (error) {
    return { kind: 'unsure', error: new OwnersUnreachable([host], error) }
  }
  const body = await response.json().catch(() => undefined) as { error?: { code?: string, message?: string, details?: { tasks?: unknown } } } | RedeemConfirmed | undefined
  if (response.status === 200 && body !== undefined) return { kind: 'found', decision: body as RedeemConfirmed, digest: response.headers.get(CONTENT_DIGEST_HEADER) }
  const error = (body as { error?: { code?: string, message?: string, details?: { tasks?: unknown } } } | undefined)?.error
  if (response.status === 404 && error?.code === 'REDEMPTION_NOT_FOUND' && Array.isArray(error.details?.tasks)) {
    return { kind: 'absent', tasks: error.details.tasks.filter((t): t is string => typeof t === 'string') }
  }
  if (response.status === 503) return { kind: 'unsure', error: new RewardsError('STORE_NOT_READY', error?.message ?? `${host} is not ready`) }
  // 401/403 (configurations differ), an older instance without the route (404 without tasks), 5xx.
  return { kind: 'unsure', error: new OwnersUnreachable([host], new Error(`${host} answered ${response.status}${error?.code !== undefined ? ` ${error.code}` : ''}`)) }
}
