// A restore's progress is timed from its registration, not from its first batch written: the
// first fetch of a cold start can take seconds, and the `restore.progress` rate and elapsed time
// must count them. Without a broker: a fake log whose first fetch takes 2 s on a fake clock.
import t from 'tap'
import type { LogAdmin, LogRecord, PartitionOffset, PartitionReader, TopicPartition } from '../../../log/log-port.ts'
import { ChangelogReader } from '../../../topology/runtime/changelog-reader.ts'
import type { RestoreProgress } from '../../../topology/runtime/changelog-restore.ts'
import { RestoreProgressTracker } from '../../../topology/runtime/restore-progress.ts'

t.test('elapsed time and rate count from the registration', async t => {
  let now = 1000
  const changelog = { topic: 'app-totals-changelog', partition: 0 }
  const admin = { listOffsets: async (tps: TopicPartition[], which: string) => tps.map(tp => ({ ...tp, offset: which === 'earliest' ? 0n : 4n })) } as unknown as LogAdmin
  let position = 0n
  const reader: PartitionReader = {
    assign: (positions: PartitionOffset[]) => { position = positions[0]!.offset },
    unassign: () => {},
    position: () => position,
    poll: async () => {
      if (position >= 4n) return []
      now += 2000 // the first fetch is slow
      position = 4n
      return [0, 1, 2, 3].map(i => ({ ...changelog, offset: BigInt(i), timestamp: 0, key: Buffer.from(`k${i % 2}`), value: Buffer.from(`v${i}`), headers: {} }) as LogRecord)
    },
    close: async () => {}
  }
  const tracker = new RestoreProgressTracker({ now: () => now })
  const reports: RestoreProgress[] = []
  const written: Array<Array<[string, string | null]>> = []
  const restorer = new ChangelogReader({ admin, reader, now: () => now, onProgress: p => { reports.push(p); tracker.update(p) } })
  await restorer.register('0_0', [{ changelog, store: 'totals', from: null, apply: entries => { written.push(entries.map(e => [e.key.toString(), e.value?.toString() ?? null])) } }])
  t.same(reports.map(p => [p.restored, p.remaining]), [[0, 4]], 'a report at registration: nothing restored, 4 offsets left')
  let done = await restorer.step(100)
  for (let i = 0; i < 5 && done.length === 0; i++) done = await restorer.step(100)
  t.same(done.map(d => [d.owner, d.records, d.durationMs]), [['0_0', 4, 2000]])
  t.same(written, [[['k0', 'v2'], ['k1', 'v3']]], 'each key\'s last write, in one batch')
  const snapshot = tracker.snapshot(0, true)
  t.equal(snapshot.elapsedMs, 2000, 'from the registration (the first batch came 2 s later)')
  t.equal(snapshot.recordsPerSecond, 2)
  t.equal(snapshot.restored, 4)
})
