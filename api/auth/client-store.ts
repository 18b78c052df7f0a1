// OAuth2 clients in PostgreSQL (table oauth_clients, migration 0010): created with a generated
// id and secret (the secret is returned once and only its scrypt hash is stored), listed, revoked.
import type { Queryable } from '../../lib/db/database.ts'
import { generateClientId, generateClientSecret, hashSecret } from './client-secrets.ts'

export const KNOWN_SCOPES = Object.freeze(['balances:read', 'events:write', 'redemptions:write', 'reports:read'] as const)
export type Scope = typeof KNOWN_SCOPES[number]

export interface OAuthClient {
  readonly clientId: string
  readonly name: string
  readonly scopes: readonly string[]
  readonly createdAt: string
  readonly revokedAt: string | null
}

export interface StoredClient extends OAuthClient {
  readonly secretHash: string
}

interface Row {
  client_id: string
  name: string
  secret_hash: string
  scopes: string
  created_at: string | Date
  revoked_at: string | Date | null
}

function iso (value: string | Date | null): string | null {
  return value === null ? null : new Date(value).toISOString()
}

function fromRow (row: Row): StoredClient {
  return {
    clientId: row.client_id,
    name: row.name,
    secretHash: row.secret_hash,
    scopes: row.scopes.split(' ').filter(Boolean),
    createdAt: iso(row.created_at)!,
    revokedAt: iso(row.revoked_at)
  }
}

export class ClientStore {
  readonly #db: Queryable

  constructor (db: Queryable) {
    this.#db = db
  }

  /** Creates a client; the returned secret is not stored anywhere and cannot be shown again. */
  async create (input: { name: string, scopes: readonly string[] }): Promise<{ client: OAuthClient, clientSecret: string }> {
    const unknown = input.scopes.filter(s => !(KNOWN_SCOPES as readonly string[]).includes(s))
    if (unknown.length > 0) throw new RangeError(`unknown scope(s) ${unknown.join(', ')}; known: ${KNOWN_SCOPES.join(', ')}`)
    if (input.scopes.length === 0) throw new RangeError('at least one scope is required')
    if (input.name.trim() === '' || input.name.length > 200) throw new RangeError('name must be 1–200 characters')
    const clientId = generateClientId()
    const clientSecret = generateClientSecret()
    const secretHash = await hashSecret(clientSecret)
    const { rows } = await this.#db.query<Row>(
      'INSERT INTO oauth_clients (client_id, name, secret_hash, scopes) VALUES ($1, $2, $3, $4) RETURNING *',
      [clientId, input.name.trim(), secretHash, [...new Set(input.scopes)].join(' ')]
    )
    const { secretHash: _hidden, ...client } = fromRow(rows[0]!)
    return { client, clientSecret }
  }

  async find (clientId: string): Promise<StoredClient | undefined> {
    const { rows } = await this.#db.query<Row>('SELECT * FROM oauth_clients WHERE client_id = $1', [clientId])
    return rows[0] === undefined ? undefined : fromRow(rows[0])
  }

  async list (): Promise<OAuthClient[]> {
    const { rows } = await this.#db.query<Row>('SELECT * FROM oauth_clients ORDER BY created_at, client_id')
    return rows.map(row => {
      const { secretHash: _hidden, ...client } = fromRow(row)
      return client
    })
  }

  /** Revokes a client: its secret stops working at once; tokens already issued expire on their
   *  own (short expiry). Returns false for an unknown or already revoked client. */
  async revoke (clientId: string): Promise<boolean> {
    const { rows } = await this.#db.query<{ client_id: string }>(
      'UPDATE oauth_clients SET revoked_at = now() WHERE client_id = $1 AND revoked_at IS NULL RETURNING client_id',
      [clientId]
    )
    return rows.length > 0
  }
}
