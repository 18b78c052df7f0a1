// ES256 signing keys of the built-in token server, shared through PostgreSQL
// (oauth_signing_keys) by every instance that issues or checks built-in tokens.
//
// Rotation: rotate() adds a new key and retires the others; the newest non-retired key signs. A
// retired key stays in the JWKS for `retiredKeyGraceMs` (at least the token lifetime), so every
// token it signed can still be checked until it expires. A key older than `rotateAfterMs` is
// rotated automatically on the next signing. Keys are cached in memory and reloaded every
// `reloadIntervalMs`, or at once (at most every `minReloadIntervalMs`) when a token names an
// unknown kid.
import { randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose'
import type { Queryable } from '../../lib/db/database.ts'

export interface SigningKeyOptions {
  /** Lifetime of a key before automatic rotation; default 24 h. */
  readonly rotateAfterMs?: number
  /** How long a retired key stays in the JWKS; must exceed the token lifetime. */
  readonly retiredKeyGraceMs: number
  readonly reloadIntervalMs?: number
  readonly minReloadIntervalMs?: number
  readonly clock?: () => number
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
  readonly #db: Queryable
  readonly #rotateAfterMs: number
  readonly #graceMs: number
  readonly #reloadIntervalMs: number
  readonly #minReloadIntervalMs: number
  readonly #clock: () => number
  #keys: LoadedKey[] = []
  /** Bumped on every reload: verifiers rebuild their key set when it changes. */
  #version = 0
  #loadedAtMs = -Infinity
  #loading: Promise<void> | undefined
  readonly #privateKeys = new Map<string, Promise<CryptoKey>>()

  constructor (db: Queryable, options: SigningKeyOptions) {
    this.#db = db
    this.#rotateAfterMs = options.rotateAfterMs ?? 24 * 60 * 60 * 1000
    this.#graceMs = options.retiredKeyGraceMs
    this.#reloadIntervalMs = options.reloadIntervalMs ?? 30_000
    this.#minReloadIntervalMs = options.minReloadIntervalMs ?? 2_000
    this.#clock = options.clock ?? Date.now
  }

  /** The key to sign with (creating the first one, or rotating an old one, when needed). */
  async current (): Promise<{ kid: string, key: CryptoKey }> {
    await this.#ensureLoaded()
    let active = this.#active()
    if (active === undefined || this.#clock() - active.createdAtMs >= this.#rotateAfterMs) {
      await this.rotate()
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
    if (kid !== undefined && !this.#keys.some(k => k.kid === kid) && this.#clock() - this.#loadedAtMs >= this.#minReloadIntervalMs) {
      await this.#reload()
    }
    return this.#jwks()
  }

  get version (): number {
    return this.#version
  }

  /** Adds a new signing key and retires every other one. */
  async rotate (): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
    const kid = randomUUID()
    const privateJwk = { ...await exportJWK(privateKey), kid, alg: 'ES256', use: 'sig' }
    const publicJwk = { ...await exportJWK(publicKey), kid, alg: 'ES256', use: 'sig' }
    await this.#db.query(
      'INSERT INTO oauth_signing_keys (kid, private_jwk, public_jwk, created_at) VALUES ($1, $2, $3, $4)',
      [kid, JSON.stringify(privateJwk), JSON.stringify(publicJwk), new Date(this.#clock())]
    )
    await this.#db.query('UPDATE oauth_signing_keys SET retired_at = $2 WHERE kid <> $1 AND retired_at IS NULL', [kid, new Date(this.#clock())])
    await this.#reload()
    return kid
  }

  #active (): LoadedKey | undefined {
    return this.#keys.filter(k => k.retiredAtMs === null).sort((a, b) => b.createdAtMs - a.createdAtMs)[0]
  }

  #jwks (): { keys: JWK[] } {
    const now = this.#clock()
    return { keys: this.#keys.filter(k => k.retiredAtMs === null || now - k.retiredAtMs < this.#graceMs).map(k => k.publicJwk) }
  }

  async #ensureLoaded (): Promise<void> {
    if (this.#clock() - this.#loadedAtMs >= this.#reloadIntervalMs) await this.#reload()
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
