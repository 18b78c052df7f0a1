// HTTP answers as a client sees them on the wire, for the tests that compare a fast lane's answer
// with the Fastify route's byte for byte (balance-fast-lane, internal-balance-lane).
import { request as httpRequest } from 'node:http'

export interface Answer { status: number, body: string, headers: Array<[string, string]> }

/** One request with node:http: the raw headers in the order they came. */
export function send (base: string, path: string, headers: Record<string, string>, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers, agent: false }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', chunk => { body += chunk })
      res.on('end', () => {
        const raw = res.rawHeaders
        const pairs: Array<[string, string]> = []
        for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i]!.toLowerCase(), raw[i + 1]!])
        resolve({ status: res.statusCode!, body, headers: pairs })
      })
    })
    req.once('error', reject)
    req.end()
  })
}

/** What a client may compare: Date dropped, a generated request id replaced by a mark. With the
 *  `reference` answer it is compared with, a count of seconds one off the reference's is taken as
 *  the reference's — RateLimit-Reset, and a 429's Retry-After and the "retry after N s" of its
 *  detail (with the Content-Length of that detail): each server's window starts when it first
 *  counts the client, a few ms apart, so the seconds left round to neighbouring integers when two
 *  reads straddle a second. `resetSlackSeconds` (default 1) widens that when the counts may be
 *  further apart (a read the route held for a move's retry counts at its start, the next read's
 *  seconds later). */
export function comparable (answer: Answer, givenRequestId: boolean, reference?: Answer, resetSlackSeconds = 1): Answer {
  const seconds = (name: string): string | undefined => reference?.headers.find(([n]) => n === name)?.[1]
  const near = (value: string, to: string | undefined): to is string => to !== undefined && Math.abs(Number(value) - Number(to)) <= resetSlackSeconds
  const referenceReset = seconds('ratelimit-reset')
  const referenceRetry = seconds('retry-after')
  const RETRY_TEXT = /retry after (\d+) s/g
  const retryInBody = reference === undefined ? undefined : [...reference.body.matchAll(RETRY_TEXT)][0]?.[1]
  const body = retryInBody === undefined ? answer.body : answer.body.replace(RETRY_TEXT, (text, n: string) => near(n, retryInBody) ? `retry after ${retryInBody} s` : text)
  return {
    status: answer.status,
    body,
    headers: answer.headers.filter(([name]) => name !== 'date').map(([name, value]) => {
      if (name === 'x-request-id' && !givenRequestId) return [name, '(generated)']
      if (name === 'ratelimit-reset' && near(value, referenceReset)) return [name, referenceReset]
      if (name === 'retry-after' && near(value, referenceRetry)) return [name, referenceRetry]
      if (name === 'content-length' && body !== answer.body && Number(value) === Buffer.byteLength(answer.body)) return [name, String(Buffer.byteLength(body))]
      return [name, value]
    })
  }
}
