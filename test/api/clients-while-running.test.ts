// Embedded default: the archive and the token server share one PGlite database (<data-dir>/pg);
// `rewards clients …` works while `rewards start` runs (through the running platform's admin
// routes, found in <data-dir>/admin.json), and the new client gets a token from it at once. A
// client of an older <data-dir>/auth-pg is imported on start. Bad input is refused with the same
// message as offline; a stale admin.json (dead pid) is ignored once the platform stopped.
import { existsSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { openDatabase } from '../../lib/db/database.ts'
import { migrate } from '../../lib/db/migrate.ts'
import { ClientStore } from '../../api/auth/client-store.ts'
import { cleanEnv, freePort, runCli, RunningCli, waitForStatus } from '../cli/cli-helpers.ts'

async function token (base: string, clientId: string, secret: string): Promise<Response> {
  return await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials'
  })
}

t.test('rewards clients while rewards start runs on the embedded default', async t => {
  const cwd = t.testdir({})
  const dataDir = join(cwd, 'data')
  // A client registered by an older version in its own PGlite database.
  const legacy = await openDatabase({ dataDir, pgDir: join(dataDir, 'auth-pg') })
  await migrate(legacy)
  const old = await new ClientStore(legacy).create({ name: 'from-auth-pg', scopes: ['balances:read'] })
  await legacy.close()

  const port = await freePort()
  const env = cleanEnv({ REWARDS_DATA_DIR: dataDir })
  const cli = new RunningCli(['start', '--http-port', String(port)], { cwd, env })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${port}`
  await waitForStatus(`${base}/health/ready`, 200, 180_000)

  t.notOk(existsSync(join(dataDir, 'auth-pg')), 'the old auth-pg was imported and moved aside')
  t.ok(existsSync(join(dataDir, 'auth-pg.imported')), 'kept as auth-pg.imported')
  t.ok(cli.lines.some(l => /imported 1 OAuth client/.test(l.msg)), 'the import is logged')
  t.equal((await token(base, old.client.clientId, old.clientSecret)).status, 200, 'the imported client gets a token')
  t.equal(statSync(join(dataDir, 'admin.json')).mode & 0o777, 0o600, 'admin.json is readable by its owner only')

  const created = await runCli(['clients', 'create', '--name', 'while-running', '--scopes', 'balances:read,events:write', '--json'], { cwd, env, timeoutMs: 120_000 })
  t.equal(created.code, 0, `clients create works while the platform runs\n${created.stderr}`)
  const { clientId, clientSecret } = JSON.parse(created.stdout) as { clientId: string, clientSecret: string }
  const issued = await token(base, clientId, clientSecret)
  t.equal(issued.status, 200, 'the running platform issues a token to the new client at once')
  t.match(await issued.json(), { token_type: 'Bearer', scope: 'balances:read events:write' })

  const list = await runCli(['clients', 'list', '--json'], { cwd, env, timeoutMs: 120_000 })
  t.equal(list.code, 0, list.stderr)
  t.same((JSON.parse(list.stdout) as Array<{ name: string }>).map(c => c.name).sort(), ['from-auth-pg', 'while-running'])
  t.notOk(list.stdout.includes(clientSecret), 'no secret in the list')
  const bad = await runCli(['clients', 'create', '--name', 'x', '--scopes', 'admin'], { cwd, env, timeoutMs: 120_000 })
  t.equal(bad.code, 1)
  t.match(bad.stderr, /unknown scope\(s\) admin/, 'bad scopes refused with the offline message')
  t.equal((await runCli(['clients', 'revoke', clientId], { cwd, env, timeoutMs: 120_000 })).code, 0)
  t.equal((await token(base, clientId, clientSecret)).status, 401, 'a revoked client gets no token')
  const rotated = await runCli(['clients', 'rotate-key'], { cwd, env, timeoutMs: 120_000 })
  t.equal(rotated.code, 0, rotated.stderr)
  const kid = /new signing key (\S+)/.exec(rotated.stdout)?.[1]
  t.ok((await (await fetch(`${base}/.well-known/jwks.json`)).json() as { keys: Array<{ kid: string }> }).keys.some(k => k.kid === kid), 'the rotated key is in the running JWKS')

  // Without the token: refused.
  const noToken = await fetch(`${base}/admin/v1/clients`)
  t.equal(noToken.status, 401)
  t.notOk((await fetch(`${base}/openapi.json`).then(r => r.text())).includes('/admin/'), 'admin routes are not published')

  cli.child.kill('SIGTERM')
  t.equal((await cli.waitForExit(60_000)).code, 0)
  t.notOk(existsSync(join(dataDir, 'admin.json')), 'admin.json removed on stop')

  // Offline again: the command opens <data-dir>/pg itself — one database holds archive and clients.
  writeFileSync(join(dataDir, 'admin.json'), JSON.stringify({ pid: 2 ** 22 + 7, url: 'http://127.0.0.1:1', token: 'stale' }))
  const offline = await runCli(['clients', 'list', '--json'], { cwd, env, timeoutMs: 120_000 })
  t.equal(offline.code, 0, `a stale admin.json (dead pid) is ignored\n${offline.stderr}`)
  t.equal((JSON.parse(offline.stdout) as unknown[]).length, 2)
  const db = await openDatabase({ dataDir })
  t.teardown(() => db.close())
  const tables = (await db.query<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_name IN ('oauth_clients', 'archive_records') ORDER BY 1")).rows.map(r => r.t)
  t.same(tables, ['archive_records', 'oauth_clients'], 'one database (<data-dir>/pg) holds the archive and the token server\'s tables')
})
