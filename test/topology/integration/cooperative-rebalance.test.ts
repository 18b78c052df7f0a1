// Cooperative rebalancing in the engine (docs/engine.md "Group protocol and rebalancing"), on both
// logs: instance A runs alone, B joins while records flow, then B leaves. Tasks that stay on A
// through each rebalance never suspend (streams_tasks_suspended_total names only the tasks that
// moved away) and their keys answer queries throughout (A is queried continuously: never
// STORE_NOT_READY or KEY_OWNED_ELSEWHERE for a key of a kept task); exactly-once counts equal the input at the end.
import t from 'tap'
import type { Log } from '../../../log/log-port.ts'
import { isRewardsError } from '../../../lib/errors.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { checkExactlyOnce, type Totals } from '../../fault/exactly-once-check.ts'
import { amountOf, keyOf } from '../../fault/fixtures/aggregating-workload.ts'
import { BACKENDS, readUntil, tempStateDir, uniqueName } from './backends.ts'

const PARTITIONS = 6
const RECORDS = 12_000
const KEYS = 60

function topology (input: string, output: string) {
  const builder = new StreamsBuilder()
  builder.stream<string, { i: number, amount: number }>(input)
    .groupByKey()
    .aggregate<Totals>(() => ({ count: 0, sum: 0 }), (_k, v, agg) => ({ count: agg.count + 1, sum: agg.sum + v.amount }), { storeName: 'totals', valueSerde: Serdes.json<Totals>() })
    .toStream()
    .to(output, { valueSerde: Serdes.json<Totals>() })
  return builder.build()
}

async function until (condition: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function suspendedTasks (app: StreamsApplication): Promise<string[]> {
  const metric = await app.registry.getSingleMetric('streams_tasks_suspended_total')?.get()
  return (metric?.values ?? []).filter(v => v.value > 0).map(v => String(v.labels.task)).sort()
}

for (const backend of BACKENDS) {
  t.test(`cooperative: kept tasks never stop on the ${backend.name} log`, async t => {
    const { log, cleanup } = await backend.open()
    const input = uniqueName('coop-in')
    const output = uniqueName('coop-out')
    const appId = uniqueName('coop')
    await log.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS }])
    const stateA = tempStateDir()
    const stateB = tempStateDir()
    const running: StreamsApplication[] = []
    t.teardown(async () => {
      for (const app of running) await app.close()
      await log.admin.deleteTopics([input, output, `${appId}-totals-changelog`])
      await cleanup()
      stateA.remove(); stateB.remove()
    })
    const start = async (l: Log, stateDir: string, server: string): Promise<StreamsApplication> => {
      const app = new StreamsApplication(topology(input, output), {
        log: l, config: { applicationId: appId, stateDir, applicationServer: server, sessionTimeoutMs: 6000, commitIntervalMs: 50, tableRecordCache: false, rebalanceProtocol: 'cooperative' }
      })
      app.onStateChange(state => { if (state === 'ERROR') t.fail(`${server} failed: ${String(app.error)}`) })
      await app.start()
      running.push(app)
      return app
    }
    const tasksOf = (app: StreamsApplication): Set<string> => new Set(app.localTasks().filter(x => x.ready).map(x => x.task))
    const stable = (): boolean => running.every(a => a.state === 'RUNNING') && running.reduce((n, a) => n + tasksOf(a).size, 0) === PARTITIONS

    const producer = await log.createProducer({ clientId: 'coop-producer' })
    let produced = 0
    const producing = (async () => {
      while (produced < RECORDS) {
        const batch = []
        for (const end = Math.min(RECORDS, produced + 200); produced < end; produced++) {
          batch.push({ topic: input, key: Buffer.from(keyOf(produced % KEYS)), value: Buffer.from(JSON.stringify({ i: produced, amount: amountOf(produced) })) })
        }
        await producer.send(batch)
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    })()

    const a = await start(log, stateA.dir, 'a.example:1')
    await until(stable, 'A alone running')
    const aloneTasks = tasksOf(a)
    t.equal(aloneTasks.size, PARTITIONS)

    // Query A continuously for every key; per task (as A alone saw it), the answers and the misses
    // (STORE_NOT_READY, or KEY_OWNED_ELSEWHERE: a suspended task is not local any more).
    const taskOfKey = new Map(Array.from({ length: KEYS }, (_, k) => [keyOf(k), a.queryMetadataForKey('totals', keyOf(k)).task]))
    const missed = new Map<string, number>()
    const answered = new Map<string, number>()
    let querying = true
    const querier = (async () => {
      while (querying) {
        for (const [key, task] of taskOfKey) {
          try {
            a.store<string, Totals>('totals').get(key)
            answered.set(task, (answered.get(task) ?? 0) + 1)
          } catch (error) {
            if (!isRewardsError(error, 'STORE_NOT_READY') && !isRewardsError(error, 'KEY_OWNED_ELSEWHERE')) throw error
            missed.set(task, (missed.get(task) ?? 0) + 1)
          }
        }
        await new Promise(resolve => setImmediate(resolve))
      }
    })()

    const b = await start(log, stateB.dir, 'b.example:2')
    await until(() => stable() && tasksOf(b).size > 0, 'A and B sharing the tasks')
    t.ok(produced < RECORDS, `B joined while records flowed (${produced}/${RECORDS})`)
    const keptByA = [...aloneTasks].filter(task => tasksOf(a).has(task)).sort()
    const movedToB = [...tasksOf(b)].sort()
    t.ok(keptByA.length > 0 && movedToB.length > 0, `A kept ${keptByA.join(',')}, B took ${movedToB.join(',')}`)
    t.same(await suspendedTasks(a), movedToB, 'A suspended only the tasks that moved to B')

    await b.close()
    running.splice(running.indexOf(b), 1)
    await until(() => stable() && tasksOf(a).size === PARTITIONS, 'A alone again')
    t.same(await suspendedTasks(a), movedToB, 'B leaving suspended nothing on A')
    querying = false
    await querier
    t.ok(movedToB.some(task => (missed.get(task) ?? 0) > 0), 'the querier does see the moved tasks leave A')
    for (const task of keptByA) {
      t.equal(missed.get(task) ?? 0, 0, `task ${task} (kept by A) answered every query: never STORE_NOT_READY or KEY_OWNED_ELSEWHERE (${answered.get(task) ?? 0} answers)`)
      t.ok((answered.get(task) ?? 0) > 0, `task ${task} answered queries`)
    }

    await producing
    await producer.close()
    const outputs = await readUntil(log, output, PARTITIONS, all => all.length >= RECORDS, 240_000)
    const inputs = await readUntil(log, input, PARTITIONS, all => all.length >= RECORDS, 240_000)
    const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: input, partition }))
    for (;;) {
      const committed = await log.admin.listCommittedOffsets(appId, tps)
      if (committed.reduce((n, o) => n + Number(o.offset), 0) >= RECORDS) break
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    const store: Record<string, Totals> = {}
    for (let k = 0; k < KEYS; k++) {
      const value = a.store<string, Totals>('totals').get(keyOf(k))
      if (value) store[keyOf(k)] = value
    }
    const { problems } = checkExactlyOnce(
      inputs.map(r => ({ key: r.key!.toString(), value: JSON.parse(r.value!.toString()) as { i: number, amount: number } })),
      outputs.map(r => ({ key: r.key!.toString(), value: JSON.parse(r.value!.toString()) as Totals })),
      store
    )
    t.same(problems, [], 'no loss, no double counting across the cooperative rebalances')
    t.equal(outputs.length, RECORDS, 'one output per input')
  })
}
