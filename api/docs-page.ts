// GET /docs: the OpenAPI document rendered by Swagger UI (@fastify/swagger-ui), every asset served
// from node_modules (no CDN: the page works without internet; no online validator). The plugin
// reads the document through the `swagger` decorator that @fastify/swagger would add; we build
// the document ourselves (api/openapi.ts), so a small plugin under that name provides it.
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { HTTP_CODES, HttpProblem } from './http-errors.ts'

export async function registerDocsPage (app: FastifyInstance, document: () => unknown): Promise<void> {
  await app.register(async scope => {
    await scope.register(fp(async instance => { instance.decorate('swagger', document) }, { name: '@fastify/swagger' }))
    await scope.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      validatorUrl: false,
      uiConfig: { deepLinking: true, defaultModelsExpandDepth: 1 },
      theme: { title: 'Rewards & Redeem API' },
      // The plugin's /docs/yaml would need @fastify/swagger's YAML output: the document is JSON
      // only (GET /openapi.json, /docs/json), so that route answers 404 like any unknown one.
      uiHooks: {
        onRequest: async request => {
          if (request.url.split('?')[0] === '/docs/yaml') throw new HttpProblem(404, HTTP_CODES.NOT_FOUND, 'Route GET /docs/yaml not found: the document is at /openapi.json')
        }
      }
    })
  })
}
