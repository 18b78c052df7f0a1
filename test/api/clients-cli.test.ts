// `rewards clients create|list|revoke|rotate-key` on the embedded client store: the secret is
// printed once (JSON), lists never show secrets or hashes, revoke is idempotent-with-exit-1, bad
// scopes are refused.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { cleanEnv, runCli } from '../cli/cli-helpers.ts'

t.test('rewards clients', async t => {
  const dataDir = mkdtempSync(join(tmpdir(), 'clients-cli-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const env = cleanEnv({ REWARDS_DATA_DIR: dataDir })
  const created = await runCli(['clients', 'create', '--name', 'pos-gateway', '--scopes', 'events:write,balances:read', '--json'], { env })
  t.equal(created.code, 0, created.stderr)
  const { clientId, clientSecret } = JSON.parse(created.stdout) as { clientId: string, clientSecret: string }
  t.match(clientId, /^cl_/)
  t.ok(clientSecret.length >= 40, 'a long random secret')
  const list = await runCli(['clients', 'list', '--json'], { env })
  t.equal(list.code, 0)
  const rows = JSON.parse(list.stdout) as Array<Record<string, unknown>>
  t.same(rows.map(r => [r.clientId, r.name, r.scopes, r.revokedAt]), [[clientId, 'pos-gateway', ['events:write', 'balances:read'], null]])
  t.notOk(list.stdout.includes(clientSecret) || list.stdout.includes('scrypt'), 'no secret and no hash in the list')
  t.equal((await runCli(['clients', 'revoke', clientId], { env })).code, 0)
  const again = await runCli(['clients', 'revoke', clientId], { env })
  t.equal(again.code, 1, 'revoking twice exits 1')
  t.match(again.stderr, /no active client/)
  t.match((await runCli(['clients', 'list'], { env })).stdout, /pos-gateway.*\d{4}-\d\d-\d\dT/s, 'the table shows the revocation time')
  const bad = await runCli(['clients', 'create', '--name', 'x', '--scopes', 'admin'], { env })
  t.equal(bad.code, 1)
  t.match(bad.stderr, /unknown scope\(s\) admin/)
  const rotated = await runCli(['clients', 'rotate-key'], { env })
  t.equal(rotated.code, 0)
  t.match(rotated.stdout, /^new signing key [0-9a-f-]{36}/)
})
