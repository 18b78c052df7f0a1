// Interactive queries of a stream application running in this process: registers the internal
// query routes (targets of forwarded queries) on the server and remembers the application for the
// public API of the same process, which then answers this instance's keys without a hop.
// Called by the processor role with one line.
import type { FastifyInstance } from 'fastify'
import type { StreamsApplication } from '../topology/streams-application.ts'
import type { ApiServices } from './api-services.ts'
import { LocalReader } from './query/local-reader.ts'
import { internalRoutes } from './routes/internal-routes.ts'

const localReaders = new WeakMap<FastifyInstance, LocalReader>()

export function registerStreamsQueries (server: FastifyInstance, app: () => StreamsApplication | undefined, services: () => Promise<ApiServices>): LocalReader {
  const reader = new LocalReader(app)
  localReaders.set(server, reader)
  void server.register(async scope => {
    const { internalGuard } = await services()
    await scope.register(internalRoutes, { reader, guard: internalGuard })
  })
  return reader
}

/** The local reader of a stream application registered on this server, if any. */
export function localReaderOf (server: FastifyInstance): LocalReader | undefined {
  return localReaders.get(server)
}
