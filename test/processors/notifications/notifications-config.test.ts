// The notifications file: a valid file with defaults, secrets read from the variables it names and
// never printed, and every bad file refused with CONFIG_INVALID naming the file and the field;
// the signature helper agrees with an independent HMAC and refuses stale timestamps.
import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import t from 'tap'
import { loadConfig } from '../../../lib/config.ts'
import { isRewardsError } from '../../../lib/errors.ts'
import { ENDPOINT_DEFAULTS, loadNotificationsConfig, parseNotificationsConfig } from '../../../lib/notifications-config.ts'
import { idempotencyKey, routes } from '../../../processors/notifications/notification-routing.ts'
import { signatureHeader, verifySignature } from '../../../processors/notifications/webhook-signature.ts'

const SECRET = 'a-secret-of-32-bytes-0123456789ab'
const env = { HOTEL_SECRET: SECRET, SHORT_SECRET: 'short' }
const endpoint = (extra: Record<string, unknown> = {}) => ({ id: 'hotel-crm', url: 'https://crm.example/hooks', secretEnv: 'HOTEL_SECRET', kinds: ['reward-confirmed'], ...extra })

function refusal (json: unknown): string {
  try {
    parseNotificationsConfig(json, '/etc/rewards/notifications.json', env)
  } catch (error) {
    if (isRewardsError(error, 'CONFIG_INVALID')) return error.message
    throw error
  }
  throw new Error('expected CONFIG_INVALID')
}

t.test('a valid file: defaults, routing, a masked secret', async t => {
  const config = parseNotificationsConfig({ endpoints: [endpoint({ sources: ['HOTEL'] }), { id: 'all', url: 'http://127.0.0.1:9/x', secretEnv: 'HOTEL_SECRET', kinds: ['redeem-confirmed', 'reward-confirmed'], maxAttempts: 3 }] }, 'f.json', env)
  const [hotel, all] = config.endpoints
  t.equal(hotel!.timeoutMs, ENDPOINT_DEFAULTS.timeoutMs)
  t.equal(hotel!.maxAttempts, ENDPOINT_DEFAULTS.maxAttempts)
  t.equal(all!.maxAttempts, 3)
  t.equal(hotel!.secret.reveal(), SECRET)
  t.notMatch(JSON.stringify(config), SECRET, 'JSON never shows the secret')
  t.notMatch(inspect(config, { depth: 10 }), SECRET, 'inspect never shows the secret')
  t.notMatch(String(hotel!.secret), SECRET)
  t.ok(routes(hotel!, 'reward-confirmed', 'HOTEL'))
  t.notOk(routes(hotel!, 'reward-confirmed', 'CASINO'), 'sources filter reward-confirmed')
  t.notOk(routes(hotel!, 'redeem-confirmed', null), 'kinds filter')
  t.ok(routes(all!, 'redeem-confirmed', null), 'redeem-confirmed routes by kind alone')
  t.ok(routes(all!, 'reward-confirmed', 'DINING'))
})

t.test('the delivery time budget: default, explicit, and never shorter than one open circuit + trial', async t => {
  const [plain, explicit, longOpen] = parseNotificationsConfig({
    endpoints: [endpoint(), endpoint({ id: 'b', maxDeliveryMs: 70_000, breakerOpenMs: 60_000, timeoutMs: 10_000 }), endpoint({ id: 'c', breakerOpenMs: 3_600_000 })]
  }, 'f.json', env).endpoints
  t.equal(plain!.maxDeliveryMs, 900_000, 'default: 15 minutes')
  t.equal(explicit!.maxDeliveryMs, 70_000, 'exactly breakerOpenMs + timeoutMs is allowed')
  t.equal(longOpen!.maxDeliveryMs, 3_600_000 + ENDPOINT_DEFAULTS.timeoutMs, 'the default grows with a long breakerOpenMs')
})

