// KTable operations in the TopologyTestDriver: mapValues, filter (tombstones), toStream,
// groupBy → aggregate / reduce / count with a subtractor, and the Change format of their
// repartition topic.
import t from 'tap'
import { Serdes, StreamsBuilder, TopologyTestDriver } from '../../../topology/index.ts'
import { Change, changeSerde } from '../../../topology/dsl/change.ts'

const str = Serdes.string()
const num = Serdes.json<number>()
type Employee = { dept: string, salary: number }
const emp = Serdes.json<Employee>()

t.test('mapValues and filter: updates, and a tombstone when a row stops matching or is deleted', async t => {
  const builder = new StreamsBuilder()
  const prices = builder.table<string, number>('prices', { valueSerde: num }, { storeName: 'prices' })
  prices.mapValues(p => p * 2, undefined, 'doubled').toStream().to('doubled', { valueSerde: num })
  prices.filter((_k, p) => p >= 10, { storeName: 'expensive' }).toStream().to('expensive', { valueSerde: num })
  const driver = new TopologyTestDriver(builder.build())
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('prices', str, num)
  const doubled = driver.createOutputTopic('doubled', str, num)
  const expensive = driver.createOutputTopic('expensive', str, num)
  input.pipeInput('a', 5)
  input.pipeInput('b', 20)
  input.pipeInput('a', 12)
  input.pipeInput('b', 3)
  input.pipeInput('a', null)
  input.pipeInput('c', 1)
  t.same(doubled.readRecordsToList().map(r => [r.key, r.value]), [['a', 10], ['b', 40], ['a', 24], ['b', 6], ['a', null], ['c', 2]])
  t.same(expensive.readRecordsToList().map(r => [r.key, r.value]), [['b', 20], ['a', 12], ['b', null], ['a', null]],
    'a row entering, leaving (tombstone) and deleted (tombstone); a row that never matched sends nothing')
  const store = driver.getKeyValueStore<string, number>('expensive')
  t.same([store.get('a'), store.get('b'), store.get('c')], [undefined, undefined, undefined], 'the materialized filter holds no row now')
  input.pipeInput('c', 11)
  t.equal(store.get('c'), 11)
})

t.test('groupBy → aggregate with subtractor: a row that moves groups leaves the old one', async t => {
  const builder = new StreamsBuilder()
  builder.table<string, Employee>('employees', { valueSerde: emp }, { storeName: 'employees' })
    .groupBy((_id, e) => ({ key: e.dept, value: e.salary }), { name: 'by-dept' })
    .aggregate(() => 0, (_d, salary, total) => total + salary, (_d, salary, total) => total - salary, { storeName: 'payroll', valueSerde: num })
    .toStream().to('payroll', { valueSerde: num })
  const topology = builder.build()
  t.same(topology.internalTopics().map(i => i.name), ['by-dept-repartition'])
  const driver = new TopologyTestDriver(topology, { partitions: 3 })
  t.teardown(() => driver.close())
  const employees = driver.createInputTopic('employees', str, emp)
  const payroll = driver.createOutputTopic('payroll', str, num)
  employees.pipeInput('ann', { dept: 'eng', salary: 100 })
  employees.pipeInput('bob', { dept: 'eng', salary: 80 })
  employees.pipeInput('cid', { dept: 'ops', salary: 50 })
  t.same(payroll.readRecordsToList().map(r => [r.key, r.value]), [['eng', 100], ['eng', 180], ['ops', 50]])
  employees.pipeInput('ann', { dept: 'eng', salary: 120 })
  t.same(payroll.readRecordsToList().map(r => [r.key, r.value]), [['eng', 200]], 'a raise within the group: one update (subtract 100, add 120)')
  employees.pipeInput('bob', { dept: 'ops', salary: 80 })
  t.same(payroll.readRecordsToList().map(r => [r.key, r.value]).sort(), [['eng', 120], ['ops', 130]], 'bob moved: eng loses him, ops gains him')
  employees.pipeInput('cid', null)
  t.same(payroll.readRecordsToList().map(r => [r.key, r.value]), [['ops', 80]], 'a deleted row is subtracted')
  const total = (dept: string): number | undefined => [0, 1, 2].map(p => { try { return driver.getKeyValueStore<string, number>('payroll', p).get(dept) } catch { return undefined } }).find(v => v !== undefined)
  t.same([total('eng'), total('ops')], [120, 80])
})

t.test('groupBy → count and reduce follow moves and deletes', async t => {
  const builder = new StreamsBuilder()
  const employees = builder.table<string, Employee>('employees', { valueSerde: emp }, { storeName: 'employees' })
  employees.groupBy((id, e) => ({ key: e.dept, value: id })).count({ storeName: 'headcount' }).toStream().to('headcount', { valueSerde: num })
  employees.groupBy((_id, e) => ({ key: e.dept, value: e.salary }), { valueSerde: num })
    .reduce((a, b) => a + b, (a, b) => a - b, { storeName: 'salaries', valueSerde: num })
    .toStream().to('salaries', { valueSerde: num })
  const driver = new TopologyTestDriver(builder.build())
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('employees', str, emp)
  const headcount = driver.createOutputTopic('headcount', str, num)
  const salaries = driver.createOutputTopic('salaries', str, num)
  input.pipeInput('ann', { dept: 'eng', salary: 100 })
  input.pipeInput('bob', { dept: 'eng', salary: 80 })
  input.pipeInput('ann', { dept: 'ops', salary: 100 })
  input.pipeInput('bob', null)
  t.same(headcount.readRecordsToList().map(r => [r.key, r.value]), [['eng', 1], ['eng', 2], ['eng', 1], ['ops', 1], ['eng', 0]],
    'a group whose rows all left stays at 0, as in Kafka Streams')
  t.same(salaries.readRecordsToList().map(r => [r.key, r.value]), [['eng', 100], ['eng', 180], ['eng', 80], ['ops', 100], ['eng', 0]])
})

t.test('the Change format of the repartition topic round-trips and rejects garbage', async t => {
  const serde = changeSerde(Serdes.json<{ n: number }>())
  for (const change of [new Change({ n: 1 }, { n: 2 }), new Change({ n: 1 }, null), new Change(null, { n: 2 }), new Change<{ n: number }>(null, null)]) {
    t.same(serde.deserialize(serde.serialize(change)), change)
  }
  t.throws(() => serde.deserialize(Buffer.from('{"n":1}')), /SERDE_ERROR|not a Change record/)
  const truncated = serde.serialize(new Change({ n: 1 }, null)).subarray(0, 8)
  t.throws(() => serde.deserialize(truncated), /too short/)
})
