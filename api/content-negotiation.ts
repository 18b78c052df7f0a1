// 406 for a JSON route whose client accepts neither JSON nor problem+json (RFC 9110 §12.5.1):
// answered as a problem anyway (RFC 9110 §15.5.7 allows sending an unacceptable representation
// rather than nothing). No Accept header, `*/*`, `application/*` or either type with q > 0 pass.
import type { FastifyRequest } from 'fastify'
import { HTTP_CODES, HttpProblem } from './http-errors.ts'

const JSON_TYPES = new Set(['application/json', 'application/problem+json', 'application/*', '*/*'])

export function acceptsJson (accept: string | undefined): boolean {
  if (accept === undefined || accept === 'application/json' || accept === '*/*') return true
  if (accept.trim() === '') return true
  return accept.split(',').some(range => {
    const [type, ...params] = range.split(';').map(part => part.trim().toLowerCase())
    const q = params.find(p => p.startsWith('q='))
    return JSON_TYPES.has(type ?? '') && (q === undefined || Number(q.slice(2)) > 0)
  })
}

/** The 406 problem for a request that accepts no JSON; undefined when it accepts JSON. */
export function jsonNotAccepted (request: FastifyRequest): HttpProblem | undefined {
  if (acceptsJson(request.headers.accept)) return undefined
  return new HttpProblem(406, HTTP_CODES.NOT_ACCEPTABLE, `This route answers application/json (errors application/problem+json); Accept was ${JSON.stringify(request.headers.accept)}`)
}

/** An onRequest hook: refuses requests that accept no JSON. */
export async function requireJsonAccepted (request: FastifyRequest): Promise<void> {
  const problem = jsonNotAccepted(request)
  if (problem !== undefined) throw problem
}
