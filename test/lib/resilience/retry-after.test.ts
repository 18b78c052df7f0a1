// fetchHonouringRetryAfter against a real HTTP server that defers (429 / 503 + Retry-After).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { fetchHonouringRetryAfter } from '../../../lib/resilience/retry-after.ts'

async function serve (answers: Array<{ status: number, retryAfter?: string }>): Promise<{ url: string, times: number[], close: () => Promise<void> }> {
  const times: number[] = []
  const server = createServer((_request, response) => {
    times.push(Date.now())
    const answer = answers[Math.min(times.length - 1, answers.length - 1)]!
    response.writeHead(answer.status, answer.retryAfter === undefined ? {} : { 'retry-after': answer.retryAfter })
    response.end(JSON.stringify({ n: times.length }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/x`, times, close: () => new Promise(resolve => server.close(() => resolve())) }
}

t.test('a 429 then a 503 are asked again after Retry-After, then the answer', async t => {
  const server = await serve([{ status: 429, retryAfter: '1' }, { status: 503, retryAfter: '1' }, { status: 200 }])
  t.teardown(server.close)
  const response = await fetchHonouringRetryAfter(server.url, {})
  t.equal(response.status, 200)
  t.same(await response.json(), { n: 3 })
  const pauses = server.times.slice(1).map((at, i) => at - server.times[i]!)
  t.ok(pauses.every(ms => ms >= 950), `waited the server's Retry-After each time (${pauses.join(', ')} ms)`)
})

t.test('bounded: after the retries the last deferred answer is returned', async t => {
  const server = await serve([{ status: 503, retryAfter: '0.01' }])
  t.teardown(server.close)
  const response = await fetchHonouringRetryAfter(server.url, {}, { retries: 3, maxDelayMs: 20 })
  t.equal(response.status, 503)
  t.equal(server.times.length, 4, 'the first request and 3 retries')
})

t.test('other statuses are answers, not retried', async t => {
  const server = await serve([{ status: 404 }])
  t.teardown(server.close)
  t.equal((await fetchHonouringRetryAfter(server.url, {})).status, 404)
  t.equal(server.times.length, 1)
})
