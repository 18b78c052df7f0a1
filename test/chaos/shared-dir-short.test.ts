// Chaos, shared state directory (issue 14 item 6e, short form): while two platform processes run
// under traffic, a third `rewards start` is pointed at the first one's data directory — in the
// same PID namespace, then in another one (`unshare --pid`, as a second container on a shared
// volume sees it). It must exit at once naming the holder; nothing may be duplicated or lost.
import { rmSync } from 'node:fs'
import t from 'tap'
import { shortOptions } from './chaos-options.ts'
import { formatReport, passed } from './chaos-report.ts'
import { runChaos } from './chaos-run.ts'

t.test('a second process on a held state directory fails fast; nothing duplicated or lost', async t => {
  const report = await runChaos(shortOptions({ scenario: 'shared-dir', kills: 0, records: 1500, members: 60, httpMembers: 0, productionMs: 25_000, timestamps: 'recent' }), line => t.comment(line))
  t.comment(formatReport(report))
  t.equal(report.faultChecks.length, 2, 'tried in the same and in another PID namespace')
  for (const check of report.faultChecks) t.ok(check.ok, `${check.name} (${check.detail})`)
  t.same(report.unexpectedExits.map(e => `instance ${e.instance}: ${e.reason}`), [], 'no process exited on its own')
  t.equal(report.lagAtEnd, 0, 'the group processed every input record')
  t.equal(report.outputs.duplicates, 0, 'nothing output twice')
  t.equal(report.outputs.lost, 0, 'nothing lost')
  t.equal(report.outputs.wrong + report.outputs.unexpected, 0, 'every output as the model says')
  t.equal(report.balances.wrong, 0, `every balance over HTTP equals the model (${report.balances.checked} members)`)
  t.equal(report.archive.duplicateRows + report.archive.missing, 0, 'the archive complete, no duplicate rows')
  if (passed(report)) rmSync(report.logDir, { recursive: true, force: true })
})
