// Shared by the outage tests of the whole platform (test/integration/*-outage-*.test.ts): full
// `rewards start` processes through the CLI, readiness bodies, the dependency log lines
// (lib/dependency-health.ts) and authenticated calls.
import type { LogLine, RunningCli } from '../cli/cli-helpers.ts'

export interface ReadinessBody {
  readonly status?: string
  readonly degraded?: string[]
  readonly checks?: Record<string, { ready: boolean, detail: string, degraded?: boolean }>
  readonly error?: { code: string, message: string, details?: { degraded?: string[], checks?: Record<string, { ready: boolean, detail: string, degraded?: boolean }> } }
}

export async function readiness (base: string): Promise<{ status: number, body: ReadinessBody }> {
  const response = await fetch(`${base}/health/ready`)
  return { status: response.status, body: await response.json() as ReadinessBody }
}

/** The checks of a readiness answer, ready (200) or not (503: under error.details). */
export function checksOf (body: ReadinessBody): Record<string, { ready: boolean, detail: string, degraded?: boolean }> {
  return body.checks ?? body.error?.details?.checks ?? {}
}

/** Polls readiness until `until` holds (a bounded wait on a state, not a sleep). */
export async function readinessUntil (base: string, until: (r: { status: number, body: ReadinessBody }) => boolean, timeoutMs = 60_000): Promise<{ status: number, body: ReadinessBody }> {
  const deadline = Date.now() + timeoutMs
  let last: { status: number, body: ReadinessBody } | undefined
  for (;;) {
    try {
      last = await readiness(base)
      if (until(last)) return last
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`readiness of ${base} never matched within ${timeoutMs} ms (last: ${JSON.stringify(last)})`)
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}

/** The `dependency.down` / `dependency.up` line of `dependency`, the n-th one (0 = first). */
export function dependencyLine (cli: RunningCli, event: 'dependency.down' | 'dependency.up', dependency: string, timeoutMs = 60_000, nth = 0): Promise<LogLine> {
  return cli.waitForLine(l => l.event === event && l.dependency === dependency && cli.lines.filter(x => x.event === event && x.dependency === dependency).indexOf(l) === nth, timeoutMs)
}

export async function call (url: string, token: string, init: { method?: string, body?: unknown } = {}): Promise<{ status: number, body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {})
  })
  return { status: response.status, body: await response.json().catch(() => ({})) as Record<string, unknown> }
}

export function earn (memberId: string, eventId: string, amountCents: number): Record<string, unknown> {
  return { eventId, memberId, source: 'HOTEL', type: 'EARN', amountCents, currency: 'USD', occurredAt: '2026-03-01T12:00:00Z', propertyId: 'LV-01' }
}
