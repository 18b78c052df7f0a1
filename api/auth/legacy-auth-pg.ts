// Earlier versions kept the embedded token server's clients in a PGlite of their own,
// <data-dir>/auth-pg. They now live with the archive in <data-dir>/pg. On the first open of the
// embedded database the old clients are copied over (same ids, secret hashes, revocations; an id
// already present wins) and the directory is renamed auth-pg.imported (a backup; delete it at
// will). Signing keys are not copied: a new key is made, and tokens of the old ones would have
// expired (5 minutes) anyway.
import { existsSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase, type Database } from '../../lib/db/database.ts'

export async function importLegacyAuthDatabase (db: Database, dataDir: string): Promise<{ imported: number, from: string } | undefined> {
  const dir = join(dataDir, 'auth-pg')
  if (db.kind !== 'pglite' || !existsSync(dir)) return undefined
  const legacy = await openDatabase({ dataDir, pgDir: dir })
  let rows: Array<Record<string, unknown>> = []
  try {
    const table = await legacy.query<{ t: string | null }>("SELECT to_regclass('oauth_clients')::text AS t")
    if (table.rows[0]?.t !== null && table.rows[0]?.t !== undefined) {
      rows = (await legacy.query('SELECT client_id, name, secret_hash, scopes, created_at, revoked_at FROM oauth_clients')).rows
    }
  } finally {
    await legacy.close()
  }
  let imported = 0
  await db.transaction(async tx => {
    for (const r of rows) {
      const result = await tx.query(
        'INSERT INTO oauth_clients (client_id, name, secret_hash, scopes, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (client_id) DO NOTHING RETURNING client_id',
        [r.client_id, r.name, r.secret_hash, r.scopes, r.created_at, r.revoked_at]
      )
      imported += result.rows.length
    }
  })
  renameSync(dir, `${dir}.imported`)
  return { imported, from: dir }
}
