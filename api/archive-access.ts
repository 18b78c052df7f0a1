// The archive database of this process, for the API's report routes: the archiver role shares
// its handle here (embedded, PGlite is one handle per directory, so the API cannot open a second
// one), and the api role reads it. With REWARDS_DATABASE_URL the api role opens its own small
// pool instead and does not need this.
import type { FastifyInstance } from 'fastify'
import type { Queryable } from '../lib/db/database.ts'

const shared = new WeakMap<FastifyInstance, () => Queryable | undefined>()

/** Called by the archiver role: `get` answers the migrated database, or undefined (not yet, closed). */
export function shareArchiveDatabase (server: FastifyInstance, get: () => Queryable | undefined): void {
  shared.set(server, get)
}

/** The archive database the archiver role of this process shares, if any, right now. */
export function sharedArchiveDatabase (server: FastifyInstance): Queryable | undefined {
  return shared.get(server)?.()
}
