// A real partner webhook receiver for the notification tests: node:http on 127.0.0.1, one path per
// endpoint, each with a behaviour the test switches at will (answer 200, fail with 500, hang
// past the caller's timeout, or a per-request decision). Every request is recorded with its
// headers, raw body and whether its signature verifies. The verification is written here from
// the documented algorithm (docs/notifications.md), independently of the product's code.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'

export type Behaviour = 'ok' | 'fail' | 'hang' | ((request: ReceivedRequest) => 'ok' | 'fail' | 'hang' | 'bad-request')

export interface ReceivedRequest {
  readonly path: string
  readonly at: number
  readonly headers: Record<string, string>
  readonly body: string
  /** The parsed envelope: { id, kind, data }. */
  readonly json: { id: string, kind: string, data: Record<string, unknown> }
  readonly signatureValid: boolean
  /** What the receiver answered: 200, 500, 400, or 0 for a request left hanging. */
  answered: number
}

/** The receiver's verification, as docs/notifications.md describes it. */
export function verify (secret: string, headers: Record<string, string>, body: string, toleranceS = 300): boolean {
  const timestamp = headers['rewards-webhook-timestamp']
  const signature = headers['rewards-webhook-signature']
  if (timestamp === undefined || signature === undefined || !/^\d+$/.test(timestamp)) return false
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceS) return false
  const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest()
  return signature.split(',').some(part => {
    const [scheme, hex] = part.split('=')
    if (scheme !== 'v1' || hex === undefined || hex.length !== 64) return false
    return timingSafeEqual(Buffer.from(hex, 'hex'), expected)
  })
}

export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = []
  readonly #server: Server
  readonly #secrets = new Map<string, string>()
  readonly #behaviours = new Map<string, Behaviour>()
  readonly #hanging = new Set<ServerResponse>()
  readonly #waiters = new Set<() => void>()
  port = 0

  constructor () {
    this.#server = createServer((req, res) => { this.#handle(req, res) })
  }

  async start (): Promise<string> {
    await new Promise<void>(resolve => this.#server.listen(0, '127.0.0.1', resolve))
    this.port = (this.#server.address() as { port: number }).port
    return `http://127.0.0.1:${this.port}`
  }

  /** Declares an endpoint path with its secret and initial behaviour. */
  endpoint (path: string, secret: string, behaviour: Behaviour = 'ok'): string {
    this.#secrets.set(path, secret)
    this.#behaviours.set(path, behaviour)
    return `http://127.0.0.1:${this.port}${path}`
  }

  set (path: string, behaviour: Behaviour): void {
    this.#behaviours.set(path, behaviour)
  }

  at (path: string): ReceivedRequest[] {
    return this.requests.filter(r => r.path === path)
  }

  /** Resolves once `done()` holds (checked on every request), or rejects after timeoutMs. */
  until (done: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return
        clearTimeout(timer)
        this.#waiters.delete(check)
        resolve()
      }
      const timer = setTimeout(() => { this.#waiters.delete(check); reject(new Error(`receiver: ${what} not reached within ${timeoutMs} ms (${this.requests.length} requests)`)) }, timeoutMs)
      this.#waiters.add(check)
      check()
    })
  }

  /** Answers every hanging request (so the server can close) and stops listening. */
  async close (): Promise<void> {
    for (const res of this.#hanging) res.destroy()
    this.#hanging.clear()
    this.#server.closeAllConnections()
    await new Promise<void>(resolve => this.#server.close(() => resolve()))
  }

  #handle (req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', chunk => chunks.push(chunk as Buffer))
    req.on('end', () => {
      const path = req.url ?? '/'
      const body = Buffer.concat(chunks).toString('utf8')
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value
      const secret = this.#secrets.get(path)
      let json: ReceivedRequest['json']
      try {
        json = JSON.parse(body) as ReceivedRequest['json']
      } catch {
        json = { id: '', kind: '', data: {} }
      }
      const request: ReceivedRequest = { path, at: Date.now(), headers, body, json, signatureValid: secret !== undefined && verify(secret, headers, body), answered: 0 }
      this.requests.push(request)
      const behaviour = this.#behaviours.get(path) ?? 'fail'
      const decision = typeof behaviour === 'function' ? behaviour(request) : behaviour
      if (decision === 'hang') {
        this.#hanging.add(res)
        res.on('close', () => this.#hanging.delete(res))
      } else {
        request.answered = decision === 'ok' ? 200 : decision === 'bad-request' ? 400 : 500
        res.writeHead(request.answered, { 'content-type': 'application/json' }).end('{}')
      }
      for (const wake of this.#waiters) wake()
    })
  }
}
