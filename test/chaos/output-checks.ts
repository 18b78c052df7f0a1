// Compares what the platform wrote (read committed) with the reference model: every confirmation
// and decision exactly once and right, every bad record once in its DLQ with its code. Counts are
// the run's figures; `problems` keeps the first examples of each kind for the report.
import type { ReadRecord } from './topic-reader.ts'
import { tierOf, type Model } from './reference-model.ts'

export interface OutputFigures {
  expectedConfirmations: number
  expectedDecisions: number
  expectedDeadLetters: number
  outputs: number
  /** Output records beyond the first of their id (confirmations, decisions, dead letters). */
  duplicates: number
  /** Expected records with no output. */
  lost: number
  /** Outputs nobody expected (an id the model did not accept, a dead letter of an accepted record). */
  unexpected: number
  /** Outputs whose content differs from the model. */
  wrong: number
}

export interface OutputCheck {
  readonly figures: OutputFigures
  readonly problems: string[]
  /** Per member: the decisions it got (the first of each id), in the member's request order. */
  readonly confirmedRedeemed: Map<string, { redeemed: number, lastConfirmedAtMs: number | null }>
}

interface Balance { earned: number, reversed: number, redeemed: number, available: number, qualifyingPoints: number, tier: string, events: number }

function json (r: ReadRecord): Record<string, unknown> | undefined {
  try { return JSON.parse(r.value!.toString()) as Record<string, unknown> } catch { return undefined }
}

export function checkOutputs (model: Model, out: { rewardConfirmed: ReadRecord[], redeemConfirmed: ReadRecord[], rewardDlq: ReadRecord[], redeemDlq: ReadRecord[] }): OutputCheck {
  const figures: OutputFigures = {
    expectedConfirmations: model.confirmations.size,
    expectedDecisions: model.redemptions.size,
    expectedDeadLetters: model.deadLetters.size,
    outputs: out.rewardConfirmed.length + out.redeemConfirmed.length + out.rewardDlq.length + out.redeemDlq.length,
    duplicates: 0,
    lost: 0,
    unexpected: 0,
    wrong: 0
  }
  const problems: string[] = []
  const note = (kind: keyof OutputFigures, text: string): void => {
    figures[kind]++
    if (problems.filter(p => p.startsWith(kind)).length < 10) problems.push(`${kind}: ${text}`)
  }

  // Confirmations.
  const confirmations = new Map<string, Record<string, unknown>>()
  for (const r of out.rewardConfirmed) {
    const c = json(r)
    const id = `${String(c?.memberId)}:${String(c?.eventId)}`
    if (confirmations.has(id)) { note('duplicates', `reward-confirmed ${id} again at ${r.partition}:${r.offset}`); continue }
    confirmations.set(id, c ?? {})
    const expected = model.confirmations.get(id)
    if (expected === undefined) { note('unexpected', `reward-confirmed ${id} (${r.partition}:${r.offset})`); continue }
    const b = c?.balance as Balance | undefined
    const got = { type: c?.type, points: c?.points, tier: c?.tier, earned: b?.earned, reversed: b?.reversed, events: b?.events, qualifyingPoints: b?.qualifyingPoints, tierAfter: b?.tier, available: b === undefined ? undefined : b.earned - b.reversed - b.redeemed }
    const want = { type: expected.type, points: expected.points, tier: expected.tier, earned: expected.earned, reversed: expected.reversed, events: expected.events, qualifyingPoints: expected.earned - expected.reversed, tierAfter: tierOf(expected.earned - expected.reversed).name, available: b?.available }
    if (JSON.stringify(got) !== JSON.stringify(want)) note('wrong', `reward-confirmed ${id}: ${JSON.stringify(got)} expected ${JSON.stringify(want)}`)
  }
  for (const id of model.confirmations.keys()) if (!confirmations.has(id)) note('lost', `no reward-confirmed for ${id}`)

  // Decisions: one per redemption, each consistent with what its member's task had processed.
  const decisions = new Map<string, Record<string, unknown>>()
  for (const r of out.redeemConfirmed) {
    const d = json(r)
    const id = `${String(d?.memberId)}:${String(d?.redemptionId)}`
    if (decisions.has(id)) { note('duplicates', `redeem-confirmed ${id} again at ${r.partition}:${r.offset}`); continue }
    decisions.set(id, d ?? {})
    if (!model.redemptions.has(id)) note('unexpected', `redeem-confirmed ${id} (${r.partition}:${r.offset})`)
  }
  const confirmedRedeemed = new Map<string, { redeemed: number, lastConfirmedAtMs: number | null }>()
  for (const m of model.members.values()) {
    let redeemed = 0
    let lastConfirmedAtMs: number | null = null
    let seenEvents = 0
    for (const x of m.redemptions) {
      const id = `${x.memberId}:${x.redemptionId}`
      const d = decisions.get(id)
      if (d === undefined) { note('lost', `no redeem-confirmed for ${id}`); continue }
      const b = d.balance as Balance | undefined
      const k = b?.events ?? -1
      const history = m.history[k]
      const confirmed = d.status === 'CONFIRMED'
      const availableBefore = history === undefined ? NaN : history.earned - history.reversed - redeemed
      const after = redeemed + (confirmed ? x.points : 0)
      const why: string[] = []
      if (history === undefined || b!.earned !== history.earned || b!.reversed !== history.reversed) why.push(`balance ${JSON.stringify(b)} is no prefix of the member's reward history`)
      if (k < seenEvents) why.push(`sees ${k} reward events after an earlier decision saw ${seenEvents}`)
      if (d.points !== x.points) why.push(`points ${String(d.points)} != ${x.points}`)
      if (d.status !== (availableBefore >= x.points ? 'CONFIRMED' : 'REJECTED')) why.push(`${String(d.status)} with ${availableBefore} available for ${x.points}`)
      if (d.status === 'REJECTED' && d.reason !== 'INSUFFICIENT_POINTS') why.push(`reason ${String(d.reason)}`)
      if (b !== undefined && (b.redeemed !== after || b.available !== (history?.earned ?? 0) - (history?.reversed ?? 0) - after)) why.push(`redeemed ${b.redeemed} / available ${b.available} after, expected redeemed ${after}`)
      if (why.length > 0) note('wrong', `redeem-confirmed ${id}: ${why.join('; ')}`)
      if (confirmed) { redeemed += x.points; lastConfirmedAtMs = Math.max(lastConfirmedAtMs ?? -Infinity, x.requestedAtMs) }
      seenEvents = Math.max(seenEvents, k)
    }
    confirmedRedeemed.set(m.memberId, { redeemed, lastConfirmedAtMs })
  }

  // Dead letters: one per bad input record (located by its source headers), with its code.
  const letters = new Set<string>()
  for (const [kind, records] of [['reward', out.rewardDlq], ['redeem', out.redeemDlq]] as const) {
    for (const r of records) {
      const where = `${kind}:${r.headers['source.partition']}:${r.headers['source.offset']}`
      if (letters.has(where)) { note('duplicates', `dead letter of ${where} again at ${r.partition}:${r.offset}`); continue }
      letters.add(where)
      const code = model.deadLetters.get(where)
      if (code === undefined) note('unexpected', `dead letter of ${where} (${r.headers['error.code']}: ${r.headers['error.message']})`)
      else if (code !== r.headers['error.code']) note('wrong', `dead letter of ${where}: ${r.headers['error.code']} expected ${code}`)
    }
  }
  for (const where of model.deadLetters.keys()) if (!letters.has(where)) note('lost', `no dead letter for ${where} (${model.deadLetters.get(where)})`)
  return { figures, problems, confirmedRedeemed }
}
