// Client administration over HTTP, for `rewards clients …` while `rewards start` runs on the
// embedded database: PGlite is one process per directory, so the command cannot open
// <data-dir>/pg itself and asks the running platform instead (docs/api.md, "Clients").
// Served by the auth role only on the embedded default, to callers on this machine holding the admin
// token the platform wrote to <data-dir>/admin.json (mode 0600: whoever can read it could open
// the database anyway). Hidden from OpenAPI.
//
//   POST   /admin/v1/clients            {name, scopes[]} → 201 {client, clientSecret}
//   GET    /admin/v1/clients            → 200 [client] (never secrets or hashes)
//   DELETE /admin/v1/clients/{clientId} → 200 {revoked: boolean}
//   POST   /admin/v1/signing-keys       → 201 {kid} (rotation)
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { sendError } from '../http-errors.ts'
import type { ClientStore } from './client-store.ts'
import type { SigningKeys } from './signing-keys.ts'

export interface ClientAdminRoutesOptions {
  readonly clients: ClientStore
  readonly keys: SigningKeys
  readonly adminToken: string
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest()

function isLoopback (ip: string): boolean {
  return ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1' || ip.startsWith('127.')
}

export const clientAdminRoutes: FastifyPluginAsync<ClientAdminRoutesOptions> = async (app, options) => {
  const expected = digest(`Bearer ${options.adminToken}`)
  const hide = { hide: true, tags: ['admin'] }
  const guard = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    // Not found rather than forbidden for other hosts: the endpoint does not exist for them.
    if (!isLoopback(request.ip) && request.socket.remoteAddress !== request.socket.localAddress) return void await sendError(reply, { status: 404, body: { error: { code: 'NOT_FOUND', message: `Route ${request.method}:${request.url} not found` } } })
    const given = request.headers.authorization
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
      return void await sendError(reply, { status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'Missing or wrong admin token (see <data-dir>/admin.json)' } } })
    }
  }

  app.post<{ Body: { name: string, scopes: string[] } }>('/admin/v1/clients', {
    schema: {
      ...hide,
      body: { type: 'object', required: ['name', 'scopes'], additionalProperties: false, properties: { name: { type: 'string', maxLength: 200 }, scopes: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 64 } } } }
    },
    preHandler: guard
  }, async (request, reply) => {
    try {
      return await reply.code(201).send(await options.clients.create(request.body))
    } catch (error) {
      if (error instanceof RangeError) return await sendError(reply, { status: 400, body: { error: { code: 'INVALID_CLIENT', message: error.message } } })
      throw error
    }
  })

  app.get('/admin/v1/clients', { schema: hide, preHandler: guard }, async () => await options.clients.list())

  app.delete<{ Params: { clientId: string } }>('/admin/v1/clients/:clientId', {
    schema: { ...hide, params: { type: 'object', required: ['clientId'], properties: { clientId: { type: 'string', minLength: 1, maxLength: 200 } } } },
    preHandler: guard
  }, async request => ({ revoked: await options.clients.revoke(request.params.clientId) }))

  app.post('/admin/v1/signing-keys', { schema: hide, preHandler: guard }, async (_request, reply) => await reply.code(201).send({ kid: await options.keys.rotate() }))
}
