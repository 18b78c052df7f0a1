// Balance arithmetic (docs/contract.md "Balances and redemptions"). Balances are plain JSON numbers; every sum is checked to stay a
// safe integer (the caller dead-letters an event that would break that, POINTS_OVERFLOW).
import { tierFor, type RuleSet } from './rules-engine.ts'
import type { Balance } from './schemas.ts'

export function emptyBalance (rules: RuleSet, memberId: string): Balance {
  return {
    memberId,
    earned: 0,
    reversed: 0,
    redeemed: 0,
    available: 0,
    qualifyingPoints: 0,
    tier: rules.tiers[0]!.name,
    lastActivityAt: null,
    events: 0
  }
}

/** The later of the balance's lastActivityAt and an event time, as a UTC RFC 3339 string. */
export function laterActivity (current: string | null, eventTimeMs: number): string {
  const next = new Date(eventTimeMs).toISOString()
  if (current === null) return next
  // Both in toISOString's own form (24 characters, years 0000–9999): text order is time order,
  // and no Date.parse per event.
  if (current.length === 24 && next.length === 24 && current.charCodeAt(10) === 84 /* T */ && current.charCodeAt(19) === 46 /* . */ && current.charCodeAt(23) === 90 /* Z */) return current >= next ? current : next
  return Date.parse(current) >= eventTimeMs ? current : next
}

/** A balance with the given totals; derived fields (available, qualifyingPoints, tier) computed.
 *  Undefined when a total is not a safe integer. */
export function withTotals (rules: RuleSet, before: Balance, totals: { earned: number, reversed: number, redeemed: number, events: number, lastActivityAt: string | null }): Balance | undefined {
  const qualifyingPoints = totals.earned - totals.reversed
  const available = qualifyingPoints - totals.redeemed
  for (const n of [totals.earned, totals.reversed, totals.redeemed, qualifyingPoints, available]) {
    if (!Number.isSafeInteger(n)) return undefined
  }
  return {
    memberId: before.memberId,
    earned: totals.earned,
    reversed: totals.reversed,
    redeemed: totals.redeemed,
    available,
    qualifyingPoints,
    tier: tierFor(rules, qualifyingPoints).name,
    lastActivityAt: totals.lastActivityAt,
    events: totals.events
  }
}
