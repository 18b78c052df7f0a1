// The peers policy (lib/resilience/peers-policy.ts) with a real HTTP peer: requests are bounded by
// timeoutMs; a peer that does not answer failureThreshold times in a row is not called while its
// breaker is open, then gets one trial; HTTP error answers are answers and never open it; one
// host's breaker does not affect another's.
import t, { type Test } from 'tap'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PeersPolicy } from '../../../lib/resilience/peers-policy.ts'

async function peer (t: Test, handler: Parameters<typeof createServer>[1]): Promise<{ host: string, server: Server }> {
  const server = createServer(handler)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

const get = (host: string) => async (signal: AbortSignal): Promise<number> => (await fetch(`http://${host}/`, { signal })).status

t.test('a peer that does not answer opens its breaker; open, nothing is sent; a trial after openMs', async t => {
  let mode: 'hang' | 'answer' = 'hang'
  let received = 0
  const { host } = await peer(t, (_req, res) => {
    received++
    if (mode === 'answer') res.end('ok')
  })
  const policy = new PeersPolicy({ timeoutMs: 100, failureThreshold: 3, openMs: 300 })
  for (let i = 0; i < 3; i++) await t.rejects(policy.execute(host, get(host)), { name: 'TimeoutError' }, `timed out after timeoutMs (${i + 1})`)
  t.equal(policy.state(host), 'OPEN')
  const before = received
  await t.rejects(policy.execute(host, get(host)), { message: /circuit breaker is open/ })
  t.equal(received, before, 'no request reached the peer while open')
  mode = 'answer'
  await new Promise(resolve => setTimeout(resolve, 350)) // openMs is what is tested: let it pass
  t.equal(await policy.execute(host, get(host)), 200, 'the trial goes, and the peer answers')
  t.equal(policy.state(host), 'CLOSED')
})

t.test('HTTP error answers are answers: they never open the breaker', async t => {
  const { host } = await peer(t, (_req, res) => { res.statusCode = 503; res.end() })
  const policy = new PeersPolicy({ failureThreshold: 2 })
  for (let i = 0; i < 5; i++) t.equal(await policy.execute(host, get(host)), 503)
  t.equal(policy.state(host), 'CLOSED')
})

t.test('breakers are per host', async t => {
  const { host: up } = await peer(t, (_req, res) => res.end('ok'))
  const down = '127.0.0.1:1'
  const policy = new PeersPolicy({ failureThreshold: 1, openMs: 60_000 })
  await t.rejects(policy.execute(down, get(down)))
  t.equal(policy.state(down), 'OPEN')
  t.equal(await policy.execute(up, get(up)), 200, 'another host is still called')
  t.equal(policy.state(up), 'CLOSED')
})
