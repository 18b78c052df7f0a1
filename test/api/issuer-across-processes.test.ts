// Several processes behind one URL with the built-in token server: two `rewards start --role
// api,auth` child processes on one PostgreSQL (a database of this test's own) with the same
// REWARDS_AUTH_ISSUER. Both publish that issuer in discovery; a token issued by one is accepted
// by the other (the signing keys are shared through PostgreSQL); after `rewards clients
// rotate-key`, the first process signs with the new key once it reloads its keys, the second
// accepts that token at once (an unknown kid makes it reload), and tokens of the retired key stay
// valid on both until they expire.
import t from 'tap'
import pg from 'pg'
import { DATABASE_URL } from './api-test-server.ts'
import { cleanEnv, clientToken, runCli, RunningCli, unique, waitForStatus } from '../cli/cli-helpers.ts'

const ISSUER = 'https://rewards.example.test'

function claims (token: string): { header: { kid: string, alg: string }, payload: { iss: string, aud: string, client_id: string } } {
  const [header, payload] = token.split('.').slice(0, 2).map(part => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown)
  return { header: header as { kid: string, alg: string }, payload: payload as { iss: string, aud: string, client_id: string } }
}


/** The status of an authenticated call that reaches the route: 400 for an empty batch, 401 if
 *  the token is refused. Nothing is published either way. */
async function emptyBatch (base: string, token: string | undefined): Promise<number> {
  const response = await fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    body: '[]'
  })
  return response.status
}

t.test('one issuer across processes: tokens and key rotation shared through PostgreSQL', async t => {
  // A database of its own: the signing keys of other tests' token servers stay out of it.
  const database = unique('rewards_iss').replaceAll('-', '_')
  const admin = new pg.Client({ connectionString: DATABASE_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${database}`)
  t.teardown(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
    await admin.end()
  })
  const url = new URL(DATABASE_URL)
  url.pathname = `/${database}`
  const env = (dataDir: string): Record<string, string> => cleanEnv({ REWARDS_DATABASE_URL: url.toString(), REWARDS_AUTH_ISSUER: ISSUER, REWARDS_DATA_DIR: dataDir, REWARDS_HTTP_PORT: '0' })

  const dirA = t.testdir({ a: {}, b: {} })
  const created = await runCli(['clients', 'create', '--name', 'behind-one-url', '--scopes', 'events:write', '--json'], { cwd: dirA, env: env(`${dirA}/a`), timeoutMs: 120_000 })
  t.equal(created.code, 0, created.stderr)
  const { clientId, clientSecret } = JSON.parse(created.stdout) as { clientId: string, clientSecret: string }

  const a = new RunningCli(['start', '--role', 'api,auth'], { cwd: dirA, env: env(`${dirA}/a`) })
  const b = new RunningCli(['start', '--role', 'api,auth'], { cwd: dirA, env: env(`${dirA}/b`) })
  t.teardown(async () => { await a.kill(); await b.kill() })
  const baseA = `http://127.0.0.1:${await a.httpPort(120_000)}`
  const baseB = `http://127.0.0.1:${await b.httpPort(120_000)}`
  await waitForStatus(`${baseA}/health/ready`, 200, 120_000)
  await waitForStatus(`${baseB}/health/ready`, 200, 120_000)

  for (const base of [baseA, baseB]) {
    const discovery = await (await fetch(`${base}/.well-known/openid-configuration`)).json() as { issuer: string, token_endpoint: string }
    t.equal(discovery.issuer, ISSUER, `${base} publishes the configured issuer`)
    t.equal(discovery.token_endpoint, `${ISSUER}/oauth/token`, 'and the token endpoint behind it')
  }

  const fromA = await clientToken(baseA, clientId, clientSecret)
  const first = claims(fromA)
  t.equal(first.payload.iss, ISSUER, 'the token carries the shared issuer, not the process address')
  t.equal(await emptyBatch(baseB, fromA), 400, 'a token from process A is accepted by process B (the route answers: empty batch)')
  t.equal(await emptyBatch(baseB, undefined), 401, 'without a token B refuses')
  t.equal(await emptyBatch(baseA, await clientToken(baseB, clientId, clientSecret)), 400, 'and a token from B is accepted by A')
  t.equal(claims(await clientToken(baseB, clientId, clientSecret)).header.kid, first.header.kid, 'both sign with the one shared key')

  // Rotation (the operator's command, on A's configuration): the new key is shared too.
  const rotated = await runCli(['clients', 'rotate-key'], { cwd: dirA, env: env(`${dirA}/a`), timeoutMs: 120_000 })
  t.equal(rotated.code, 0, rotated.stderr)
  const kid = /new signing key (\S+)/.exec(rotated.stdout)?.[1]
  t.ok(kid !== undefined && kid !== first.header.kid, 'a new key')
  // A reloads its keys every 30 s; until then it signs with the retired key (still valid).
  let next = await clientToken(baseA, clientId, clientSecret)
  const deadline = Date.now() + 90_000
  while (claims(next).header.kid !== kid && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 1000))
    next = await clientToken(baseA, clientId, clientSecret)
  }
  t.equal(claims(next).header.kid, kid, 'A signs with the rotated key')
  t.equal(await emptyBatch(baseB, next), 400, 'B accepts a token of the new key at once (unknown kid: reload)')
  const jwks = await (await fetch(`${baseB}/.well-known/jwks.json`)).json() as { keys: Array<{ kid: string }> }
  t.same(jwks.keys.map(k => k.kid).sort(), [first.header.kid, kid].sort(), 'B publishes the new key and the retired one')
  t.equal(await emptyBatch(baseB, fromA), 400, 'a token of the retired key is still accepted by B')
  t.equal(await emptyBatch(baseA, fromA), 400, 'and by A')

  a.child.kill('SIGTERM')
  b.child.kill('SIGTERM')
  t.equal((await a.waitForExit(60_000)).code, 0)
  t.equal((await b.waitForExit(60_000)).code, 0)
})
