// TokenVerifier remembers verified tokens (an LRU, and the last one checked, compared by its
// text: docs/benchmarks.md "API balance query, sixth pass"). What it remembers must never let
// anything else through: another token, an altered copy, the same token past its `exp`.
import t from 'tap'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { TokenRejected, TokenVerifier } from '../../api/auth/token-verifier.ts'

const ISSUER = 'https://idp.example/realms/rewards'

t.test('the verified-token memo: same text only, never past exp', async t => {
  const key = await generateKeyPair('ES256')
  const jwk = { ...await exportJWK(key.publicKey), kid: 'k1', alg: 'ES256', use: 'sig' }
  const idp = createServer((_req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ keys: [jwk] })) })
  idp.listen(0, '127.0.0.1')
  await once(idp, 'listening')
  t.teardown(() => { idp.close() })
  const verifier = new TokenVerifier({ issuer: () => ISSUER, audience: 'rewards-api', jwksUrl: `http://127.0.0.1:${(idp.address() as { port: number }).port}/certs`, clockToleranceSeconds: 0 })
  const sign = (clientId: string, exp: number): Promise<string> => new SignJWT({ scope: 'balances:read', client_id: clientId }).setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(ISSUER).setAudience('rewards-api').setIssuedAt().setExpirationTime(exp).sign(key.privateKey)
  const now = Math.floor(Date.now() / 1000)
  const a = await sign('client-a', now + 300)
  const b = await sign('client-b', now + 300)
  // Expires within 2 s (exp has a one-second resolution).
  const soon = await sign('client-soon', now + 2)

  t.equal(verifier.verifiedBefore(a), undefined, 'not verified yet: verify() must decide')
  t.equal((await verifier.verify(a)).clientId, 'client-a')
  t.equal(verifier.verifiedBefore(a)?.clientId, 'client-a', 'verified before: known')
  t.equal(verifier.verifiedBefore(`Bearer ${a}`.slice(7))?.clientId, 'client-a', 'a copy of the same text (a new string, as each request has): known')
  const altered = (token: string, part: number): string => {
    const parts = token.split('.')
    const s = parts[part]!
    parts[part] = s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1)!
    return parts.join('.')
  }
  for (const [name, token] of [['signature altered', altered(a, 2)], ['payload altered', altered(a, 1)], ['one character more', `${a}x`], ['one character less', a.slice(0, -1)], ['two tokens joined', `${a}${a}`]] as const) {
    t.equal(verifier.verifiedBefore(token), undefined, `${name}: not known`)
    await t.rejects(verifier.verify(token), TokenRejected, `${name}: refused`)
    t.equal(verifier.verifiedBefore(a)?.clientId, 'client-a', `${name}: the real one still known`)
  }
  t.equal(verifier.verifiedBefore(b), undefined, 'another client\'s token, not verified: unknown')
  t.equal((await verifier.verify(b)).clientId, 'client-b')
  t.equal(verifier.verifiedBefore(b)?.clientId, 'client-b')
  t.equal(verifier.verifiedBefore(a)?.clientId, 'client-a', 'both remembered, whichever was checked last')
  t.equal(verifier.verifiedBefore(b)?.clientId, 'client-b')

  t.equal((await verifier.verify(soon)).clientId, 'client-soon')
  t.equal(verifier.verifiedBefore(soon)?.clientId, 'client-soon', 'known while it has not expired')
  await new Promise(resolve => setTimeout(resolve, (now + 2) * 1000 - Date.now() + 50))
  t.equal(verifier.verifiedBefore(soon), undefined, 'past its exp: no longer known, though it was the last one checked')
  await t.rejects(verifier.verify(soon), TokenRejected, 'past its exp: refused')
  t.equal(verifier.verifiedBefore(a)?.clientId, 'client-a', 'the others still known')
})
