// A client that queries balances of random members continuously, as a loyalty desk would during
// a failover (docs/benchmarks.md "High availability"): `concurrency` loops, each sending
// GET /v1/members/{id}/balance to a random live instance. An instance that refuses the connection
// (it is dead) is tried again elsewhere at once, as a load balancer would; every HTTP answer is
// recorded: its status, and for a 200 whether it equals the expected balance. An answer served by
// a standby copy (`x-rewards-served-by: standby`, docs/api.md "Answers from standby replicas") is
// counted as such; one that marks itself behind (`x-rewards-staleness-records` > 0, or an `Age`
// header) is allowed to be older, never a 200 that is simply wrong: a standby at lag 0 must be
// exact.
// Each query goes through undici's dispatch() on a keep-alive Agent of the prober's own (as the
// product's forwards do: api/query/forward-request.ts), not fetch(): fetch's WHATWG Request,
// Response and Headers objects were most of this process's CPU per query, which counts in a cold
// start's span on the same two cores (docs/benchmarks.md "Cold start, twelfth pass: the other
// parties"). Same closed loops, same requests, same 10 s bound on each.
import { Agent } from 'undici'
import { forwardRequest } from '../../api/query/forward-request.ts'

export interface ExpectedBalance {
  readonly earned: number
  readonly reversed: number
  readonly events: number
}

export interface ProbeAnswer {
  readonly atMs: number
  readonly status: number
  readonly stale: boolean
  /** Served by a standby copy (x-rewards-served-by: standby). */
  readonly standby: boolean
  readonly ms: number
}

export interface WrongAnswer {
  readonly atMs: number
  readonly memberId: string
  readonly status: number
  readonly body: string
}

export interface UnavailableWindow {
  /** Answers other than 200 in the interval, by status. */
  readonly byStatus: Record<string, number>
  /** First and last non-200 answer (ms since the interval's start), or null. */
  readonly firstMs: number | null
  readonly lastMs: number | null
  /** Sum of the 100 ms slices holding at least one 503: the time during which some member got one. */
  readonly seconds503: number
  readonly answers: number
  /** 200s served by a standby copy, and how many of them were behind (staleness > 0). */
  readonly standby: number
  readonly standbyBehind: number
  readonly p99Ms: number
}

const SLICE_MS = 100

export class BalanceProber {
  readonly answers: ProbeAnswer[] = []
  readonly wrong: WrongAnswer[] = []
  /** The first non-200 answers (instance, member, status, body), for finding where they come from. */
  readonly failures: Array<{ atMs: number, url: string, memberId: string, status: number, body: string }> = []
  refused = 0
  readonly #urls: () => string[]
  readonly #token: () => Promise<string>
  readonly #members: readonly string[]
  readonly #expected: ReadonlyMap<string, ExpectedBalance>
  readonly #concurrency: number
  #stop = false
  #loops: Array<Promise<void>> = []
  readonly #agent = new Agent({ keepAliveTimeout: 30_000 })
  #stopped: Promise<void> | undefined

  constructor (options: { urls: () => string[], token: () => Promise<string>, members: readonly string[], expected: ReadonlyMap<string, ExpectedBalance>, concurrency: number }) {
    this.#urls = options.urls
    this.#token = options.token
    this.#members = options.members
    this.#expected = options.expected
    this.#concurrency = options.concurrency
  }

  start (): void {
    for (let i = 0; i < this.#concurrency; i++) this.#loops.push(this.#loop())
  }

  /** Ends the loops (their queries under way answered) and the connections; once, however often
   *  called (a test's own call and its teardown). */
  async stop (): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stop = true
      await Promise.all(this.#loops)
      await this.#agent.close()
    })()
    await this.#stopped
  }

  async #loop (): Promise<void> {
    while (!this.#stop) {
      const urls = this.#urls()
      if (urls.length === 0) { await new Promise(resolve => setTimeout(resolve, 50)); continue }
      const memberId = this.#members[Math.floor(Math.random() * this.#members.length)]!
      const url = urls[Math.floor(Math.random() * urls.length)]!
      const started = performance.now()
      let status: number
      let body: string
      let headers: Record<string, string | string[] | undefined>
      try {
        const authorization = `Bearer ${await this.#token()}`
        const answer = await forwardRequest(this.#agent, { origin: url, method: 'GET', path: `/v1/members/${encodeURIComponent(memberId)}/balance`, headers: { authorization } }, AbortSignal.timeout(10_000))
        status = answer.statusCode
        body = answer.text
        headers = answer.headers
      } catch {
        this.refused++ // the instance is gone: the next iteration picks another
        await new Promise(resolve => setTimeout(resolve, 20))
        continue
      }
      const atMs = Date.now()
      const standby = headers['x-rewards-served-by'] === 'standby'
      const stale = Number(headers['x-rewards-staleness-records'] ?? '0') > 0 || headers.age !== undefined
      this.answers.push({ atMs, status, stale, standby, ms: performance.now() - started })
      if (status !== 200 && this.failures.length < 2000) this.failures.push({ atMs, url, memberId, status, body: body.slice(0, 300) })
      if (status === 200) this.#check(memberId, body, atMs, stale)
      else if (status === 404) this.wrong.push({ atMs, memberId, status: 404, body: body.slice(0, 300) })
    }
  }

  #check (memberId: string, body: string, atMs: number, stale: boolean): void {
    const expected = this.#expected.get(memberId)!
    try {
      const value = JSON.parse(body) as { earned: number, reversed: number, events: number }
      if (value.earned === expected.earned && value.reversed === expected.reversed && value.events === expected.events) return
      // A stale answer may predate the member's last events, never exceed them.
      if (stale && value.events <= expected.events && value.earned <= expected.earned) return
    } catch { /* not JSON: wrong */ }
    this.wrong.push({ atMs, memberId, status: 200, body: body.slice(0, 300) })
  }

  /** What clients saw between fromMs and toMs. */
  window (fromMs: number, toMs: number): UnavailableWindow {
    const byStatus: Record<string, number> = {}
    const slices = new Set<number>()
    const latencies: number[] = []
    let firstMs: number | null = null
    let lastMs: number | null = null
    let answers = 0
    let standby = 0
    let standbyBehind = 0
    for (const a of this.answers) {
      if (a.atMs < fromMs || a.atMs > toMs) continue
      answers++
      if (a.status === 200 && a.standby) { standby++; if (a.stale) standbyBehind++ }
      latencies.push(a.ms)
      if (a.status === 200) continue
      byStatus[a.status] = (byStatus[a.status] ?? 0) + 1
      firstMs ??= a.atMs - fromMs
      lastMs = a.atMs - fromMs
      if (a.status === 503) slices.add(Math.floor(a.atMs / SLICE_MS))
    }
    latencies.sort((x, y) => x - y)
    const p99Ms = latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]!
    return { byStatus, firstMs, lastMs, seconds503: slices.size * SLICE_MS / 1000, answers, standby, standbyBehind, p99Ms }
  }
}
