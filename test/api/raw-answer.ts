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
 *  `reference` answer it is compared with, a RateLimit-Reset one second off the reference's is
 *  taken as the reference's: each server's window starts when it first counts the client, a few
 *  ms apart, so the seconds left round to neighbouring integers when two reads straddle a second. */
export function comparable (answer: Answer, givenRequestId: boolean, reference?: Answer): Answer {
  const referenceReset = reference?.headers.find(([name]) => name === 'ratelimit-reset')?.[1]
  return {
    status: answer.status,
    body: answer.body,
    headers: answer.headers.filter(([name]) => name !== 'date').map(([name, value]) => {
      if (name === 'x-request-id' && !givenRequestId) return [name, '(generated)']
      if (name === 'ratelimit-reset' && referenceReset !== undefined && Math.abs(Number(value) - Number(referenceReset)) <= 1) return [name, referenceReset]
      return [name, value]
    })
  }
}
