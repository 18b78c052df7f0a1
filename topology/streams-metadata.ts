// Public metadata of a stream application's consumer group, for a process that runs no stream
// application of its own but must find an instance (an API instance forwarding a query): what a
// group member advertises, without knowing how the assignor encodes it. The subscription format
// (runtime/co-partition-assignor.ts) stays internal and may change.
import { decodeSubscription } from './runtime/co-partition-assignor.ts'

/** host:port of the API listener a member of the application's group advertises (its
 *  `GroupMemberDescription.userData`), or null when it serves no queries or the data is not the
 *  engine's. */
export function applicationServerOf (userData: Buffer | null): string | null {
  return decodeSubscription(userData).host
}
