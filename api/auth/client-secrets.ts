// Client secrets: generated with 32 random bytes, shown once, stored only as an scrypt hash
// (`scrypt$N$r$p$salt$hash`, base64url). Verification is constant-time; an unknown client is
// checked against a dummy hash so the answer takes the same time either way (no client-id oracle).
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto'

const N = 16384
const R = 8
const P = 1
const KEY_BYTES = 32

function scrypt (secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(secret, salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key)))
  })
}

export function generateClientId (): string {
  return `cl_${randomBytes(12).toString('base64url')}`
}

export function generateClientSecret (): string {
  return randomBytes(32).toString('base64url')
}

export async function hashSecret (secret: string): Promise<string> {
  const salt = randomBytes(16)
  const hash = await scrypt(secret, salt, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 })
  return ['scrypt', N, R, P, salt.toString('base64url'), hash.toString('base64url')].join('$')
}

export async function verifySecret (secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
  const expected = Buffer.from(parts[5]!, 'base64url')
  const actual = await scrypt(secret, Buffer.from(parts[4]!, 'base64url'), { N: n, r, p, maxmem: 64 * 1024 * 1024 })
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

let dummy: Promise<string> | undefined
/** A hash no secret matches, for equal-time answers about unknown clients. */
export function dummyHash (): Promise<string> {
  dummy ??= hashSecret(randomBytes(32).toString('base64url'))
  return dummy
}
