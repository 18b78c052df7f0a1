// Global tables on both backends: two instances of one application each hold the whole global
// table (every partition) and answer it in full, both join their share of the stream against it,
// records written before the start join (the global store is caught up first), an update of the
// table reaches both, and a restart resumes from the checkpoint, applying only
// the records written while the instance was down.
import t from 'tap'
import type { Log } from '../../../log/log-port.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { BACKENDS, readUntil, tempStateDir, uniqueName } from './backends.ts'

const PARTITIONS = 3
const CUSTOMERS = 30
const ORDERS = 60
const str = Serdes.string()

function topology (customers: string, orders: string, output: string) {
  const builder = new StreamsBuilder()
  const table = builder.globalTable<string, string>(customers, { valueSerde: str }, { storeName: 'customers' })
  builder.stream<string, string>(orders, { valueSerde: str })
    .join(table, (_orderId, customer) => customer, (customer, name, orderId) => `${orderId}:${customer}:${name}`)
    .to(output, { valueSerde: str })
  return builder.build()
}

async function metricSum (app: StreamsApplication, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await app.registry.getMetricsAsJSON()).find(m => m.name === name)
  return (metric?.values ?? []).filter(v => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((n, v) => n + v.value, 0)
}

/** Polls the store (a query: nothing to await) until `done` holds. */
async function until (what: string, done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

for (const backend of BACKENDS) {
  t.test(`global table on the ${backend.name} log`, async t => {
    const { log, cleanup } = await backend.open()
    const customers = uniqueName('gt-customers')
    const orders = uniqueName('gt-orders')
    const output = uniqueName('gt-out')
    const appId = uniqueName('gt')
    await log.admin.createTopics([customers, orders, output].map(name => ({ name, partitions: PARTITIONS })))
    const states = [tempStateDir(), tempStateDir()]
    const apps: StreamsApplication[] = []
    t.teardown(async () => {
      for (const app of apps) await app.close().catch(() => {})
      await log.admin.deleteGroup(appId).catch(() => {})
      await log.admin.deleteTopics([customers, orders, output])
      await cleanup()
      for (const s of states) s.remove()
    })
    const start = async (l: Log, i: number): Promise<StreamsApplication> => {
      const app = new StreamsApplication(topology(customers, orders, output), { log: l, config: { applicationId: appId, stateDir: states[i]!.dir, commitIntervalMs: 200 } })
      apps.push(app)
      await app.start()
      return app
    }
    const producer = await log.createProducer({ clientId: 'gt-producer' })
    t.teardown(() => producer.close())
    const names = new Map<string, string>()
    const customerRecords = []
    for (let i = 0; i < CUSTOMERS; i++) {
      names.set(`c${i}`, `name-${i}`)
      customerRecords.push({ topic: customers, key: Buffer.from(`c${i}`), value: Buffer.from(`name-${i}`) })
    }
    await producer.send(customerRecords)
    // Half of the orders are there before the instances start: they join only because the global
    // store is caught up before any task processes.
    const orderRecords = []
    for (let i = 0; i < ORDERS; i++) orderRecords.push({ topic: orders, key: Buffer.from(`o${i}`), value: Buffer.from(`c${i % CUSTOMERS}`) })
    await producer.send(orderRecords.slice(0, ORDERS / 2))

    const [a, b] = [await start(log, 0), await start(log, 1)]
    await Promise.all([a.waitForState('RUNNING'), b.waitForState('RUNNING')])
    // The group settles (polled: the assignment has no event of its own to await).
    await until('A and B sharing the tasks', () => a.state === 'RUNNING' && b.state === 'RUNNING' && a.localTasks().length > 0 && b.localTasks().length > 0 && a.localTasks().length + b.localTasks().length === PARTITIONS, 90_000)
    const full = Object.fromEntries(names)
    const answers = (app: StreamsApplication): Record<string, string | undefined> =>
      Object.fromEntries([...names.keys()].map(k => [k, app.globalStore<string, string>('customers').get(k)]))
    for (const [label, app] of [['a', a], ['b', b]] as const) {
      t.same(answers(app), full, `instance ${label} answers every key of the global table`)
      t.equal(app.store<string, string>('customers').range(undefined, undefined).length, CUSTOMERS, `instance ${label} scans all of it through store() too`)
      t.equal(await metricSum(app, 'streams_global_store_records_applied_total', { phase: 'bootstrap' }), CUSTOMERS, `instance ${label} bootstrapped from the beginning`)
      t.equal(await metricSum(app, 'streams_global_store_lag_records'), 0, `instance ${label} has no lag after the bootstrap`)
    }

    await producer.send(orderRecords.slice(ORDERS / 2))
    const out = await readUntil(log, output, PARTITIONS, all => all.length >= ORDERS)
    t.same(out.map(r => r.value!.toString()).sort(), orderRecords.map((_, i) => `o${i}:c${i % CUSTOMERS}:name-${i % CUSTOMERS}`).sort(), 'every order joined its customer')
    const consumedA = await metricSum(a, 'streams_records_consumed_total', { topic: orders })
    const consumedB = await metricSum(b, 'streams_records_consumed_total', { topic: orders })
    t.ok(consumedA > 0 && consumedB > 0, `both instances joined their share (${consumedA} + ${consumedB}, the first half possibly read by A alone)`)

    // An update of the table reaches both instances, and the next lookups see it.
    await producer.send([{ topic: customers, key: Buffer.from('c0'), value: Buffer.from('renamed') }, { topic: customers, key: Buffer.from('c1'), value: null }])
    await until('both instances to apply the update', () => [a, b].every(app => app.globalStore<string, string>('customers').get('c0') === 'renamed' && app.globalStore('customers').get('c1') === undefined))
    names.set('c0', 'renamed')
    names.delete('c1')
    await producer.send([{ topic: orders, key: Buffer.from('late-0'), value: Buffer.from('c0') }, { topic: orders, key: Buffer.from('late-1'), value: Buffer.from('c1') }, { topic: orders, key: Buffer.from('late-2'), value: Buffer.from('c2') }])
    const after = await readUntil(log, output, PARTITIONS, all => all.length >= ORDERS + 2)
    t.same(after.slice(ORDERS).map(r => r.value!.toString()).sort(), ['late-0:c0:renamed', 'late-2:c2:name-2'], 'the update is joined; the deleted customer\'s order is dropped')
    t.ok([a, b].every(app => app.globalStore('customers').state === 'READY'), 'both global stores READY')

    // Restart: the checkpoint brings back what the store held; only the new records are read.
    await a.close()
    await b.close()
    apps.length = 0
    await producer.send([{ topic: customers, key: Buffer.from('c99'), value: Buffer.from('new-customer') }, { topic: customers, key: Buffer.from('c2'), value: Buffer.from('renamed-2') }])
    names.set('c99', 'new-customer')
    names.set('c2', 'renamed-2')
    const restarted = await start(log, 0)
    await restarted.waitForState('RUNNING')
    t.equal(await metricSum(restarted, 'streams_global_store_records_applied_total', { phase: 'bootstrap' }), 2, 'the restart applied only the 2 records written while it was down')
    t.same(answers(restarted), Object.fromEntries(names), 'and answers the whole table')
    await restarted.close()
  })
}
