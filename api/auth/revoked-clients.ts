// The revoked built-in clients, as one process sees them: reloaded from PostgreSQL every
// `reloadMs` (5 s: the bound on how late a revocation takes effect while the database is up),
// shared by every token verifier of the process (public and internal routes) and loaded at start,
// so that a verifier used for the first time during an outage still knows them.
//
// PostgreSQL unreachable (docs/api.md "PostgreSQL outages"): the last loaded set keeps serving for
// at most `offlineMaxMs` (AUTH_OFFLINE_MAX_MS) after that load, one reload is tried per interval,
// and a request never waits more than WAIT_MS on one; beyond the bound, or when the set was never
// loaded, isRevoked() throws DATABASE_UNAVAILABLE (HTTP 503) rather than guess.
import type { Queryable } from '../../lib/db/database.ts'
import { RewardsError } from '../../lib/errors.ts'
import { AUTH_OFFLINE_MAX_MS } from './signing-keys.ts'

/** Longest a request waits for the set to reload before using the one it has (a database that
 *  stopped answering must not add its connect timeout to every request). */
const WAIT_MS = 1_000

export class RevokedClients {
  readonly #db: Queryable
  readonly #reloadMs: number
  readonly #offlineMaxMs: number
  #revoked = new Set<string>()
  #loadedAtMs = -Infinity
  #failedAtMs = -Infinity
  #loading: Promise<void> | undefined

  constructor (db: Queryable, options: { reloadMs?: number, offlineMaxMs?: number } = {}) {
    this.#db = db
    this.#reloadMs = options.reloadMs ?? 5_000
    this.#offlineMaxMs = options.offlineMaxMs ?? AUTH_OFFLINE_MAX_MS
  }

  /** Loads the set now (at start); never throws (a failure is tried again on use). */
  async preload (): Promise<void> {
    await this.#reload()
  }

  /** Whether the client is revoked, from the set in hand when it is not due for a reload;
   *  undefined when it is (ask isRevoked, which reloads). No promise: the per-request path. */
  revokedNow (clientId: string): boolean | undefined {
    return Date.now() - this.#loadedAtMs < this.#reloadMs ? this.#revoked.has(clientId) : undefined
  }

  async isRevoked (clientId: string): Promise<boolean> {
    if (Date.now() - this.#loadedAtMs >= this.#reloadMs) {
      // One query per interval while the last set is usable (also while the database is down),
      // shared by concurrent requests; without a usable set, every request tries.
      if (Date.now() - this.#failedAtMs >= this.#reloadMs || !this.#usable()) void this.#reload()
      const loading = this.#loading
      if (loading !== undefined) {
        let timer: NodeJS.Timeout | undefined
        await Promise.race([loading, new Promise(resolve => { timer = setTimeout(resolve, WAIT_MS) })])
        clearTimeout(timer)
      }
      const ageMs = Date.now() - this.#loadedAtMs
      if (!this.#usable()) {
        throw new RewardsError('DATABASE_UNAVAILABLE', this.#loadedAtMs === -Infinity
          ? 'client revocations cannot be read from PostgreSQL (never loaded); retry shortly'
          : `client revocations cannot be read from PostgreSQL (last loaded ${Math.round(ageMs / 1000)} s ago); retry shortly`)
      }
    }
    return this.#revoked.has(clientId)
  }

  #usable (): boolean {
    return Date.now() - this.#loadedAtMs <= this.#offlineMaxMs
  }

  #reload (): Promise<void> {
    this.#loading ??= (async () => {
      try {
        const { rows } = await this.#db.query<{ client_id: string }>('SELECT client_id FROM oauth_clients WHERE revoked_at IS NOT NULL')
        this.#revoked = new Set(rows.map(r => r.client_id))
        this.#loadedAtMs = Date.now()
        this.#failedAtMs = -Infinity
      } catch {
        this.#failedAtMs = Date.now()
      } finally {
        this.#loading = undefined
      }
    })()
    return this.#loading
  }
}
