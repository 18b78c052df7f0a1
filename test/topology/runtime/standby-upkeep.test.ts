// StandbyUpkeep with a fake standby reader and task manager: the catch-up of standby copies
// reported like an active restore (progress every interval, a last `done` report with the
// records and the rate), standbys closed before catching up no longer counted, a checkpoint as
// soon as every standby caught up (none in a catch-up's first interval), the records applied counted in
// streams_standby_restore_records_total, lags refreshed at most every second.
import { Registry } from 'prom-client'
import t from 'tap'
import type { RestoreProgress } from '../../../topology/runtime/changelog-restore.ts'
import { EngineMetrics } from '../../../topology/runtime/engine-metrics.ts'
import type { RestoreProgressReport } from '../../../topology/runtime/restore-progress.ts'
import { StandbyUpkeep } from '../../../topology/runtime/standby-upkeep.ts'

function setup (): {
  upkeep: StandbyUpkeep
  reader: { refreshEnds: () => Promise<void>, lag: (owner: string) => number, appliedRecords: number, catchingUp: number, owners: Set<string>, refreshed: number }
  reports: RestoreProgressReport[]
  checkpoints: () => number
  metrics: EngineMetrics
  registry: Registry
  clock: { now: number }
} {
  const clock = { now: 100_000 }
  const registry = new Registry()
  const metrics = new EngineMetrics(registry)
  const reader = {
    refreshed: 0,
    appliedRecords: 0,
    catchingUp: 0,
    owners: new Set<string>(),
    async refreshEnds () { reader.refreshed++ },
    lag: () => 0
  }
  let checkpoints = 0
  const tasks = { standbys: new Map(), checkpointStandbys: () => { checkpoints++ } }
  const reports: RestoreProgressReport[] = []
  const upkeep = new StandbyUpkeep({ tasks: () => tasks as never, reader: () => reader, metrics, onCatchUp: r => reports.push(r), reportIntervalMs: 5000, now: () => clock.now })
  return { upkeep, reader, reports, checkpoints: () => checkpoints, metrics, registry, clock }
}

const changelog = (partition: number): { topic: string, partition: number } => ({ topic: 'app-balances-changelog', partition })
const report = (owner: string, partition: number, restored: number, remaining: number, caughtUp: boolean, catchingUp = true): RestoreProgress =>
  ({ owner, store: 'balances', changelog: changelog(partition), restored, remaining, caughtUp, catchingUp })

t.test('a catch-up: progress, then one done report with records and rate, then a checkpoint', async t => {
  const { upkeep, reader, reports, checkpoints, clock } = setup()
  reader.owners = new Set(['0_0', '0_1'])
  reader.catchingUp = 2
  // Registration: where each store starts.
  upkeep.progress(report('0_0', 0, 0, 30_000, false))
  upkeep.progress(report('0_1', 1, 0, 20_000, false))
  upkeep.maintain(clock.now)
  const before = checkpoints()
  clock.now += 2000
  upkeep.progress(report('0_0', 0, 30_000, 0, true))
  reader.catchingUp = 1
  upkeep.maintain(clock.now)
  t.same(reports, [], 'no report before the interval')
  clock.now += 4000
  upkeep.progress(report('0_1', 1, 10_000, 10_000, false))
  upkeep.maintain(clock.now)
  t.equal(reports.length, 1, 'a progress report after the interval')
  t.match(reports[0], { done: false, tasks: 1, restored: 40_000, remaining: 10_000 })
  clock.now += 1000
  upkeep.progress(report('0_1', 1, 20_000, 0, true))
  // Reports after the catch-up only follow the changelog: not counted.
  upkeep.progress(report('0_0', 0, 30_500, 0, true, false))
  reader.catchingUp = 0
  upkeep.maintain(clock.now)
  t.equal(reports.length, 2)
  t.match(reports[1], { done: true, tasks: 0, restored: 50_000, remaining: 0, elapsedMs: 7000, recordsPerSecond: Math.round(50_000 / 7) })
  t.equal(checkpoints(), before + 1, 'checkpointed as soon as every standby caught up')
  upkeep.maintain(clock.now + 10)
  t.equal(reports.length, 2, 'one done report')
})

