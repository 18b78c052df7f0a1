// Standby tasks (docs/engine.md "Standby tasks"), on both logs: two instances with one standby
// replica per task. Each keeps a standby of the other's tasks current from the changelogs; when
// one instance closes, the other takes its tasks over and restores only the delta its standbys
// had not applied (here nothing: they had caught up), and the stores answer exactly what the
// input says.
import t from 'tap'
import type { Log, TopicPartition } from '../../../log/log-port.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import type { TaskRestored } from '../../../topology/runtime/stream-thread.ts'
import type { Totals } from '../../fault/exactly-once-check.ts'
import { amountOf } from '../../fault/fixtures/aggregating-workload.ts'
import { BACKENDS, tempStateDir, uniqueName } from './backends.ts'

const PARTITIONS = 4
// Many keys: a changelog holds at least one record per key, so a full restore is visibly larger
// than the delta a standby leaves.
const KEYS = 2000
const keyOf = (i: number): string => `member-${i % KEYS}`

function topology (input: string, output: string) {
  const builder = new StreamsBuilder()
  builder.stream<string, { i: number, amount: number }>(input)
    .groupByKey()
    .aggregate<Totals>(() => ({ count: 0, sum: 0 }), (_k, v, agg) => ({ count: agg.count + 1, sum: agg.sum + v.amount }), { storeName: 'totals', valueSerde: Serdes.json<Totals>() })
    .toStream()
    .to(output, { valueSerde: Serdes.json<Totals>() })
  return builder.build()
}

