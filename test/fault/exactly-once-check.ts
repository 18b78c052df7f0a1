// The oracle of the kill tests, written plainly: from the distinct input records, each key's
// count and sum; from the output records, every key's updates must be exactly counts 1..N (each
// once: none lost, none doubled) ending at the oracle's sum; the dumped store must equal the oracle.
export interface Totals { count: number, sum: number }

export interface CheckResult {
  readonly problems: string[]
  readonly oracle: Map<string, Totals>
}

export function checkExactlyOnce (
  inputs: Array<{ key: string, value: { i: number, amount: number } }>,
  outputs: Array<{ key: string, value: Totals }>,
  store: Record<string, Totals>
): CheckResult {
  const problems: string[] = []
  const seen = new Set<number>()
  const oracle = new Map<string, Totals>()
  for (const { key, value } of inputs) {
    if (seen.has(value.i)) { problems.push(`input ${value.i} appears twice in the input topic`); continue }
    seen.add(value.i)
    const t = oracle.get(key) ?? { count: 0, sum: 0 }
    oracle.set(key, { count: t.count + 1, sum: t.sum + value.amount })
  }
  const updates = new Map<string, Totals[]>()
  for (const { key, value } of outputs) updates.set(key, [...(updates.get(key) ?? []), value])
  for (const [key, expected] of oracle) {
    const list = updates.get(key) ?? []
    const counts = list.map(u => u.count).sort((a, b) => a - b)
    const missing: number[] = []
    const doubled: number[] = []
    let j = 0
    for (let c = 1; c <= expected.count; c++) {
      let n = 0
      while (j < counts.length && counts[j] === c) { n++; j++ }
      if (n === 0) missing.push(c)
      if (n > 1) doubled.push(c)
    }
    if (j < counts.length) problems.push(`${key}: outputs beyond the input count ${expected.count}: ${counts.slice(j).join(',')}`)
    if (missing.length > 0) problems.push(`${key}: lost updates ${missing.slice(0, 10).join(',')}${missing.length > 10 ? '…' : ''}`)
    if (doubled.length > 0) problems.push(`${key}: doubled updates ${doubled.slice(0, 10).join(',')}${doubled.length > 10 ? '…' : ''}`)
    const last = list.reduce<Totals | undefined>((best, u) => !best || u.count > best.count ? u : best, undefined)
    if (last && last.sum !== expected.sum) problems.push(`${key}: last output sum ${last.sum} != oracle ${expected.sum}`)
    const stored = store[key]
    if (!stored || stored.count !== expected.count || stored.sum !== expected.sum) {
      problems.push(`${key}: store ${JSON.stringify(stored)} != oracle ${JSON.stringify(expected)}`)
    }
  }
  for (const key of Object.keys(store)) if (!oracle.has(key)) problems.push(`${key}: in the store but never in the input`)
  return { problems, oracle }
}
