// Interactive queries of a stream application running in this process: registers the internal
// query routes (targets of forwarded queries) on the server and remembers the application for the
// public API of the same process, which then answers this instance's keys without a hop.
// Called by the processor role with one line; the token checks open on the first forwarded query.
import type { FastifyInstance } from 'fastify'
import type { StreamsApplication } from '../topology/index.ts'
import type { ApiServices } from './api-services.ts'
import { onDemandGuard } from './auth/require-scope.ts'
import { LocalReader } from './query/local-reader.ts'
import { internalRoutes } from './routes/internal-routes.ts'

const localReaders = new WeakMap<FastifyInstance, LocalReader>()

/** `services` is called on the first forwarded query (its guard checks the forwarded token), not
 *  to start: a processor-only process opens the token store only if a query is forwarded to it. */
export function registerStreamsQueries (server: FastifyInstance, app: () => StreamsApplication | undefined, services: () => Promise<ApiServices>): LocalReader {
  const reader = new LocalReader(app)
  localReaders.set(server, reader)
  void server.register(internalRoutes, { reader, guard: onDemandGuard(async () => (await services()).internalGuard) })
  return reader
}

/** The local reader of a stream application registered on this server, if any. */
export function localReaderOf (server: FastifyInstance): LocalReader | undefined {
  return localReaders.get(server)
}