async function until (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** What every key's totals must be after records 0..n-1. */
function oracle (n: number): Map<string, Totals> {
  const out = new Map<string, Totals>()
  for (let i = 0; i < n; i++) {
    const t = out.get(keyOf(i)) ?? { count: 0, sum: 0 }
    out.set(keyOf(i), { count: t.count + 1, sum: t.sum + amountOf(i) })
  }
  return out
}

for (const backend of BACKENDS) {
  t.test(`standby tasks on the ${backend.name} log: kept current, then take over with only the delta`, async t => {
    const { log, cleanup } = await backend.open()
    const input = uniqueName('sb-in')
    const output = uniqueName('sb-out')
    const appId = uniqueName('sb')
    const changelog = `${appId}-totals-changelog`
    await log.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS }])
    const stateA = tempStateDir()
    const stateB = tempStateDir()
    const running: StreamsApplication[] = []
    t.teardown(async () => {
      for (const app of running) await app.close()
      await log.admin.deleteTopics([input, output, changelog])
      await cleanup()
      stateA.remove(); stateB.remove()
    })
    const start = async (l: Log, stateDir: string, server: string): Promise<StreamsApplication> => {
      const app = new StreamsApplication(topology(input, output), {
        log: l,
        config: {
          applicationId: appId, stateDir, applicationServer: server, sessionTimeoutMs: 6000, commitIntervalMs: 50, tableRecordCache: false,
          // Tasks move at once (no warm-up round) so the test sees the standby layout directly.
          numStandbyReplicas: 1, maxWarmupReplicas: 0
        }
      })
      app.onStateChange(state => { if (state === 'ERROR') t.fail(`${server} failed: ${String(app.error)}`) })
      await app.start()
      running.push(app)
      return app
    }
    const producer = await log.createProducer({ clientId: 'sb-producer' })
    t.teardown(() => producer.close())
    let produced = 0
    const produce = async (n: number): Promise<void> => {
      for (const end = produced + n; produced < end;) {
        const batch = []
        for (const stop = Math.min(end, produced + 500); produced < stop; produced++) {
          batch.push({ topic: input, key: Buffer.from(keyOf(produced)), value: Buffer.from(JSON.stringify({ i: produced, amount: amountOf(produced) })) })
        }
        await producer.send(batch)
      }
    }
    const inputs: TopicPartition[] = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: input, partition }))
    const allCommitted = async (): Promise<boolean> => {
      const committed = await log.admin.listCommittedOffsets(appId, inputs)
      return committed.reduce((n, o) => n + Number(o.offset), 0) >= produced
    }
    const stable = (): boolean => running.every(a => a.state === 'RUNNING') &&
      running.reduce((n, a) => n + a.localTasks().length, 0) === PARTITIONS && running.every(a => a.localTasks().every(task => task.ready))

    const a = await start(log, stateA.dir, 'a.example:1')
    await produce(8000)
    await until(stable, 'A running')
    await until(allCommitted, 'A processed the first records')
    t.same(a.localStandbyTasks(), [], 'alone: no standby (never on its active\'s instance)')

    const b = await start(log, stateB.dir, 'b.example:2')
    await until(() => stable() && a.localTasks().length === 2 && b.localTasks().length === 2 &&
      a.localStandbyTasks().length === 2 && b.localStandbyTasks().length === 2, 'A and B with two actives and two standbys each')
    const activeOf = (app: StreamsApplication): string[] => app.localTasks().map(x => x.task).sort()
    t.same(b.localStandbyTasks().map(s => s.task).sort(), activeOf(a), 'B keeps a standby of each of A\'s tasks')
    t.same(a.localStandbyTasks().map(s => s.task).sort(), activeOf(b), 'A keeps a standby of each of B\'s tasks')
    t.ok(b.localStandbyTasks().every(s => !s.warmup), 'hot standbys, not warm-ups')
    const metadata = b.assignmentMetadata!
    for (const task of activeOf(a)) {
      const hosts = metadata.forPartition(0, Number(task.split('_')[1]))!
      t.equal(hosts.activeHost, 'a.example:1', `metadata: ${task} active on A`)
      t.same(hosts.standbyHosts.map(h => h.host), ['b.example:2'], `metadata: ${task} standby on B`)
    }

    // More input while both run: the standbys follow the actives' changelogs.
    await produce(8000)
    await until(allCommitted, 'A and B processed everything')
    const ends = new Map((await log.admin.listOffsets(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: changelog, partition })), 'latest')).map(o => [o.partition, o.offset]))
    const caughtUp = (app: StreamsApplication): boolean => app.localStandbyTasks().every(s => s.offsets.every(o => o.offset >= ends.get(o.partition)!))
    await until(() => caughtUp(a) && caughtUp(b), 'every standby at its changelog\'s end')
    const standbyOnB = b.localStandbyTasks().map(s => s.task).sort()
    const changelogSizes = standbyOnB.map(task => Number(ends.get(Number(task.split('_')[1]))!))
    t.ok(changelogSizes.every(n => n >= KEYS / PARTITIONS / 2), `the standbys' changelogs hold hundreds of records (${changelogSizes.join(', ')})`)
    await until(async () => (await b.metrics.standbyLag.get()).values.filter(v => standbyOnB.includes(String(v.labels.task)) && v.value === 0).length === 2, 'the standby lag gauge at 0 for both standbys')

    // Reads of B's standby copies (docs/engine.md "Interactive queries"): at lag 0 they answer
    // exactly what A's actives hold; a key of B's own tasks has no standby copy on B.
    const committed = oracle(produced)
    const standbyWrong: string[] = []
    let standbyReads = 0
    for (let k = 0; k < KEYS; k++) {
      const key = keyOf(k)
      const meta = b.queryMetadataForKey('totals', key)
      if (meta.local) {
        const refused = await b.standbyView('totals', key, { maxLagRecords: 1000 }).then(() => null, (error: unknown) => error as { code?: string, details?: { lagRecords?: unknown } })
        if (refused?.code !== 'STORE_NOT_READY' || refused.details?.lagRecords !== null) standbyWrong.push(`${key}: a view of B's own task (${JSON.stringify(refused)})`)
        continue
      }
      if (!meta.localStandby || meta.host !== 'a.example:1' || meta.standbyHosts.join() !== 'b.example:2') standbyWrong.push(`${key}: metadata ${JSON.stringify(meta)}`)
      const view = await b.standbyView('totals', key, { maxLagRecords: 0 })
      const value = view.store<string, Totals>('totals').get(key)
      standbyReads++
      if (view.lagRecords !== 0 || JSON.stringify(value) !== JSON.stringify(committed.get(key))) standbyWrong.push(`${key}: lag ${view.lagRecords}, ${JSON.stringify(value)} != ${JSON.stringify(committed.get(key))}`)
    }
    t.same(standbyWrong, [], `${standbyReads} keys read from B's standby copies at lag 0, all exact`)
    t.same((await b.allLocalTaskLags()).map(l => `${l.role} ${l.lagRecords}`).sort(), ['active 0', 'active 0', 'standby 0', 'standby 0'], 'B\'s copies and their lags')

    // A leaves: B takes A's tasks over from its standbys.
    const restored: TaskRestored[] = []
    b.onTaskRestored(r => { restored.push(r) })
    await a.close()
    running.splice(running.indexOf(a), 1)
    await until(() => stable() && b.localTasks().length === PARTITIONS, 'B alone with every task')
    t.same(b.localStandbyTasks(), [], 'B alone: its standbys became actives')
    for (const task of standbyOnB) {
      const r = restored.find(x => x.task === task)
      t.ok(r !== undefined, `${task} restored on B`)
      // The standby had applied the whole changelog: the restore reads only what came after.
      t.ok(r!.records < 20, `${task}: ${r!.records} records restored (its changelog holds ${ends.get(Number(task.split('_')[1]))})`)
    }

    // Every key answers exactly what the input says, from the stores the standbys kept.
    await produce(400)
    await until(allCommitted, 'B processed the last records')
    const expected = oracle(produced)
    const wrong: string[] = []
    for (let k = 0; k < KEYS; k++) {
      const key = keyOf(k)
      const value = b.store<string, Totals>('totals').get(key)
      if (JSON.stringify(value) !== JSON.stringify(expected.get(key))) wrong.push(`${key}: ${JSON.stringify(value)} != ${JSON.stringify(expected.get(key))}`)
    }
    t.same(wrong, [], `all ${KEYS} keys exact after the takeover`)
  })
}

