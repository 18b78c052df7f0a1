// Repartition topics, KTable groupBy with a subtractor and KTable-KTable joins, end to end on
// each log backend: the application creates `<applicationId>-<name>-repartition` at start, the
// upstream task writes it in its transaction (exactly-once) and the downstream task reads it
// read_committed; two join sides with different partition counts are refused at start.
import t from 'tap'
import { isRewardsError } from '../../../lib/errors.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import type { ProducerRecord } from '../../../log/log-port.ts'
import { BACKENDS, latestUntil, produce, readUntil, tempStateDir, uniqueName } from './backends.ts'

// Record timestamps near now: the broker's time-based retention (7 days) deletes older records.
const T0 = Date.now()
const json = (v: unknown): Buffer | null => v === null ? null : Buffer.from(JSON.stringify(v))

for (const backend of BACKENDS) {
  t.test(`word count through a repartition topic on the ${backend.name} log, exactly-once`, async t => {
    const { log, cleanup } = await backend.open()
    const lines = uniqueName('lines')
    const counts = uniqueName('counts')
    const appId = uniqueName('wc-rep')
    await log.admin.createTopics([{ name: lines, partitions: 2 }, { name: counts, partitions: 3 }])
    const state = tempStateDir()
    const builder = new StreamsBuilder()
    builder.stream<string, string>(lines, { valueSerde: Serdes.string() })
      .flatMap((_k, line) => line.split(' ').map(word => ({ key: word, value: word })))
      .groupByKey({ name: 'words' })
      .count({ storeName: 'counts' })
      .toStream()
      .to(counts, { valueSerde: Serdes.json<number>() })
    // Every update forwarded (no record cache): each word's outputs must be exactly 1, 2, … N.
    const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2', tableRecordCache: false } })
    const repartition = `${appId}-words-repartition`
    t.teardown(async () => {
      await app.close()
      await log.admin.deleteTopics([lines, counts, repartition, `${appId}-counts-changelog`])
      await cleanup()
      state.remove()
    })
    await app.start()
    const [described] = await log.admin.describeTopics([repartition])
    t.equal(described?.partitions, 2, 'the repartition topic was created with its writer\'s partition count')
    await app.waitForState('RUNNING')

    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon']
    const expected = new Map<string, number>()
    const records: ProducerRecord[] = []
    for (let i = 0; i < 300; i++) {
      const line = [words[i % 5]!, words[(i * 3) % 5]!, words[(i >> 2) % 5]!]
      for (const w of line) expected.set(w, (expected.get(w) ?? 0) + 1)
      // Line keys spread the words of one word over both input partitions.
      records.push({ topic: lines, key: Buffer.from(`line-${i}`), value: Buffer.from(line.join(' ')), timestamp: T0 + i })
    }
    await produce(log, records)

    const seen = new Map<string, number[]>()
    await readUntil(log, counts, 3, all => {
      seen.clear()
      for (const r of all) {
        const word = r.key!.toString()
        seen.set(word, [...(seen.get(word) ?? []), JSON.parse(r.value!.toString()) as number])
      }
      return words.every(w => seen.get(w)?.at(-1) === expected.get(w))
    })
    for (const w of words) {
      const n = expected.get(w)!
      t.same(seen.get(w), Array.from({ length: n }, (_, i) => i + 1), `${w}: updates 1..${n}, each once`)
    }
    const store = app.store<string, number>('counts')
    t.equal(store.state === 'READY' || store.state === 'RESTORING', true)
  })

  t.test(`KTable groupBy with a subtractor and table-table joins on the ${backend.name} log`, async t => {
    const { log, cleanup } = await backend.open()
    const employees = uniqueName('employees')
    const depts = uniqueName('depts')
    const payrollOut = uniqueName('payroll')
    const inner = uniqueName('inner')
    const left = uniqueName('left')
    const outer = uniqueName('outer')
    const appId = uniqueName('ktable')
    await log.admin.createTopics([employees, depts, payrollOut, inner, left, outer].map(name => ({ name, partitions: 3 })))
    const state = tempStateDir()
    type Employee = { dept: string, salary: number }
    const builder = new StreamsBuilder()
    const staff = builder.table<string, Employee>(employees, {}, { storeName: 'employees' })
    const payroll = staff.groupBy((_id, e) => ({ key: e.dept, value: e.salary }), { name: 'by-dept', valueSerde: Serdes.json<number>() })
      .aggregate(() => 0, (_d, s, total) => total + s, (_d, s, total) => total - s, { storeName: 'payroll', valueSerde: Serdes.json<number>() })
    payroll.toStream().to(payrollOut, { valueSerde: Serdes.json<number>() })
    // The payroll table (read from the repartition topic) joined with a table of the input.
    const managers = builder.table<string, string>(depts, { valueSerde: Serdes.string() }, { storeName: 'depts' })
    const show = (total: number | undefined, manager: string | undefined): string => `${total ?? '-'}/${manager ?? '-'}`
    payroll.join(managers, show, { storeName: 'inner-join', valueSerde: Serdes.string() }).toStream().to(inner, { valueSerde: Serdes.json<string>() })
    payroll.leftJoin(managers, show).toStream().to(left, { valueSerde: Serdes.json<string>() })
    payroll.outerJoin(managers, show).toStream().to(outer, { valueSerde: Serdes.json<string>() })
    const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2' } })
    t.teardown(async () => {
      await app.close()
      await log.admin.deleteTopics([employees, depts, payrollOut, inner, left, outer, `${appId}-by-dept-repartition`,
        ...['employees', 'payroll', 'depts', 'inner-join'].map(s => `${appId}-${s}-changelog`)])
      await cleanup()
      state.remove()
    })
    await app.start()
    const [described] = await log.admin.describeTopics([`${appId}-by-dept-repartition`])
    t.equal(described?.partitions, 3)
    await app.waitForState('RUNNING')

    const emp = (id: string, v: Employee | null, at: number): ProducerRecord => ({ topic: employees, key: Buffer.from(id), value: json(v), timestamp: T0 + at })
    const dept = (id: string, manager: string | null, at: number): ProducerRecord => ({ topic: depts, key: Buffer.from(id), value: manager === null ? null : Buffer.from(manager), timestamp: T0 + at })
    await produce(log, [
      emp('ann', { dept: 'eng', salary: 100 }, 1), emp('bob', { dept: 'eng', salary: 80 }, 2), emp('cid', { dept: 'ops', salary: 50 }, 3),
      dept('eng', 'eve', 4), dept('ops', 'oz', 5), dept('hr', 'hal', 6)
    ])
    // Let the first round settle so that the moves below are moves (not first inserts).
    await latestUntil(log, payrollOut, 3, m => m.get('eng') === 180 && m.get('ops') === 50)
    await produce(log, [
      emp('bob', { dept: 'ops', salary: 90 }, 10), // moves: eng -80, ops +90
      emp('cid', null, 11), // deleted: ops -50
      dept('ops', null, 12) // the ops manager leaves
    ])
    const totals = await latestUntil(log, payrollOut, 3, m => m.get('eng') === 100 && m.get('ops') === 90)
    t.same(Object.fromEntries(totals), { eng: 100, ops: 90 }, 'bob left eng for ops, cid left ops')
    const innerRows = await latestUntil(log, inner, 3, m => m.get('eng') === '100/eve' && m.get('ops') === null)
    t.same(Object.fromEntries(innerRows), { eng: '100/eve', ops: null }, 'inner: ops lost its manager, its row is deleted')
    const leftRows = await latestUntil(log, left, 3, m => m.get('eng') === '100/eve' && m.get('ops') === '90/-')
    t.same(Object.fromEntries(leftRows), { eng: '100/eve', ops: '90/-' })
    const outerRows = await latestUntil(log, outer, 3, m => m.get('eng') === '100/eve' && m.get('ops') === '90/-' && m.get('hr') === '-/hal')
    t.same(Object.fromEntries(outerRows), { eng: '100/eve', ops: '90/-', hr: '-/hal' })
  })

  t.test(`a re-keyed stream joined with a table gets the table's partition count on the ${backend.name} log`, async t => {
    const { log, cleanup } = await backend.open()
    const orders = uniqueName('orders')
    const customers = uniqueName('customers')
    const enriched = uniqueName('enriched')
    const appId = uniqueName('rekey-join')
    await log.admin.createTopics([{ name: orders, partitions: 2 }, { name: customers, partitions: 3 }, { name: enriched, partitions: 1 }])
    const state = tempStateDir()
    const repartition = `${appId}-enrich-repartition`
    const topologyOf = (): StreamsBuilder => {
      const builder = new StreamsBuilder()
      const table = builder.table<string, { tier: string }>(customers, {}, { storeName: 'customers' })
      builder.stream<string, { customer: string, amount: number }>(orders)
        .selectKey((_k, order) => order.customer)
        .join(table, (order, customer) => `${order.amount}@${customer.tier}`, 'enrich')
        .to(enriched, { valueSerde: Serdes.json<string>() })
      return builder
    }
    const app = new StreamsApplication(topologyOf().build(), { log, config: { applicationId: appId, stateDir: state.dir, maxTaskIdleMs: 200 } })
    t.teardown(async () => {
      await app.close()
      await log.admin.deleteTopics([orders, customers, enriched, repartition, `${appId}-customers-changelog`])
      await cleanup()
      state.remove()
    })
    await app.start()
    t.equal((await log.admin.describeTopics([repartition]))[0]?.partitions, 3, 'co-partitioned with the table (3), not its writer (2)')
    await app.waitForState('RUNNING')
    await produce(log, [
      { topic: customers, key: Buffer.from('c1'), value: json({ tier: 'gold' }), timestamp: T0 },
      { topic: customers, key: Buffer.from('c2'), value: json({ tier: 'silver' }), timestamp: T0 }
    ])
    await produce(log, ['c1', 'c2', 'c3', 'c2'].map((customer, i) => ({ topic: orders, key: Buffer.from(`order-${i}`), value: json({ customer, amount: i }), timestamp: T0 + 1000 + i })))
    const out = await readUntil(log, enriched, 1, all => all.length >= 3)
    t.same(out.map(r => `${r.key!.toString()}=${JSON.parse(r.value!.toString()) as string}`).sort(), ['c1=0@gold', 'c2=1@silver', 'c2=3@silver'])

    // A second application with the same id finds the repartition topic with 3 partitions while
    // its topology would need 2 (no table to be co-partitioned with): refused.
    const other = new StreamsBuilder()
    other.stream<string, { customer: string }>(orders).selectKey((_k, o) => o.customer).join(other.table(enriched, {}, { storeName: 'e' }), (o, e) => [o, e], 'enrich').to(enriched)
    const state2 = tempStateDir()
    t.teardown(() => { state2.remove() })
    const app2 = new StreamsApplication(other.build(), { log, config: { applicationId: appId, stateDir: state2.dir } })
    const error = await app2.start().then(() => null, (e: unknown) => e)
    t.match((error as Error | null)?.message, /repartition topic .*-enrich-repartition has 3 partitions but the topology needs 1/)
    await app2.close()
  })

  t.test(`two instances share the tasks of both sub-topologies on the ${backend.name} log`, async t => {
    const { log, cleanup } = await backend.open()
    const lines = uniqueName('lines2')
    const counts = uniqueName('counts2')
    const appId = uniqueName('wc-two')
    await log.admin.createTopics([{ name: lines, partitions: 4 }, { name: counts, partitions: 1 }])
    const states = [tempStateDir(), tempStateDir()]
    const topology = (): ReturnType<StreamsBuilder['build']> => {
      const builder = new StreamsBuilder()
      builder.stream<string, string>(lines, { valueSerde: Serdes.string() })
        .flatMap((_k, line) => line.split(' ').map(word => ({ key: word, value: word })))
        .groupByKey({ name: 'words' })
        .count({ storeName: 'counts' })
        .toStream()
        .to(counts, { valueSerde: Serdes.json<number>() })
      return builder.build()
    }
    const apps = states.map(state => new StreamsApplication(topology(), { log, config: { applicationId: appId, stateDir: state.dir, processingGuarantee: 'exactly_once_v2', tableRecordCache: false, numStandbyReplicas: 0 } }))
    t.teardown(async () => {
      for (const app of apps) await app.close()
      await log.admin.deleteTopics([lines, counts, `${appId}-words-repartition`, `${appId}-counts-changelog`])
      await cleanup()
      for (const state of states) state.remove()
    })
    for (const app of apps) await app.start()
    await Promise.all(apps.map(app => app.waitForState('RUNNING')))
    const expected = new Map<string, number>()
    const records: ProducerRecord[] = []
    for (let i = 0; i < 200; i++) {
      const line = [`w${i % 7}`, `w${(i * 5) % 11}`]
      for (const w of line) expected.set(w, (expected.get(w) ?? 0) + 1)
      records.push({ topic: lines, key: Buffer.from(`line-${i}`), value: Buffer.from(line.join(' ')), timestamp: T0 + i })
    }
    await produce(log, records)
    const seen = new Map<string, number[]>()
    await readUntil(log, counts, 1, all => {
      seen.clear()
      for (const r of all) seen.set(r.key!.toString(), [...(seen.get(r.key!.toString()) ?? []), JSON.parse(r.value!.toString()) as number])
      return [...expected].every(([w, n]) => seen.get(w)?.at(-1) === n)
    })
    for (const [w, n] of expected) t.same(seen.get(w), Array.from({ length: n }, (_, i) => i + 1), `${w}: 1..${n} once each`)
    const tasks = apps.map(app => app.localTasks().map(x => x.task))
    t.equal(tasks.flat().length, 8, 'four tasks per sub-topology (the repartition topic has the input\'s 4 partitions)')
    t.ok(tasks.every(list => list.length > 0), `both instances have tasks: ${JSON.stringify(tasks)}`)
  })

  t.test(`a join of tables with different partition counts is refused at start on the ${backend.name} log`, async t => {
    const { log, cleanup } = await backend.open()
    const a = uniqueName('copart-a')
    const b = uniqueName('copart-b')
    const appId = uniqueName('copart')
    await log.admin.createTopics([{ name: a, partitions: 2 }, { name: b, partitions: 3 }])
    const state = tempStateDir()
    const builder = new StreamsBuilder()
    builder.table(a, {}, { storeName: 'a' }).join(builder.table(b, {}, { storeName: 'b' }), (x, y) => [x, y]).toStream().to(a)
    const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir } })
    t.teardown(async () => {
      await app.close()
      await log.admin.deleteTopics([a, b])
      await cleanup()
      state.remove()
    })
    const error = await app.start().then(() => null, (e: unknown) => e)
    t.ok(isRewardsError(error, 'TOPOLOGY_INVALID'), 'TOPOLOGY_INVALID')
    t.match((error as Error).message, new RegExp(`not co-partitioned: ${a}=2, ${b}=3 partitions.*repartition\\(\\) one side`))
    t.same((await log.admin.describeTopics([`${appId}-a-changelog`])).length, 0, 'nothing was created')
  })
}
