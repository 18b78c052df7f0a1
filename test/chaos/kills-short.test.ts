// The short form of the chaos suite (issue 14 item 6; the long form is `npm run chaos`): two full
// platform processes (`rewards start`, all roles, exactly_once_v2) on the real broker,
// PostgreSQL and Redis; their process groups SIGKILLed four times at random moments while an
// independent client produces earns, duplicates, reversals, redemptions, events 200 and 60 days
// old next to events of today, and malformed records dated and stamped now. Then every output,
// dead letter, balance and archive row is checked against the reference model (reference-model.ts).
import { rmSync } from 'node:fs'
import t from 'tap'
import { shortOptions } from './chaos-options.ts'
import { formatReport, passed } from './chaos-report.ts'
import { runChaos } from './chaos-run.ts'

// On main these fail until the fixes of issue 14 are merged (the lead removes the todos then):
// one batch with timestamps months apart is refused (the client's varint bug) and the process
// dies instead of recovering; a malformed record stamped now moves the dedupe clock.
const AWAITS_CLIENT = { todo: 'awaits issue 14 items 0-1: the client varint fix and recovery from a refused batch' }
const AWAITS_CLOCKS = { todo: 'awaits issue 14 item 2: a rejected record never moves the dedupe clock' }

t.test('two platform processes SIGKILLed under months-old and fresh traffic: exactly once', async t => {
  const report = await runChaos(shortOptions({ scenario: 'kills' }), line => t.comment(line))
  t.comment(formatReport(report))
  const o = report.outputs
  t.equal(report.kills.length, report.options.kills, `${report.kills.length} SIGKILLs of a whole process group while records flowed`)
  t.ok(o.expectedConfirmations > 1000 && o.expectedDeadLetters > 50 && o.expectedDecisions > 200, `traffic of every kind (${o.expectedConfirmations} confirmations, ${o.expectedDecisions} decisions, ${o.expectedDeadLetters} dead letters expected)`)
  t.same(report.unexpectedExits.map(e => `instance ${e.instance}: ${e.reason}`), [], 'no process exited on its own', AWAITS_CLIENT)
  t.equal(report.lagAtEnd, 0, 'the group processed every input record', AWAITS_CLIENT)
  t.equal(o.duplicates, 0, 'no confirmation, decision or dead letter twice', AWAITS_CLOCKS)
  t.equal(o.lost, 0, 'none lost', AWAITS_CLIENT)
  t.equal(o.unexpected, 0, 'nothing output that should not be', AWAITS_CLOCKS)
  t.equal(o.wrong, 0, 'every output as the model says (points, tiers, decisions, dead-letter codes)', AWAITS_CLOCKS)
  t.equal(report.balances.wrong, 0, `every balance over HTTP equals the model (${report.balances.checked} members)`, AWAITS_CLIENT)
  t.equal(report.archive.duplicateRows, 0, 'no duplicate archive rows')
  t.equal(report.archive.missing, 0, `the archive holds every record (${report.archive.expected})`)
  t.equal(report.kills.filter(k => k.recoveryMs === null).length, 0, 'the group recovered from every kill', AWAITS_CLIENT)
  if (passed(report)) rmSync(report.logDir, { recursive: true, force: true })
})
