// Rebalance while records flow: instance A runs, B joins, A leaves, A comes back. Nothing is lost
// or counted twice (every key's updates are exactly 1..N), and at every stable point the
// key -> instance metadata names the instance that really owns the key, on both instances.
import t from 'tap'
import type { Log } from '../../../log/log-port.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { checkExactlyOnce, type Totals } from '../../fault/exactly-once-check.ts'
import { amountOf, keyOf } from '../../fault/fixtures/aggregating-workload.ts'
import { BACKENDS, readUntil, tempStateDir, uniqueName } from './backends.ts'

const PARTITIONS = 6
const RECORDS = 30_000

function topology (input: string, output: string) {
  const builder = new StreamsBuilder()
  builder.stream<string, { i: number, amount: number }>(input)
    .groupByKey()
    .aggregate<Totals>(() => ({ count: 0, sum: 0 }), (_k, v, agg) => ({ count: agg.count + 1, sum: agg.sum + v.amount }), { storeName: 'totals', valueSerde: Serdes.json<Totals>() })
    .toStream()
    .to(output, { valueSerde: Serdes.json<Totals>() })
  return builder.build()
}

/** Resolves when `condition` holds (checked on every state change and at most every 50 ms). */
async function until (condition: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

for (const backend of BACKENDS) {
  t.test(`rebalance with records flowing on the ${backend.name} log`, async t => {
    const { log, cleanup } = await backend.open()
    const input = uniqueName('rb-in')
    const output = uniqueName('rb-out')
    const appId = uniqueName('rb')
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
        log: l, config: { applicationId: appId, stateDir, applicationServer: server, sessionTimeoutMs: 6000, commitIntervalMs: 50, tableRecordCache: false }
      })
      app.onStateChange(state => { if (state === 'ERROR') t.fail(`${server} failed: ${String(app.error)}`) })
      await app.start()
      running.push(app)
      return app
    }
    const stop = async (app: StreamsApplication): Promise<void> => {
      await app.close()
      running.splice(running.indexOf(app), 1)
    }
    const stable = (): boolean => running.length > 0 && running.every(a => a.state === 'RUNNING') &&
      running.reduce((n, a) => n + a.localTasks().length, 0) === PARTITIONS &&
      running.every(a => a.localTasks().every(task => task.ready))
    const checkMetadata = (label: string): void => {
      let wrong = 0
      for (let k = 0; k < 50; k++) {
        const key = keyOf(k)
        const views = running.map(a => a.queryMetadataForKey('totals', key))
        const owners = running.filter(a => a.queryMetadataForKey('totals', key).local)
        if (owners.length !== 1) { wrong++; continue }
        if (views.some(v => v.host !== owners[0]!.config.applicationServer)) wrong++
      }
      t.equal(wrong, 0, `${label}: every instance names the owner of every key`)
    }

    const producer = await log.createProducer({ clientId: 'rb-producer' })
    let produced = 0
    const producing = (async () => {
      while (produced < RECORDS) {
        const batch = []
        for (const end = Math.min(RECORDS, produced + 250); produced < end; produced++) {
          batch.push({ topic: input, key: Buffer.from(keyOf(produced)), value: Buffer.from(JSON.stringify({ i: produced, amount: amountOf(produced) })) })
        }
        await producer.send(batch)
        // Paced over ~12 s so the rebalances happen while records flow.
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    })()

    const a = await start(log, stateA.dir, 'a.example:1')
    await until(stable, 'A alone running')
    checkMetadata('A alone')
    const b = await start(log, stateB.dir, 'b.example:2')
    await until(() => stable() && b.localTasks().length > 0 && a.localTasks().length > 0, 'A and B sharing the tasks')
    checkMetadata('A and B')
    t.ok(produced < RECORDS, `B joined while records flowed (${produced}/${RECORDS})`)
    await stop(a)
    await until(() => stable() && b.localTasks().length === PARTITIONS, 'B alone')
    checkMetadata('B alone')
    const a2 = await start(log, stateA.dir, 'a.example:1')
    await until(() => stable() && a2.localTasks().length > 0, 'A back')
    checkMetadata('A back with B')
    await producing
    await producer.close()

    // Generous bounds: on a loaded 2-core machine 30k records through two instances can be slow.
    const outputs = await readUntil(log, output, PARTITIONS, all => all.length >= RECORDS, 240_000)
    const inputs = await readUntil(log, input, PARTITIONS, all => all.length >= RECORDS, 240_000)
    // Let both instances commit everything, then query each key from its owner.
    const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: input, partition }))
    for (;;) {
      const committed = await log.admin.listCommittedOffsets(appId, tps)
      if (committed.reduce((n, o) => n + Number(o.offset), 0) >= RECORDS) break
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    await until(stable, 'stable before the final queries')
    const store: Record<string, Totals> = {}
    for (let k = 0; k < 50; k++) {
      const key = keyOf(k)
      const owner = running.find(app => app.queryMetadataForKey('totals', key).local)!
      const value = owner.store<string, Totals>('totals').get(key)
      if (value) store[key] = value
    }
    const { problems } = checkExactlyOnce(
      inputs.map(r => ({ key: r.key!.toString(), value: JSON.parse(r.value!.toString()) as { i: number, amount: number } })),
      outputs.map(r => ({ key: r.key!.toString(), value: JSON.parse(r.value!.toString()) as Totals })),
      store
    )
    t.same(problems, [], 'no loss, no double counting across the rebalances')
    t.equal(outputs.length, RECORDS, 'one output per input')
  })
}
