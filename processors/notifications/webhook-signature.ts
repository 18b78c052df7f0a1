// Webhook signatures (Stripe-style, replay-safe): each attempt carries its Unix time in seconds
// and an HMAC-SHA256, keyed with the endpoint's secret, over `${timestamp}.${body}` (the exact body
// bytes). A receiver recomputes it, compares in constant time, and refuses a timestamp further
// than its tolerance from its own clock (SIGNATURE_TOLERANCE_S recommended), so a captured
// request cannot be replayed later; within the window, the idempotency key dedupes.
import { createHmac, timingSafeEqual } from 'node:crypto'

export const WEBHOOK_HEADERS = Object.freeze({
  /** Stable across retries and redeliveries of one record to one endpoint: dedupe on it. */
  idempotencyKey: 'idempotency-key',
  /** Unix time (seconds) of this attempt; signed. */
  timestamp: 'rewards-webhook-timestamp',
  /** `v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`. */
  signature: 'rewards-webhook-signature',
  /** reward-confirmed or redeem-confirmed. */
  kind: 'rewards-webhook-kind',
  /** 1, 2, …: which attempt this is (retries within one delivery run). */
  attempt: 'rewards-webhook-attempt'
})

/** Recommended receiver tolerance between the signed timestamp and its clock. */
export const SIGNATURE_TOLERANCE_S = 300

export function signatureOf (secret: string, timestampS: number, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestampS}.`).update(body).digest('hex')
}

/** The signature header's value. */
export function signatureHeader (secret: string, timestampS: number, body: Buffer | string): string {
  return `v1=${signatureOf(secret, timestampS, body)}`
}

/** What a receiver does (also documented in docs/notifications.md): true when one `v1=` value of
 *  the header matches and the timestamp is within `toleranceS` of `nowS`. */
export function verifySignature (options: { secret: string, body: Buffer | string, timestamp: string | undefined, signature: string | undefined, nowS?: number, toleranceS?: number }): boolean {
  const { secret, body, timestamp, signature } = options
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false
  const ts = Number(timestamp)
  const now = options.nowS ?? Math.floor(Date.now() / 1000)
  if (Math.abs(now - ts) > (options.toleranceS ?? SIGNATURE_TOLERANCE_S)) return false
  const expected = Buffer.from(signatureOf(secret, ts, body), 'hex')
  return signature.split(',').some(part => {
    const [scheme, value] = part.trim().split('=', 2)
    if (scheme !== 'v1' || value === undefined || !/^[0-9a-f]{64}$/.test(value)) return false
    return timingSafeEqual(Buffer.from(value, 'hex'), expected)
  })
}
