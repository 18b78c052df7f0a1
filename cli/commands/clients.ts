// `rewards clients create|list|revoke|rotate-key`: OAuth2 clients of the built-in token server,
// in PostgreSQL (REWARDS_DATABASE_URL) or, embedded, in the PGlite database <data-dir>/pg (with
// the archive). Embedded, while `rewards start` runs on the same data directory it holds that
// database (PGlite is single-process), so the command asks the running platform through its
// client-admin routes (<data-dir>/admin.json); otherwise it opens the database itself.
// `create` prints the secret once; only its scrypt hash is stored.
import { Command } from 'commander'
import { action, configFrom, withConfigOptions, write, type CliContext } from '../cli-context.ts'
import { formatTable } from '../format-table.ts'
import type { ClientAdmin } from '../remote-client-admin.ts'

async function withClients<T> (ctx: CliContext, command: Command, fn: (admin: ClientAdmin) => Promise<T>): Promise<T> {
  const config = configFrom(ctx, command)
  if (config.databaseUrl === null) {
    const [{ readAdminRunFile }, { remoteClientAdmin }] = await Promise.all([import('../../api/auth/admin-run-file.ts'), import('../remote-client-admin.ts')])
    const running = readAdminRunFile(config.dataDir)
    if (running !== undefined) return await fn(remoteClientAdmin(running))
  }
  const [{ ClientStore }, { SigningKeys }, { openAuthDatabase }, { API_DEFAULTS }] = await Promise.all([
    import('../../api/auth/client-store.ts'), import('../../api/auth/signing-keys.ts'), import('../../api/api-services.ts'), import('../../api/api-settings.ts')
  ])
  let db
  try {
    db = await openAuthDatabase(config)
  } catch (error) {
    if (config.databaseUrl !== null) throw error
    throw new Error(`cannot open the embedded database in ${config.pgDir}: ${(error as Error).message}. If a \`rewards start\` without the auth role runs on this data directory, stop it first (PGlite is single-process), or run the command while the auth role runs`, { cause: error })
  }
  try {
    const clients = new ClientStore(db)
    return await fn({
      where: db.kind === 'pglite' ? `embedded PostgreSQL in ${config.pgDir}` : 'PostgreSQL',
      create: input => clients.create(input),
      list: () => clients.list(),
      revoke: clientId => clients.revoke(clientId),
      rotateKey: () => new SigningKeys(db, { retiredKeyGraceMs: (API_DEFAULTS.tokenTtlSeconds + 60) * 1000 }).rotate()
    })
  } finally {
    await db.close()
  }
}

export function clientsCommand (ctx: CliContext): Command {
  const clients = new Command('clients')
    .description('Manage the OAuth2 clients of the built-in token server (client-credentials grant)')
    .addHelpText('after', '\nClients live in PostgreSQL (REWARDS_DATABASE_URL) or, embedded, in <data-dir>/pg; while `rewards start`\n' +
      'runs on the embedded default, these commands go through the running platform (<data-dir>/admin.json).\n' +
      '\nExamples:\n  rewards clients create --name pos-gateway --scopes events:write --json\n  rewards clients list\n  rewards clients revoke cl_…')

  const create = new Command('create')
    .description('Create a client; prints its id and secret (the secret is shown only this once)')
    .requiredOption('--name <name>', 'who the client is (shown in lists and logs)')
    .requiredOption('--scopes <scopes>', 'comma-separated: balances:read, events:write, redemptions:write, reports:read')
    .option('--json', 'print {"clientId","clientSecret"} as JSON')
  withConfigOptions(create)
  create.action(action(ctx, 'clients create', async () => {
    const opts = create.opts<{ name: string, scopes: string, json?: boolean }>()
    const scopes = opts.scopes.split(',').map(s => s.trim()).filter(Boolean)
    const { client, clientSecret } = await withClients(ctx, create, api => api.create({ name: opts.name, scopes }))
    if (opts.json === true) {
      await write(ctx.out, JSON.stringify({ clientId: client.clientId, clientSecret }))
    } else {
      await write(ctx.out, `client id:     ${client.clientId}\nclient secret: ${clientSecret}\nscopes:        ${client.scopes.join(' ')}\n(the secret is not stored and cannot be shown again)`)
    }
  }))

  const list = new Command('list').description('List clients (never their secrets)').option('--json', 'JSON output')
  withConfigOptions(list)
  list.action(action(ctx, 'clients list', async () => {
    const rows = await withClients(ctx, list, api => api.list())
    if (list.opts<{ json?: boolean }>().json === true) return void await write(ctx.out, JSON.stringify(rows, null, 2))
    await write(ctx.out, rows.length === 0
      ? 'no clients (create one with `rewards clients create --name N --scopes a,b`)'
      : formatTable(['CLIENT ID', 'NAME', 'SCOPES', 'CREATED', 'REVOKED'], rows.map(c => [c.clientId, c.name, c.scopes.join(' '), c.createdAt, c.revokedAt ?? '-'])))
  }))

  const revoke = new Command('revoke').description('Revoke a client: no new tokens, and its tokens are refused within seconds').argument('<clientId>')
  withConfigOptions(revoke)
  revoke.action(action(ctx, 'clients revoke', async (clientId: string) => {
    const done = await withClients(ctx, revoke, api => api.revoke(clientId))
    await write(done ? ctx.out : ctx.err, done ? `revoked ${clientId}` : `rewards clients revoke: no active client ${clientId}`)
    return done ? 0 : 1
  }))

  const rotate = new Command('rotate-key').description('Rotate the token signing key (the old key stays in the JWKS until its tokens expire)')
  withConfigOptions(rotate)
  rotate.action(action(ctx, 'clients rotate-key', async () => {
    const kid = await withClients(ctx, rotate, api => api.rotateKey())
    await write(ctx.out, `new signing key ${kid}`)
  }))

  return clients.addCommand(create).addCommand(list).addCommand(revoke).addCommand(rotate)
}
