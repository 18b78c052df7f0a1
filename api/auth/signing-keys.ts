// ES256 signing keys of the built-in token server, shared through PostgreSQL
// (oauth_signing_keys) by every instance that issues or checks built-in tokens.
//
// Rotation: rotate() adds a new key and retires the others; the newest non-retired key signs. A
// retired key stays in the JWKS for `retiredKeyGraceMs` (at least the token lifetime), so every
// token it signed can still be checked until it expires. A key older than `rotateAfterMs` is
// rotated automatically on the next signing. Keys are cached in memory and reloaded every
// `reloadIntervalMs`, or when a token names an unknown kid (at most once every
// `minReloadIntervalMs`: such a token waits for the next allowed reload rather than being refused,
// so a key made by another instance a moment ago is accepted).
//
// PostgreSQL unreachable: the keys last loaded keep serving (verification and signing) for at
// most AUTH_OFFLINE_MAX_MS after that load, and reloads are retried every `minReloadIntervalMs`
// meanwhile; beyond the bound, or with no key loaded yet (the process started without the
// database), callers get DATABASE_UNAVAILABLE (HTTP 503). docs/api.md "PostgreSQL outages".
//
// Several instances start, or find their key too old, at the same moment: key creation holds a
// PostgreSQL advisory lock and checks again, so only one of them makes the new key (otherwise each
// would retire the others' and sign with its own until the next reload).
import { randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose'
import type { Database, Queryable } from '../../lib/db/database.ts'
import { RewardsError } from '../../lib/errors.ts'

/** How long keys and revocations loaded from PostgreSQL keep serving while it is unreachable
 *  (docs/api.md "PostgreSQL outages"): a revocation made meanwhile through another instance that
 *  can reach the database takes effect here within this bound at worst. */
export const AUTH_OFFLINE_MAX_MS = 10 * 60_000

/** Any constant: the advisory lock serialising key creation across instances. */
const KEY_LOCK = 72_616_102

export interface SigningKeyOptions {
  /** Lifetime of a key before automatic rotation; default 24 h. */
  readonly rotateAfterMs?: number
  /** How long a retired key stays in the JWKS; must exceed the token lifetime. */
  readonly retiredKeyGraceMs: number
  readonly reloadIntervalMs?: number
  readonly minReloadIntervalMs?: number
  readonly clock?: () => number
  /** Default AUTH_OFFLINE_MAX_MS. */
  readonly offlineMaxMs?: number
}

interface KeyRow {
  kid: string
  private_jwk: string
  public_jwk: string
  created_at: string | Date
  retired_at: string | Date | null
}

interface LoadedKey {
  readonly kid: string
  readonly createdAtMs: number
  readonly retiredAtMs: number | null
  readonly publicJwk: JWK
  readonly privateJwk: JWK
}

export class SigningKeys {
  readonly #db: Pick<Database, 'query' | 'transaction'>
  readonly #rotateAfterMs: number
  readonly #graceMs: number
  readonly #reloadIntervalMs: number
  readonly #minReloadIntervalMs: number
  readonly #clock: () => number
  readonly #offlineMaxMs: number
  #keys: LoadedKey[] = []
  /** When the last reload failed (the database unreachable); -Infinity if none did since. */
  #failedAtMs = -Infinity
  /** Bumped on every reload: verifiers rebuild their key set when it changes. */
  #version = 0
  #loadedAtMs = -Infinity
  #loading: Promise<void> | undefined
  readonly #privateKeys = new Map<string, Promise<CryptoKey>>()

  constructor (db: Pick<Database, 'query' | 'transaction'>, options: SigningKeyOptions) {
    this.#db = db
    this.#rotateAfterMs = options.rotateAfterMs ?? 24 * 60 * 60 * 1000
    this.#graceMs = options.retiredKeyGraceMs
    this.#reloadIntervalMs = options.reloadIntervalMs ?? 30_000
    this.#minReloadIntervalMs = options.minReloadIntervalMs ?? 2_000
    this.#clock = options.clock ?? Date.now
    this.#offlineMaxMs = options.offlineMaxMs ?? AUTH_OFFLINE_MAX_MS
  }

  /** The key to sign with (creating the first one, or rotating an old one, when needed). */
  async current (): Promise<{ kid: string, key: CryptoKey }> {
    await this.#ensureLoaded()
    let active = this.#active()
    if (active === undefined || this.#clock() - active.createdAtMs >= this.#rotateAfterMs) {
      await this.#createKey(false)
      active = this.#active()!
    }
    let key = this.#privateKeys.get(active.kid)
    if (key === undefined) {
      key = importJWK(active.privateJwk, 'ES256') as Promise<CryptoKey>
      this.#privateKeys.set(active.kid, key)
    }
    return { kid: active.kid, key: await key }
  }

  /** Public keys for the JWKS document: the active ones and those retired within the grace. */
  async publicJwks (): Promise<{ keys: JWK[] }> {
    await this.#ensureLoaded()
    return this.#jwks()
  }

  /** Public keys, reloading first (rate-limited) when `kid` is not among them. */
  async publicJwksFor (kid: string | undefined): Promise<{ keys: JWK[] }> {
    await this.#ensureLoaded()
    const known = (): boolean => kid === undefined || this.#keys.some(k => k.kid === kid)
    if (!known()) {
      const waitMs = Math.min(this.#minReloadIntervalMs, this.#minReloadIntervalMs - (this.#clock() - this.#loadedAtMs))
      // (+10 ms: a timer may fire a little before the clock shows the full wait.)
      if (waitMs > 0) await new Promise(resolve => setTimeout(resolve, waitMs + 10))
      // Whoever wakes first reloads; the others find the kid (or a fresh load) by then.
      if (!known() && this.#clock() - this.#loadedAtMs >= this.#minReloadIntervalMs) await this.#reloadOrKeep()
      // The key may exist: we cannot tell while the database is unreachable (503, not 401).
      if (!known() && this.#failedAtMs > this.#loadedAtMs) throw this.#unavailable()
    }
    return this.#jwks()
  }

  get version (): number {
    return this.#version
  }

  /** Adds a new signing key and retires every other one. */
  async rotate (): Promise<string> {
    return (await this.#createKey(true))!
  }

  /** Under the lock: a new key (always when `force`, otherwise only if no other instance made a
   *  fresh one meanwhile), the others retired in the same transaction. Returns its kid. */
  async #createKey (force: boolean): Promise<string | undefined> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
    const kid = randomUUID()
    const privateJwk = { ...await exportJWK(privateKey), kid, alg: 'ES256', use: 'sig' }
    const publicJwk = { ...await exportJWK(publicKey), kid, alg: 'ES256', use: 'sig' }
    const made = await this.#db.transaction(async (tx: Queryable) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [KEY_LOCK])
      if (!force) {
        const { rows } = await tx.query<{ created_at: string | Date }>('SELECT created_at FROM oauth_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1')
        if (rows[0] !== undefined && this.#clock() - new Date(rows[0].created_at).getTime() < this.#rotateAfterMs) return undefined
      }
      const now = new Date(this.#clock())
      await tx.query('INSERT INTO oauth_signing_keys (kid, private_jwk, public_jwk, created_at) VALUES ($1, $2, $3, $4)', [kid, JSON.stringify(privateJwk), JSON.stringify(publicJwk), now])
      await tx.query('UPDATE oauth_signing_keys SET retired_at = $2 WHERE kid <> $1 AND retired_at IS NULL', [kid, now])
      return kid
    })
    await this.#reload()
    return made
  }

  #active (): LoadedKey | undefined {
    return this.#keys.filter(k => k.retiredAtMs === null).sort((a, b) => b.createdAtMs - a.createdAtMs)[0]
  }

  #jwks (): { keys: JWK[] } {
    const now = this.#clock()
    return { keys: this.#keys.filter(k => k.retiredAtMs === null || now - k.retiredAtMs < this.#graceMs).map(k => k.publicJwk) }
  }

  async #ensureLoaded (): Promise<void> {
    if (this.#clock() - this.#loadedAtMs < this.#reloadIntervalMs) return
    const sinceFailureMs = this.#clock() - this.#failedAtMs
    if (this.#failedAtMs !== -Infinity && this.#usableOffline()) {
      // During an outage requests never wait on the database: the loaded keys serve, and a
      // reload is tried in the background at most once per minReloadIntervalMs.
      if (sinceFailureMs >= this.#minReloadIntervalMs) void this.#reloadOrKeep().catch(() => undefined)
      return
    }
    if (sinceFailureMs < this.#minReloadIntervalMs) throw this.#unavailable()
    await this.#reloadOrKeep()
  }

  /** Reloads; when the database cannot be read, keeps the loaded keys within the offline bound. */
  async #reloadOrKeep (): Promise<void> {
    try {
      await this.#reload()
      this.#failedAtMs = -Infinity
    } catch (error) {
      this.#failedAtMs = this.#clock()
      if (!this.#usableOffline()) throw this.#unavailable(error)
    }
  }

  #usableOffline (): boolean {
    return this.#loadedAtMs !== -Infinity && this.#clock() - this.#loadedAtMs <= this.#offlineMaxMs
  }

  #unavailable (cause?: unknown): RewardsError {
    const why = this.#loadedAtMs === -Infinity ? 'no signing key loaded yet' : `signing keys last loaded ${Math.round((this.#clock() - this.#loadedAtMs) / 1000)} s ago`
    return new RewardsError('DATABASE_UNAVAILABLE', `signing keys cannot be read from PostgreSQL (${why}); retry shortly`, cause === undefined ? undefined : { cause })
  }

  async #reload (): Promise<void> {
    this.#loading ??= (async () => {
      try {
        const horizon = new Date(this.#clock() - this.#graceMs)
        const { rows } = await this.#db.query<KeyRow>('SELECT * FROM oauth_signing_keys WHERE retired_at IS NULL OR retired_at > $1', [horizon])
        this.#keys = rows.map(row => ({
          kid: row.kid,
          createdAtMs: new Date(row.created_at).getTime(),
          retiredAtMs: row.retired_at === null ? null : new Date(row.retired_at).getTime(),
          publicJwk: JSON.parse(row.public_jwk) as JWK,
          privateJwk: JSON.parse(row.private_jwk) as JWK
        }))
        this.#loadedAtMs = this.#clock()
        this.#version++
      } finally {
        this.#loading = undefined
      }
    })()
    await this.#loading
  }
}
