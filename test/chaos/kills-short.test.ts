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

t.test('two platform processes SIGKILLed under months-old and fresh traffic: exactly once', async t => {
  const report = await runChaos(shortOptions({ scenario: 'kills' }), line => t.comment(line))
  t.comment(formatReport(report))
  const o = report.outputs
  t.equal(report.kills.length, report.options.kills, `${report.kills.length} SIGKILLs of a whole process group while records flowed`)
  t.ok(o.expectedConfirmations > 1000 && o.expectedDeadLetters > 50 && o.expectedDecisions > 200, `traffic of every kind (${o.expectedConfirmations} confirmations, ${o.expectedDecisions} decisions, ${o.expectedDeadLetters} dead letters expected)`)
  t.same(report.unexpectedExits.map(e => `instance ${e.instance}: ${e.reason}`), [], 'no process exited on its own')
  t.equal(report.lagAtEnd, 0, 'the group processed every input record')
  t.equal(o.duplicates, 0, 'no confirmation, decision or dead letter twice')
  t.equal(o.lost, 0, 'none lost')
  t.equal(o.unexpected, 0, 'nothing output that should not be')
  t.equal(o.wrong, 0, 'every output as the model says (points, tiers, decisions, dead-letter codes)')
  t.equal(report.balances.wrong, 0, `every balance over HTTP equals the model (${report.balances.checked} members)`)
  t.equal(report.archive.duplicateRows, 0, 'no duplicate archive rows')
  t.equal(report.archive.missing, 0, `the archive holds every record (${report.archive.expected})`)
  t.equal(report.kills.filter(k => k.recoveryMs === null).length, 0, 'the group recovered from every kill')
  if (passed(report)) rmSync(report.logDir, { recursive: true, force: true })
})
