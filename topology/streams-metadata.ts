// Public metadata of a stream application's consumer group, for a process that runs no stream
// application of its own but must find an instance (an API instance forwarding a query): what a
// group member advertises, without knowing how the assignor encodes it. The subscription format
// (runtime/assignment/subscription-info.ts) stays internal and may change.
import { decodeSubscriptionInfo } from './runtime/assignment/subscription-info.ts'

/** host:port of the API listener a member of the application's group advertises (its
 *  `GroupMemberDescription.userData`: a version 2 subscription, or the version 1 JSON of older
 *  instances during a rolling upgrade), or null when it serves no queries or the data is not the
 *  engine's. */
export function applicationServerOf (userData: Buffer | null, memberId = ''): string | null {
  if (userData === null || userData.length === 0) return null
  try {
    return decodeSubscriptionInfo(userData, memberId).endpoint
  } catch {
    return null
  }
}
