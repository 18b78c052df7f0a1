// Traffic through the public HTTP API, as a property app or a kiosk would send it: batches of
// earns (POST /v1/events) and redemptions that wait for their decision (POST /v1/redemptions),
// with a client-credentials token, to whichever instance is alive. A request that fails (the
// instance was killed, a restore answers 503) is sent again unchanged, to another instance:
// harmless, as ids are deduplicated. Its members are its own, so their per-member order is the
// order of the requests. The checks read what landed from the topics.
import { clientToken } from '../cli/cli-helpers.ts'
import { partitionOf, seededRandom } from './traffic-generator.ts'

const TOKEN_REFRESH_MS = 240_000 // tokens live 5 minutes

export interface HttpTrafficStats {
  eventsAccepted: number
  redemptionsDecided: number
  redemptionsPending: number
  retries: number
  /** 401 answers to a token that had not expired. */
  unauthorized: number
  abandoned: number
}

export class HttpTraffic {
  readonly stats: HttpTrafficStats = { eventsAccepted: 0, redemptionsDecided: 0, redemptionsPending: 0, retries: 0, unauthorized: 0, abandoned: 0 }
  readonly members: string[]
  readonly #urls: () => string[]
  readonly #client: { clientId: string, clientSecret: string }
  readonly #random: () => number
  #token: { value: string, atMs: number } | undefined
  #seq = 0

  constructor (options: { urls: () => string[], client: { clientId: string, clientSecret: string }, tag: string, members: number, partitions: number, seed: number }) {
    this.#urls = options.urls
    this.#client = options.client
    this.#random = seededRandom(options.seed)
    // Events of today: only on the "current" partitions (traffic-generator.ts), where they cannot
    // legitimately expire the backfill's dedupe entries.
    this.members = []
    for (let i = 0; this.members.length < options.members; i++) {
      const id = `${options.tag}-api${i}`
      if (partitionOf(id, options.partitions) >= Math.ceil(options.partitions / 2)) this.members.push(id)
    }
  }

  async run (stop: () => boolean): Promise<void> {
    while (!stop()) {
      const memberId = this.members[Math.floor(this.#random() * this.members.length)]!
      if (this.#random() < 0.7) {
        const count = 1 + Math.floor(this.#random() * 3)
        const events = Array.from({ length: count }, () => ({
          eventId: `${memberId}-h${++this.#seq}`, memberId, source: 'HOTEL', type: 'EARN', amountCents: 1000 + Math.floor(this.#random() * 50_000),
          currency: 'USD', occurredAt: new Date(Date.now() - 60_000).toISOString(), propertyId: 'API-PROP'
        }))
        if (await this.#post('/v1/events', events, stop, [202])) this.stats.eventsAccepted += count
      } else {
        const body = { redemptionId: `${memberId}-hx${++this.#seq}`, memberId, points: 1 + Math.floor(this.#random() * 3000), rewardCode: 'DINNER', channel: 'ONLINE', requestedAt: new Date(Date.now() - 60_000).toISOString() }
        const status = await this.#post('/v1/redemptions', body, stop, [200, 202], { prefer: 'wait=2' })
        if (status === 200) this.stats.redemptionsDecided++
        if (status === 202) this.stats.redemptionsPending++
      }
      await new Promise(resolve => setTimeout(resolve, 50 + Math.floor(this.#random() * 150))) // pacing
    }
  }

  /** A valid token, fetched again before it expires (from any live instance). */
  async token (): Promise<string> {
    if (this.#token !== undefined && Date.now() - this.#token.atMs < TOKEN_REFRESH_MS) return this.#token.value
    for (let attempt = 0; ; attempt++) {
      const urls = this.#urls()
      try {
        if (urls.length === 0) throw new Error('no live instance')
        const value = await clientToken(urls[Math.floor(this.#random() * urls.length)]!, this.#client.clientId, this.#client.clientSecret)
        this.#token = { value, atMs: Date.now() }
        return value
      } catch (error) {
        if (attempt >= 60) throw error
        await new Promise(resolve => setTimeout(resolve, 500))
      }
    }
  }

  /** POSTs until one of `ok` is answered (status returned) or stop() / 30 attempts (0). */
  async #post (path: string, body: unknown, stop: () => boolean, ok: number[], headers: Record<string, string> = {}): Promise<number> {
    for (let attempt = 0; attempt < 30; attempt++) {
      if (attempt > 0) {
        this.stats.retries++
        if (stop()) break
        await new Promise(resolve => setTimeout(resolve, 300))
      }
      const urls = this.#urls()
      if (urls.length === 0) continue
      try {
        const response = await fetch(`${urls[Math.floor(this.#random() * urls.length)]!}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await this.token()}`, 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(15_000)
        })
        await response.arrayBuffer()
        if (ok.includes(response.status)) return response.status
        if (response.status === 401) this.stats.unauthorized++
      } catch { /* the instance went away: try another */ }
    }
    this.stats.abandoned++
    return 0
  }
}