for (const backend of BACKENDS) {
  t.test(`warm-up replicas on the ${backend.name} log: a new instance warms up, a probing rebalance hands the tasks over`, async t => {
    const { log, cleanup } = await backend.open()
    const input = uniqueName('wu-in')
    const output = uniqueName('wu-out')
    const appId = uniqueName('wu')
    const changelog = `${appId}-totals-changelog`
    await log.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS }])
    const stateA = tempStateDir()
    const stateB = tempStateDir()
    const running: StreamsApplication[] = []
    t.teardown(async () => {
      for (const app of running) await app.close()
      await log.admin.deleteTopics([input, output, changelog])
      await cleanup()
      stateA.remove(); stateB.remove()
    })
    const start = async (stateDir: string, server: string): Promise<StreamsApplication> => {
      const app = new StreamsApplication(topology(input, output), {
        log,
        config: {
          applicationId: appId, stateDir, applicationServer: server, sessionTimeoutMs: 6000, commitIntervalMs: 50, tableRecordCache: false,
          // A new instance is never caught up (its lag is the whole changelog), the old one is.
          numStandbyReplicas: 0, acceptableRecoveryLag: 5, maxWarmupReplicas: 2, probingRebalanceIntervalMs: 1500
        }
      })
      app.onStateChange(state => { if (state === 'ERROR') t.fail(`${server} failed: ${String(app.error)}`) })
      await app.start()
      running.push(app)
      return app
    }
    const producer = await log.createProducer({ clientId: 'wu-producer' })
    t.teardown(() => producer.close())
    const batch = []
    for (let i = 0; i < 6000; i++) batch.push({ topic: input, key: Buffer.from(keyOf(i)), value: Buffer.from(JSON.stringify({ i, amount: amountOf(i) })) })
    await producer.send(batch)
    const inputs: TopicPartition[] = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: input, partition }))
    const a = await start(stateA.dir, 'a.example:1')
    await until(async () => (await log.admin.listCommittedOffsets(appId, inputs)).reduce((n, o) => n + Number(o.offset), 0) >= 6000, 'A processed the input')

    const b = await start(stateB.dir, 'b.example:2')
    const restored: TaskRestored[] = []
    b.onTaskRestored(r => { restored.push(r) })
    let sawWarmups = false
    await until(() => {
      if (b.localStandbyTasks().some(s => s.warmup)) sawWarmups = true
      return sawWarmups && a.state === 'RUNNING' && b.state === 'RUNNING' && a.localTasks().length === 2 && b.localTasks().length === 2 &&
        [...a.localTasks(), ...b.localTasks()].every(x => x.ready)
    }, 'B warmed up and took two tasks over')
    t.ok(sawWarmups, 'B first got warm-up replicas (A kept every active meanwhile)')
    t.same(b.localStandbyTasks(), [], 'no warm-up left once promoted')
    const onB = b.localTasks().map(x => x.task)
    for (const task of onB) {
      const r = restored.find(x => x.task === task)
      t.ok(r !== undefined && r.records < 20, `${task} restored ${r?.records} records on B: its warm-up had the rest`)
    }
    const expected = oracle(6000)
    const wrong: string[] = []
    for (let k = 0; k < KEYS; k++) {
      const key = keyOf(k)
      const owner = running.find(app => app.queryMetadataForKey('totals', key).local)!
      const value = owner.store<string, Totals>('totals').get(key)
      if (JSON.stringify(value) !== JSON.stringify(expected.get(key))) wrong.push(key)
    }
    t.same(wrong, [], `all ${KEYS} keys exact after the hand-over`)
  })
}
