// RestoreProgressTracker: deltas per store for the counters, totals and ETA across stores, a
// report at most every interval, and a last one when everything is restored.
import t from 'tap'
import { RestoreProgressTracker, type RestoreProgressReport } from '../../../topology/runtime/restore-progress.ts'

t.test('deltas, totals, rate and ETA', async t => {
  let now = 1000
  const reports: RestoreProgressReport[] = []
  const tracker = new RestoreProgressTracker({ report: r => reports.push(r), intervalMs: 5000, now: () => now })
  const changelog = { topic: 'app-totals-changelog', partition: 0 }
  t.equal(tracker.update({ owner: '0_0', store: 'totals', changelog, restored: 100, remaining: 900 }), 100)
  t.equal(tracker.update({ owner: '0_1', store: 'totals', changelog: { ...changelog, partition: 1 }, restored: 100, remaining: 100 }), 100)
  now += 1000
  t.equal(tracker.update({ owner: '0_0', store: 'totals', changelog, restored: 300, remaining: 700 }), 200, 'the records since the last update')
  const snapshot = tracker.snapshot(2)
  t.equal(snapshot.restored, 400)
  t.equal(snapshot.remaining, 800)
  t.equal(snapshot.recordsPerSecond, 400)
  t.equal(snapshot.etaMs, 2000, '800 left at 400/s')
  tracker.maybeReport(2)
  t.equal(reports.length, 0, 'no report before the interval')
  now += 5000
  tracker.maybeReport(2)
  tracker.maybeReport(2)
  t.equal(reports.length, 1, 'one report per interval')
  tracker.forget('0_1')
  t.equal(tracker.snapshot(1).remaining, 700, 'a finished task no longer counts as remaining')
  tracker.finished()
  t.equal(reports.length, 2)
  t.ok(reports[1]!.done, 'a last report when everything is restored')
  t.equal(tracker.snapshot(0).restored, 0, 'and the next restore starts from zero')
})
