// The rules engine: rule sets are versioned JSON files (rules/<version>.json), validated when
// loaded, and evaluated with integer arithmetic only (BigInt for the products, which exceed 2^53).
//
//   EARN points = floor(amountCents × baseRate × tierMultiplier × promo₁ × … × promoₖ
//                       / (10^9 × 10^(4k)))
//
// baseRate is in thousandths of a point per dollar (so cents × rate / 10^5 is points) and every
// multiplier is in basis points (/ 10^4). Every promotion whose source, property and
// [startsAt, endsAt) window match the event (on occurredAt) applies, multiplicatively, after the
// tier; the result is floored once, at the end. See docs/rewards.md.
import { readFileSync } from 'node:fs'
import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { RewardsError } from '../../lib/errors.ts'
import { parseRfc3339 } from './rfc3339.ts'
import { describeSchemaErrors, fieldName } from './validation.ts'
import { SourceSchema, type Source } from './schemas.ts'

const MAX_MULTIPLIER_BASIS_POINTS = 1_000_000 // ×100: a guard against a typo, not a business rule
const BasisPoints = Type.Integer({ minimum: 1, maximum: MAX_MULTIPLIER_BASIS_POINTS, description: 'basis points: 10000 = ×1' })
const BaseRate = Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'thousandths of a point per dollar' })

export const RuleSetFileSchema = Type.Object({
  version: Type.String({ pattern: '^[A-Za-z0-9._-]{1,32}$' }),
  description: Type.Optional(Type.String()),
  baseRates: Type.Object({ HOTEL: BaseRate, CASINO: BaseRate, DINING: BaseRate }, { additionalProperties: false }),
  tiers: Type.Array(Type.Object({
    name: Type.String({ pattern: '^[A-Z][A-Z0-9_]{0,31}$' }),
    minQualifyingPoints: Type.Integer({ minimum: 0 }),
    multiplierBasisPoints: BasisPoints
  }, { additionalProperties: false }), { minItems: 1, maxItems: 32 }),
  promotions: Type.Array(Type.Object({
    id: Type.String({ minLength: 1, maxLength: 64 }),
    description: Type.Optional(Type.String()),
    multiplierBasisPoints: BasisPoints,
    /** Absent: every source. */
    sources: Type.Optional(Type.Array(SourceSchema, { minItems: 1 })),
    /** Absent: every property. */
    propertyIds: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1 })),
    /** Inclusive, on the event's occurredAt. */
    startsAt: Type.String({ format: 'date-time' }),
    /** Exclusive. */
    endsAt: Type.String({ format: 'date-time' })
  }, { additionalProperties: false }), { maxItems: 1000 })
}, { additionalProperties: false })

export type RuleSetFile = Static<typeof RuleSetFileSchema>

export interface Tier {
  readonly name: string
  readonly minQualifyingPoints: number
  readonly multiplierBasisPoints: number
}

export interface Promotion {
  readonly id: string
  readonly multiplierBasisPoints: number
  readonly sources: ReadonlySet<Source> | undefined
  readonly propertyIds: ReadonlySet<string> | undefined
  readonly startsAtMs: number
  readonly endsAtMs: number
}

/** A validated rule set, ready to evaluate. */
export interface RuleSet {
  readonly version: string
  readonly baseRates: Readonly<Record<Source, number>>
  /** Ascending by minQualifyingPoints; the first starts at 0. */
  readonly tiers: readonly Tier[]
  readonly promotions: readonly Promotion[]
}

export interface EarnInput {
  readonly source: Source
  readonly propertyId: string
  readonly amountCents: number
  /** occurredAt, ms since the epoch. */
  readonly occurredAtMs: number
}

export interface EarnResult {
  /** A bigint: a rule set with very large rates could exceed 2^53 (the processor dead-letters
   *  such an event with POINTS_OVERFLOW rather than lose precision). */
  readonly points: bigint
  /** Ids of the promotions that applied, in rule-set order. */
  readonly promotionIds: readonly string[]
}

const ruleSetValidator = Compile(RuleSetFileSchema)

function invalidRuleSet (origin: string, field: string, problem: string): never {
  throw new RewardsError('CONFIG_INVALID', `rule set ${origin}: ${field} ${problem}`, { details: { origin, field } })
}

/** Validates a parsed rule set file; throws CONFIG_INVALID naming the bad field. `origin` names
 *  the file in messages. */
