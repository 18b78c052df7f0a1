// The rewards topology writes, byte for byte, what the hand-written processor it replaced wrote
// (docs/rewards.md, "Topology"): the same scenarios (equivalence/scenarios.ts: every event type,
// re-sends, every dead-letter code, redemptions over the balance, a purged short retention) run
// through buildRewardsTopology on the test driver, and every output record — topic, partition,
// key, value, headers, timestamp, order — and every store of every task must match what was
// recorded from the hand-written processor (equivalence/recorded-outputs.txt.gz).
import t from 'tap'
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { buildRewardsTopology } from '../../../processors/rewards/index.ts'
import { recordOutputs } from './equivalence/recorded-outputs.ts'
import { RECORDED_OUTPUTS_FILE, scenarios } from './equivalence/scenarios.ts'

const recorded = gunzipSync(readFileSync(RECORDED_OUTPUTS_FILE)).toString('utf8').trimEnd().split('\n')

/** The recorded lines of one scenario (from its `# name` line to the next). */
function recordedOf (name: string): string[] {
  const start = recorded.indexOf(`# ${name}`)
  if (start < 0) throw new Error(`no recorded outputs for scenario "${name}": run equivalence/record.ts`)
  const end = recorded.findIndex((line, i) => i > start && line.startsWith('# '))
  return recorded.slice(start, end < 0 ? undefined : end)
}

for (const scenario of scenarios()) {
  t.test(scenario.name, async t => {
    const expected = recordedOf(scenario.name)
    const actual = await recordOutputs(scenario, buildRewardsTopology({ ...scenario.options, storeKind: 'in-memory' }))
    const first = actual.findIndex((line, i) => line !== expected[i])
    t.equal(first, actual.length === expected.length ? -1 : Math.min(actual.length, expected.length),
      'no output differs from the recorded one')
    if (first >= 0) {
      t.comment(`first difference at line ${first}:\n  recorded: ${expected[first] ?? '(none)'}\n  now:      ${actual[first] ?? '(none)'}`)
      t.fail('outputs differ from the recorded ones')
    }
    t.equal(actual.length, expected.length, 'as many output records and store lines as recorded')
  })
}

t.test('the scenarios reach every output and dead-letter code', async t => {
  const details = new Set(recorded.filter(l => /^\d/.test(l)).map(l => { const f = l.split('\t'); return `${f[1]} ${f[4]}` }))
  for (const expected of [
    'reward-confirmed EARN', 'reward-confirmed REVERSAL', 'redeem-confirmed CONFIRMED', 'redeem-confirmed REJECTED',
    'reward-events-dlq MALFORMED_JSON', 'reward-events-dlq SCHEMA_VIOLATION', 'reward-events-dlq KEY_MISMATCH',
    'reward-events-dlq UNSUPPORTED_CURRENCY', 'reward-events-dlq ORIGINAL_NOT_FOUND', 'reward-events-dlq ALREADY_REVERSED',
    'reward-events-dlq POINTS_OVERFLOW', 'redeem-events-dlq MALFORMED_JSON', 'redeem-events-dlq SCHEMA_VIOLATION'
  ]) t.ok(details.has(expected), expected)
  // Inputs with no output are the duplicates (each input has at most one output).
  for (const scenario of scenarios()) {
    const lines = recordedOf(scenario.name)
    const withOutput = new Set(lines.filter(l => /^\d/.test(l)).map(l => l.split('\t')[0]))
    t.ok(scenario.steps.length - withOutput.size > 10, `${scenario.name}: duplicates among the inputs`)
  }
})
