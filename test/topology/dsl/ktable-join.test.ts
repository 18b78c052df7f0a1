// KTable-KTable join, leftJoin and outerJoin in the TopologyTestDriver: inserts, updates and
// deletes on both sides, the results' tombstones, a materialized result, and joins of derived
// (unmaterialized) tables.
import t from 'tap'
import { Serdes, StreamsBuilder, TopologyTestDriver } from '../../../topology/index.ts'

const str = Serdes.string()
const show = (l: string | undefined, r: string | undefined): string => `${l ?? '-'}/${r ?? '-'}`

function joinDriver (kind: 'join' | 'leftJoin' | 'outerJoin'): { left: (k: string, v: string | null) => void, right: (k: string, v: string | null) => void, out: () => Array<[string, string | null]>, driver: TopologyTestDriver } {
  const builder = new StreamsBuilder()
  const l = builder.table<string, string>('left', { valueSerde: str }, { storeName: 'left' })
  const r = builder.table<string, string>('right', { valueSerde: str }, { storeName: 'right' })
  const joined = kind === 'join' ? l.join(r, show, { storeName: 'joined', valueSerde: str }) : l[kind](r, show, { storeName: 'joined', valueSerde: str })
  joined.toStream().to('out', { valueSerde: str })
  const driver = new TopologyTestDriver(builder.build(), { partitions: 2 })
  const leftIn = driver.createInputTopic('left', str, str)
  const rightIn = driver.createInputTopic('right', str, str)
  const out = driver.createOutputTopic('out', str, str)
  return {
    driver,
    left: (k, v) => leftIn.pipeInput(k, v),
    right: (k, v) => rightIn.pipeInput(k, v),
    out: () => out.readRecordsToList().map(rec => [rec.key, rec.value])
  }
}

// One script for the three joins: what each step forwards (Kafka Streams' table-table join semantics).
const steps: Array<{ step: string, run: (d: ReturnType<typeof joinDriver>) => void, join: Array<[string, string | null]>, leftJoin: Array<[string, string | null]>, outerJoin: Array<[string, string | null]> }> = [
  { step: 'left a=1', run: d => d.left('a', '1'), join: [], leftJoin: [['a', '1/-']], outerJoin: [['a', '1/-']] },
  { step: 'right a=x', run: d => d.right('a', 'x'), join: [['a', '1/x']], leftJoin: [['a', '1/x']], outerJoin: [['a', '1/x']] },
  { step: 'right b=y', run: d => d.right('b', 'y'), join: [], leftJoin: [], outerJoin: [['b', '-/y']] },
  { step: 'left a=2', run: d => d.left('a', '2'), join: [['a', '2/x']], leftJoin: [['a', '2/x']], outerJoin: [['a', '2/x']] },
  { step: 'right a deleted', run: d => d.right('a', null), join: [['a', null]], leftJoin: [['a', '2/-']], outerJoin: [['a', '2/-']] },
  { step: 'left a deleted', run: d => d.left('a', null), join: [], leftJoin: [['a', null]], outerJoin: [['a', null]] },
  { step: 'right b deleted', run: d => d.right('b', null), join: [], leftJoin: [], outerJoin: [['b', null]] },
  { step: 'left b=3, right b=z', run: d => { d.left('b', '3'); d.right('b', 'z') }, join: [['b', '3/z']], leftJoin: [['b', '3/-'], ['b', '3/z']], outerJoin: [['b', '3/-'], ['b', '3/z']] }
]

for (const kind of ['join', 'leftJoin', 'outerJoin'] as const) {
  t.test(`KTable ${kind}: inserts, updates and deletes on both sides`, async t => {
    const d = joinDriver(kind)
    t.teardown(() => d.driver.close())
    for (const s of steps) {
      s.run(d)
      t.same(d.out(), s[kind], s.step)
    }
    const partitionOf = (key: string): number => [0, 1].find(p => d.driver.getKeyValueStore<string, string>('joined', p).get(key) !== undefined) ?? -1
    t.equal(d.driver.getKeyValueStore<string, string>('joined', partitionOf('b')).get('b'), '3/z', 'the materialized result holds the row')
    t.equal(partitionOf('a'), -1, 'and no row for a deleted result')
  })
}

t.test('joins of derived tables read their rows through the parents\' stores', async t => {
  const builder = new StreamsBuilder()
  const users = builder.table<string, { name: string, active: boolean }>('users', {}, { storeName: 'users' })
  const balances = builder.table<string, number>('balances', { valueSerde: Serdes.json<number>() }, { storeName: 'balances' })
  const active = users.filter((_k, u) => u.active).mapValues(u => u.name.toUpperCase())
  active.join(balances.mapValues(b => b * 100), (name, cents) => `${name}:${cents}`)
    .toStream().to('out', { valueSerde: str })
  // A stream joined with the derived (unmaterialized) result table.
  builder.stream<string, string>('lookups', { valueSerde: str })
    .leftJoin(active, (what, name) => `${what}=${name ?? 'none'}`)
    .to('looked-up', { valueSerde: str })
  const driver = new TopologyTestDriver(builder.build())
  t.teardown(() => driver.close())
  const usersIn = driver.createInputTopic('users', str, Serdes.json<{ name: string, active: boolean }>())
  const balancesIn = driver.createInputTopic('balances', str, Serdes.json<number>())
  const out = driver.createOutputTopic('out', str, str)
  const lookups = driver.createInputTopic('lookups', str, str)
  const lookedUp = driver.createOutputTopic('looked-up', str, str)
  balancesIn.pipeInput('u1', 3)
  usersIn.pipeInput('u1', { name: 'ann', active: true })
  balancesIn.pipeInput('u1', 4)
  usersIn.pipeInput('u1', { name: 'ann', active: false })
  t.same(out.readRecordsToList().map(r => [r.key, r.value]), [['u1', 'ANN:300'], ['u1', 'ANN:400'], ['u1', null]])
  lookups.pipeInput('u1', 'who')
  usersIn.pipeInput('u1', { name: 'ann', active: true })
  lookups.pipeInput('u1', 'who')
  t.same(lookedUp.readValuesToList(), ['who=none', 'who=ANN'])
})