t.test('bad files name the file and the field', async t => {
  const cases: Array<[unknown, RegExp]> = [
    [{}, /endpoints/],
    [{ endpoints: [endpoint({ url: 'not a url' })] }, /endpoints\.0\.url is not a URL/],
    [{ endpoints: [endpoint({ url: 'ftp://x/y' })] }, /endpoints\.0\.url must be an http\(s\) URL/],
    [{ endpoints: [endpoint({ url: 'https://u:p@x/y' })] }, /endpoints\.0\.url must not carry credentials/],
    [{ endpoints: [endpoint({ secretEnv: 'MISSING_SECRET' })] }, /endpoints\.0\.secretEnv names MISSING_SECRET, which is not set/],
    [{ endpoints: [endpoint({ secretEnv: 'SHORT_SECRET' })] }, /shorter than 16 bytes/],
    [{ endpoints: [endpoint({ secret: 'inline' })] }, /unknown field secret/],
    [{ endpoints: [endpoint({ kinds: ['reward-events'] })] }, /kinds/],
    [{ endpoints: [endpoint({ kinds: ['redeem-confirmed'], sources: ['HOTEL'] })] }, /endpoints\.0\.sources filters reward-confirmed only/],
    [{ endpoints: [endpoint({ sources: ['RESTAURANT'] })] }, /sources/],
    [{ endpoints: [endpoint({ timeoutMs: 0 })] }, /timeoutMs/],
    [{ endpoints: [endpoint({ maxAttempts: 0 })] }, /maxAttempts/],
    [{ endpoints: [endpoint({ concurrency: 1.5 })] }, /concurrency/],
    [{ endpoints: [endpoint({ backoffInitialMs: 1000, backoffMaxMs: 10 })] }, /endpoints\.0\.backoffMaxMs must be at least backoffInitialMs/],
    [{ endpoints: [endpoint(), endpoint()] }, /endpoints\.1\.id repeats endpoint id hotel-crm/],
    [{ endpoints: [endpoint({ id: 'has space' })] }, /id/],
    [{ endpoints: [endpoint({ maxDeliveryMs: 999 })] }, /maxDeliveryMs/],
    [{ endpoints: [endpoint({ maxDeliveryMs: 604_800_001 })] }, /maxDeliveryMs/],
    [{ endpoints: [endpoint({ breakerOpenMs: 60_000, timeoutMs: 10_000, maxDeliveryMs: 69_999 })] }, /endpoints\.0\.maxDeliveryMs must be at least breakerOpenMs \+ timeoutMs \(70000\)/]
  ]
  for (const [json, expected] of cases) {
    const message = refusal(json)
    t.match(message, /^notifications file \/etc\/rewards\/notifications\.json: /, 'names the file')
    t.match(message, expected, `says what is wrong: ${message}`)
    t.notMatch(message, SECRET, 'never shows a secret')
  }
})

t.test('through the configuration: REWARDS_NOTIFICATIONS_FILE, read once, errors name the variable', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'rewards-notify-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const good = join(dir, 'good.json')
  writeFileSync(good, JSON.stringify({ endpoints: [endpoint()] }))
  const config = loadConfig({ env: { REWARDS_NOTIFICATIONS_FILE: good, HOTEL_SECRET: SECRET }, cwd: dir })
  t.equal(config.notificationsFile, good)
  t.equal(config.notifications?.endpoints[0]?.id, 'hotel-crm')
  t.equal(loadConfig({ env: {}, cwd: dir }).notifications, null, 'unset: no notifications')
  const bad = join(dir, 'bad.json')
  writeFileSync(bad, '{"endpoints": [')
  t.throws(() => loadNotificationsConfig(bad, env), { code: 'CONFIG_INVALID', message: /bad\.json: not valid JSON/ })
  t.throws(() => loadConfig({ env: { REWARDS_NOTIFICATIONS_FILE: good }, cwd: dir }), { code: 'CONFIG_INVALID', message: /REWARDS_NOTIFICATIONS_FILE: notifications file .*good\.json: endpoints\.0\.secretEnv names HOTEL_SECRET, which is not set/ })
  t.throws(() => loadConfig({ env: {}, flags: { notificationsFile: bad }, cwd: dir }), { code: 'CONFIG_INVALID', message: /--notifications-file: .*not valid JSON/ })
})

t.test('signatures: HMAC-SHA256 over timestamp.body, replay window', async t => {
  const body = Buffer.from('{"id":"k","kind":"reward-confirmed","data":{}}')
  const now = 1_780_000_000
  const header = signatureHeader(SECRET, now, body)
  t.equal(header, `v1=${createHmac('sha256', SECRET).update(`${now}.${body.toString()}`).digest('hex')}`, 'agrees with an independent HMAC')
  t.ok(verifySignature({ secret: SECRET, body, timestamp: String(now), signature: header, nowS: now + 299 }))
  t.notOk(verifySignature({ secret: SECRET, body, timestamp: String(now), signature: header, nowS: now + 301 }), 'too old: refused (replay)')
  t.notOk(verifySignature({ secret: 'another-secret-0123456789', body, timestamp: String(now), signature: header, nowS: now }), 'another secret')
  t.notOk(verifySignature({ secret: SECRET, body: Buffer.from('{}'), timestamp: String(now), signature: header, nowS: now }), 'another body')
  t.notOk(verifySignature({ secret: SECRET, body, timestamp: String(now + 1), signature: header, nowS: now }), 'another timestamp')
  t.equal(idempotencyKey('reward-confirmed', 'M-1', 'e-1', 'crm'), idempotencyKey('reward-confirmed', 'M-1', 'e-1', 'crm'), 'stable')
  t.not(idempotencyKey('reward-confirmed', 'M-1', 'e-1', 'crm'), idempotencyKey('reward-confirmed', 'M-1', 'e-1', 'pos'), 'per endpoint')
  t.match(idempotencyKey('redeem-confirmed', 'M-1', 'ünïcode id', 'crm'), /^[0-9a-f]{64}$/, 'a valid header value for any id')
})