t.test('a standby closed before it caught up no longer counts as remaining', async t => {
  const { upkeep, reader, reports, clock } = setup()
  reader.owners = new Set(['0_0', '0_1'])
  reader.catchingUp = 2
  upkeep.progress(report('0_0', 0, 0, 10_000, false))
  upkeep.progress(report('0_1', 1, 0, 50_000, false))
  upkeep.maintain(clock.now)
  clock.now += 1000
  upkeep.progress(report('0_1', 1, 5000, 45_000, false))
  // 0_1 becomes active here (its standby closes), 0_0 catches up.
  reader.owners = new Set(['0_0'])
  upkeep.progress(report('0_0', 0, 10_000, 0, true))
  reader.catchingUp = 0
  upkeep.maintain(clock.now)
  t.equal(reports.length, 1)
  t.match(reports[0], { done: true, restored: 15_000, remaining: 0 }, 'the closed standby\'s records count, its remaining does not')
})

t.test('nothing to catch up: no report', async t => {
  const { upkeep, reader, reports, clock } = setup()
  reader.owners = new Set(['0_0'])
  upkeep.progress(report('0_0', 0, 0, 0, true))
  reader.catchingUp = 0
  upkeep.maintain(clock.now)
  t.same(reports, [])
})

t.test('records applied feed streams_standby_restore_records_total; lags refreshed every second', async t => {
  const { upkeep, reader, registry, clock } = setup()
  const counter = async (): Promise<number> => (await registry.getSingleMetric('streams_standby_restore_records_total')!.get()).values[0]?.value ?? 0
  reader.appliedRecords = 1200
  upkeep.maintain(clock.now)
  t.equal(await counter(), 1200)
  reader.appliedRecords = 1500
  upkeep.maintain(clock.now + 10)
  t.equal(await counter(), 1500, 'only the new records')
  await new Promise(resolve => setImmediate(resolve))
  const refreshed = reader.refreshed
  upkeep.maintain(clock.now + 20)
  t.equal(reader.refreshed, refreshed, 'no second lag refresh within a second')
  await new Promise(resolve => setImmediate(resolve))
  upkeep.maintain(clock.now + 1100)
  t.equal(reader.refreshed, refreshed + 1)
})

t.test('no interval checkpoint in a catch-up\'s first interval; then every interval; one at its end', async t => {
  const { upkeep, reader, checkpoints, clock } = setup()
  upkeep.maintain(clock.now)
  t.equal(checkpoints(), 1, 'no catch-up: the interval checkpoint as before')
  clock.now += 20_000
  reader.owners = new Set(['0_0'])
  reader.catchingUp = 1
  upkeep.progress(report('0_0', 0, 0, 1_000_000, false))
  upkeep.maintain(clock.now)
  t.equal(checkpoints(), 1, 'a catch-up just began: its start claims nothing worth a WAL fsync')
  clock.now += 9_000
  upkeep.maintain(clock.now)
  t.equal(checkpoints(), 1)
  clock.now += 1_000
  upkeep.maintain(clock.now)
  t.equal(checkpoints(), 2, 'a long catch-up checkpoints every interval after its first')
  clock.now += 5_000
  upkeep.progress(report('0_0', 0, 1_000_000, 0, true))
  reader.catchingUp = 0
  upkeep.maintain(clock.now)
  t.equal(checkpoints(), 3, 'and at its end')
  clock.now += 10_000
  reader.owners = new Set(['0_0', '0_1'])
  reader.catchingUp = 1
  upkeep.progress(report('0_1', 1, 0, 5_000, false))
  upkeep.maintain(clock.now)
  t.equal(checkpoints(), 3, 'the next catch-up starts its own interval')
})
