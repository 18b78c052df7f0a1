// The forwarded query's HTTP call (api/query/forward-request.ts): the whole answer with its status
// and headers, a body in several chunks, a POST body, and the failures the caller turns into
// OwnerUnavailable (aborted by its signal, refused connection).
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { Agent } from 'undici'
import { forwardRequest } from '../../api/query/forward-request.ts'

async function serve (handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ origin: string, close: () => Promise<void> }> {
  const server = createServer(handler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return { origin: `http://127.0.0.1:${port}`, close: async () => { server.closeAllConnections(); server.close(); await once(server, 'close') } }
}

t.test('answers: status, headers and a body sent in chunks; a POST body arrives', async t => {
  const seen: Array<{ method: string, url: string, auth: string | undefined, body: string }> = []
  const owner = await serve((request, response) => {
    let body = ''
    request.setEncoding('utf8')
    request.on('data', chunk => { body += chunk as string })
    request.on('end', () => {
      seen.push({ method: request.method!, url: request.url!, auth: request.headers.authorization, body })
      response.writeHead(request.method === 'POST' ? 404 : 200, { 'content-type': 'application/json', 'x-rewards-served-by': 'standby' })
      // Split inside the 3-byte ✓: the text is decoded from all the chunks at once.
      const bytes = Buffer.from('{"memberId":"m-1","note":"é ✓"}')
      response.write(bytes.subarray(0, bytes.length - 4))
      setImmediate(() => response.end(bytes.subarray(bytes.length - 4)))
    })
  })
  const agent = new Agent()
  t.teardown(async () => { await agent.close(); await owner.close() })
  const get = await forwardRequest(agent, { origin: owner.origin, method: 'GET', path: '/internal/v1/members/m-1/balance', headers: { authorization: 'Bearer x' } }, new AbortController().signal)
  t.equal(get.statusCode, 200)
  t.equal(get.text, '{"memberId":"m-1","note":"é ✓"}', 'the whole body, UTF-8 across chunks')
  t.equal(get.headers['x-rewards-served-by'], 'standby', 'headers by lower-case name')
  const post = await forwardRequest(agent, { origin: owner.origin, method: 'POST', path: '/p', headers: { 'content-type': 'application/json' }, body: '{"eventIds":["e1"]}' }, new AbortController().signal)
  t.equal(post.statusCode, 404, 'any status is an answer')
  t.same(seen, [
    { method: 'GET', url: '/internal/v1/members/m-1/balance', auth: 'Bearer x', body: '' },
    { method: 'POST', url: '/p', auth: undefined, body: '{"eventIds":["e1"]}' }
  ])
})

t.test('fails: aborted by its signal (an owner that does not answer), refused connection', async t => {
  let arrived!: () => void
  const arrival = new Promise<void>(resolve => { arrived = resolve })
  const owner = await serve(() => { arrived() })
  const agent = new Agent()
  t.teardown(async () => { await agent.close(); await owner.close() })
  const controller = new AbortController()
  const pending = forwardRequest(agent, { origin: owner.origin, method: 'GET', path: '/stall', headers: {} }, controller.signal)
  await arrival
  const reason = new Error('timed out')
  controller.abort(reason)
  await t.rejects(pending, reason, 'rejects with the signal\'s reason')

  const aborted = new AbortController()
  aborted.abort(reason)
  await t.rejects(forwardRequest(agent, { origin: owner.origin, method: 'GET', path: '/x', headers: {} }, aborted.signal), reason, 'an aborted signal: not sent')

  const gone = await serve(() => {})
  await gone.close()
  await t.rejects(forwardRequest(agent, { origin: gone.origin, method: 'GET', path: '/x', headers: {} }, new AbortController().signal), { code: 'ECONNREFUSED' }, 'refused connection')
})