export function parseRuleSet (json: unknown, origin = '(inline)'): RuleSet {
  if (!ruleSetValidator.Check(json)) {
    const errors = ruleSetValidator.Errors(json)
    const first = errors.find(e => e.keyword !== 'boolean')
    throw new RewardsError('CONFIG_INVALID', `rule set ${origin}: ${describeSchemaErrors(errors)}`,
      { details: { origin, field: first === undefined ? '' : fieldName(first.instancePath) } })
  }
  const file = json
  const tiers = file.tiers
  if (tiers[0]!.minQualifyingPoints !== 0) invalidRuleSet(origin, 'tiers.0.minQualifyingPoints', 'must be 0 (the first tier is where every member starts)')
  const tierNames = new Set<string>()
  tiers.forEach((tier, i) => {
    if (tierNames.has(tier.name)) invalidRuleSet(origin, `tiers.${i}.name`, `repeats tier ${tier.name}`)
    tierNames.add(tier.name)
    if (i > 0 && tier.minQualifyingPoints <= tiers[i - 1]!.minQualifyingPoints) {
      invalidRuleSet(origin, `tiers.${i}.minQualifyingPoints`, `must be greater than the previous tier's (${tiers[i - 1]!.minQualifyingPoints})`)
    }
  })
  const promotionIds = new Set<string>()
  const promotions = file.promotions.map((p, i): Promotion => {
    if (promotionIds.has(p.id)) invalidRuleSet(origin, `promotions.${i}.id`, `repeats promotion ${p.id}`)
    promotionIds.add(p.id)
    const startsAtMs = parseRfc3339(p.startsAt)
    const endsAtMs = parseRfc3339(p.endsAt)
    if (startsAtMs === undefined) invalidRuleSet(origin, `promotions.${i}.startsAt`, 'must be an RFC 3339 timestamp with offset')
    if (endsAtMs === undefined) invalidRuleSet(origin, `promotions.${i}.endsAt`, 'must be an RFC 3339 timestamp with offset')
    if (endsAtMs <= startsAtMs) invalidRuleSet(origin, `promotions.${i}.endsAt`, 'must be after startsAt')
    return {
      id: p.id,
      multiplierBasisPoints: p.multiplierBasisPoints,
      sources: p.sources === undefined ? undefined : new Set(p.sources),
      propertyIds: p.propertyIds === undefined ? undefined : new Set(p.propertyIds),
      startsAtMs,
      endsAtMs
    }
  })
  return Object.freeze({
    version: file.version,
    baseRates: Object.freeze({ ...file.baseRates }),
    tiers: Object.freeze(tiers.map(t => Object.freeze({ ...t }))),
    promotions: Object.freeze(promotions)
  })
}

/** Reads and validates a rule set file. */
export function loadRuleSet (path: string | URL): RuleSet {
  const origin = String(path)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    throw new RewardsError('CONFIG_INVALID', `rule set ${origin}: cannot be read (${(cause as Error).message})`, { cause })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw new RewardsError('CONFIG_INVALID', `rule set ${origin}: not valid JSON (${(cause as Error).message})`, { cause })
  }
  return parseRuleSet(json, origin)
}

export const DEFAULT_RULE_SET_URL = new URL('../../rules/2026-1.json', import.meta.url)

/** The default rule set of docs/contract.md "Earning rules" (`2026-1`). */
export function defaultRuleSet (): RuleSet {
  return loadRuleSet(DEFAULT_RULE_SET_URL)
}

/** The tier for a number of qualifying points (earned − reversed). */
export function tierFor (rules: RuleSet, qualifyingPoints: number): Tier {
  let tier = rules.tiers[0]!
  for (const t of rules.tiers) {
    if (qualifyingPoints >= t.minQualifyingPoints) tier = t
    else break
  }
  return tier
}

export function tierByName (rules: RuleSet, name: string): Tier | undefined {
  return rules.tiers.find(t => t.name === name)
}

export function matchingPromotions (rules: RuleSet, input: Pick<EarnInput, 'source' | 'propertyId' | 'occurredAtMs'>): Promotion[] {
  return rules.promotions.filter(p =>
    input.occurredAtMs >= p.startsAtMs && input.occurredAtMs < p.endsAtMs &&
    (p.sources === undefined || p.sources.has(input.source)) &&
    (p.propertyIds === undefined || p.propertyIds.has(input.propertyId)))
}

const BASE_DIVISOR = 1_000_000_000n // cents→dollars 10^2 × thousandths 10^3 × basis points 10^4
const BASIS = 10_000n

/** Points an EARN is worth for a member at `tier` (the tier before the event). */
export function earnPoints (rules: RuleSet, input: EarnInput, tier: Tier): EarnResult {
  const promotions = matchingPromotions(rules, input)
  let numerator = BigInt(input.amountCents) * BigInt(rules.baseRates[input.source]) * BigInt(tier.multiplierBasisPoints)
  let divisor = BASE_DIVISOR
  for (const p of promotions) {
    numerator *= BigInt(p.multiplierBasisPoints)
    divisor *= BASIS
  }
  // Both are non-negative, so BigInt division (truncation) is the floor.
  return { points: numerator / divisor, promotionIds: promotions.map(p => p.id) }
}
