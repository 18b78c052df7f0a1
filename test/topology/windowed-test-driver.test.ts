import t from 'tap'
// Written as an application would be: everything from the engine's public entry.
import {
  Serdes, SessionWindows, SlidingWindows, StreamsBuilder, Suppressed, TimeWindows, TopologyTestDriver, WindowedSerdes,
  type Windowed
} from '../../topology/index.ts'
import type { RewardsError } from '../../lib/errors.ts'

const str = Serdes.string()
const num = Serdes.json<number>()

/** A topology reading `events` (string keys, string values) into the given windowed count. */
function driverFor (build: (builder: StreamsBuilder) => void): TopologyTestDriver {
  const builder = new StreamsBuilder()
  build(builder)
  return new TopologyTestDriver(builder.build())
}

function show (key: Windowed<string>, value: number | null): string {
  return `${key.key}@[${key.window.start},${key.window.end}]=${value === null ? 'null' : value}`
}

t.test('tumbling windows without grace: counts per window, late records dropped and counted', async t => {
  const windowSerde = WindowedSerdes.timeWindowed(str, 10_000)
  const driver = driverFor(b => b.stream<string, string>('events', { keySerde: str, valueSerde: str })
    .groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(10_000)).count({ storeName: 'counts', retentionMs: 60_000 })
    .toStream().to('out', { keySerde: windowSerde, valueSerde: num }))
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('events', str, str)
  const out = driver.createOutputTopic('out', windowSerde, num)
  input.pipeInput('a', 'x', 1000)
  input.pipeInput('a', 'x', 5000)
  input.pipeInput('b', 'x', 3000)
  input.pipeInput('a', 'x', 12_000)
  t.same(out.readRecordsToList().map(r => show(r.key, r.value)), [
    'a@[0,10000]=1', 'a@[0,10000]=2', 'b@[0,10000]=1', 'a@[10000,20000]=1'
  ])
  // Stream time 12000: the window [0, 10000) has closed (no grace).
  input.pipeInput('a', 'late', 9999)
  t.ok(out.isEmpty(), 'a record for a closed window forwards nothing')
  t.equal(driver.droppedRecordsTotal, 1, 'and is counted as dropped')
  const store = driver.getWindowStore<string, number>('counts')
  t.same(store.fetch('a', 0, 20_000), [{ windowStart: 0, value: 2 }, { windowStart: 10_000, value: 1 }], 'fetch by key and time range')
  t.same(store.fetch('a', 5000, 20_000), [{ windowStart: 10_000, value: 1 }], 'the range bounds window starts')
  t.equal(store.fetchWindow('b', 0), 1)
  t.same(store.fetchAll(0, 0).map(kv => show(kv.key, kv.value)), ['a@[0,10000]=2', 'b@[0,10000]=1'], 'all keys in a time range')
})

t.test('retention: a window store keeps windows for its retention of stream time, as Kafka Streams', async t => {
  const driver = driverFor(b => b.stream<string, string>('events', { keySerde: str, valueSerde: str })
    .groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(10_000)).count({ storeName: 'counts' }))
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('events', str, str)
  input.pipeInput('a', 'x', 1000)
  t.equal(driver.getWindowStore<string, number>('counts').fetchWindow('a', 0), 1)
  // Default retention = size + grace = 10 s: the window starting at 10000 expires the one at 0.
  input.pipeInput('a', 'x', 10_000)
  t.same(driver.getWindowStore<string, number>('counts').fetch('a', 0, 100_000), [{ windowStart: 10_000, value: 1 }])
})

t.test('grace period: late records inside the grace are counted, past it dropped', async t => {
  const driver = driverFor(b => b.stream<string, string>('events', { keySerde: str, valueSerde: str })
    .groupByKey().windowedBy(TimeWindows.ofSizeAndGrace(10_000, 5000)).count({ storeName: 'counts' })
    .toStream().to('out', { keySerde: WindowedSerdes.timeWindowed(str, 10_000), valueSerde: num }))
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('events', str, str)
  input.pipeInput('a', 'x', 1000)
  input.pipeInput('a', 'x', 14_000) // stream time 14000: [0,10000) closes at 15000
  input.pipeInput('a', 'x', 8000) // within the grace
  t.equal(driver.getWindowStore<string, number>('counts').fetchWindow('a', 0), 2)
  input.pipeInput('a', 'x', 15_000) // closes [0, 10000)
  input.pipeInput('a', 'x', 9000)
  t.equal(driver.getWindowStore<string, number>('counts').fetchWindow('a', 0), 2, 'past the grace: not counted')
  t.equal(driver.droppedRecordsTotal, 1)
})

t.test('hopping windows: a record counts in every window that covers it', async t => {
  const driver = driverFor(b => b.stream<string, string>('events', { keySerde: str, valueSerde: str })
    .groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(10_000).advanceBy(5000)).count({ storeName: 'counts' })
    .toStream().to('out', { keySerde: WindowedSerdes.timeWindowed(str, 10_000), valueSerde: num }))
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('events', str, str)
  const out = driver.createOutputTopic('out', WindowedSerdes.timeWindowed(str, 10_000), num)
  input.pipeInput('a', 'x', 7000)
  input.pipeInput('a', 'x', 12_000)
  t.same(out.readRecordsToList().map(r => show(r.key, r.value)), [
    'a@[0,10000]=1', 'a@[5000,15000]=1', 'a@[5000,15000]=2', 'a@[10000,20000]=1'
  ])
})

t.test('sliding windows: one window per distinct set of records, in and out of order', async t => {
  const driver = driverFor(b => b.stream<string, string>('events', { keySerde: str, valueSerde: str })
    .groupByKey().windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(10, 100)).count({ storeName: 'counts' })
    .toStream().to('out', { keySerde: WindowedSerdes.sessionWindowed(str), valueSerde: num }))
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('events', str, str)
  const out = driver.createOutputTopic('out', WindowedSerdes.sessionWindowed(str), num)
  input.pipeInput('a', 'x', 100)
  input.pipeInput('a', 'x', 105)
  input.pipeInput('a', 'x', 120)
  t.same(out.readRecordsToList().map(r => show(r.key, r.value)), [
    'a@[90,100]=1', // left window of 100
    'a@[95,105]=2', 'a@[101,111]=1', // left window of 105, right window of 100
    'a@[110,120]=1'
  ])
  input.pipeInput('a', 'x', 103) // out of order
  t.same(out.readRecordsToList().map(r => show(r.key, r.value)).sort(), [
    'a@[101,111]=2', 'a@[104,114]=1', 'a@[93,103]=2', 'a@[95,105]=3'
  ].sort())
  const store = driver.getWindowStore<string, number>('counts')
  t.same(store.fetch('a', 0, 200).map(w => `${w.windowStart}=${w.value}`), ['90=1', '93=2', '95=3', '101=2', '104=1', '110=1'])
})

t.test('session windows: records within the gap merge sessions; replaced sessions forward null', async t => {
  const serde = WindowedSerdes.sessionWindowed(str)
  const driver = driverFor(b => b.stream<string, string>('events', { keySerde: str, valueSerde: str })
    .groupByKey().windowedBy(SessionWindows.ofInactivityGapAndGrace(5000, 100_000)).count({ storeName: 'sessions' })
    .toStream().to('out', { keySerde: serde, valueSerde: num }))
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('events', str, str)
  const out = driver.createOutputTopic('out', serde, num)
  input.pipeInput('a', 'x', 0)
  input.pipeInput('a', 'x', 3000)
  input.pipeInput('a', 'x', 20_000)
  input.pipeInput('a', 'x', 10_000)
  input.pipeInput('b', 'x', 10_000)
  t.same(out.readRecordsToList().map(r => show(r.key, r.value)), [
    'a@[0,0]=1', 'a@[0,0]=null', 'a@[0,3000]=2', 'a@[20000,20000]=1', 'a@[10000,10000]=1', 'b@[10000,10000]=1'
  ])
  input.pipeInput('a', 'x', 15_000) // bridges [10000] and [20000]
  t.same(out.readRecordsToList().map(r => show(r.key, r.value)), [
    'a@[10000,10000]=null', 'a@[20000,20000]=null', 'a@[10000,20000]=3'
  ])
  const store = driver.getSessionStore<string, number>('sessions')
  t.same(store.fetch('a').map(kv => show(kv.key, kv.value)), ['a@[0,3000]=2', 'a@[10000,20000]=3'])
  t.same(store.findSessions('a', 4000, 12_000).map(kv => show(kv.key, kv.value)), ['a@[10000,20000]=3'])
  t.equal(store.fetchSession('a', 0, 3000), 2)
})

t.test('session windows: a record past the gap and the grace is dropped', async t => {
  const driver = driverFor(b => b.stream<string, string>('events', { keySerde: str, valueSerde: str })
    .groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(1000))
    .reduce((a, b) => a + b, { storeName: 'sessions', valueSerde: str }))
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('events', str, str)
  input.pipeInput('a', 'x', 10_000)
  input.pipeInput('a', 'y', 10_500)
  input.pipeInput('a', 'late', 5000)
  t.equal(driver.droppedRecordsTotal, 1)
  t.same(driver.getSessionStore<string, string>('sessions').fetch('a').map(kv => kv.value), ['xy'])
})

t.test('suppress(untilWindowCloses): one final result per window when stream time passes end + grace', async t => {
  const serde = WindowedSerdes.timeWindowed(str, 10_000)
  const driver = driverFor(b => b.stream<string, string>('events', { keySerde: str, valueSerde: str })
    .groupByKey().windowedBy(TimeWindows.ofSizeAndGrace(10_000, 2000)).count({ storeName: 'counts' })
    .suppress(Suppressed.untilWindowCloses())
    .toStream().to('final', { keySerde: serde, valueSerde: num }))
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('events', str, str)
  const out = driver.createOutputTopic('final', serde, num)
  input.pipeInput('a', 'x', 1000)
  input.pipeInput('a', 'x', 2000)
  input.pipeInput('b', 'x', 3000)
  input.pipeInput('a', 'x', 11_000)
  input.pipeInput('a', 'x', 9000) // late but within the grace
  t.ok(out.isEmpty(), 'nothing before the window closes')
  input.pipeInput('c', 'x', 12_000) // stream time 12000 = end 10000 + grace 2000
  t.same(out.readRecordsToList().map(r => show(r.key, r.value)), ['a@[0,10000]=3', 'b@[0,10000]=1'])
  input.pipeInput('c', 'x', 30_000)
  t.same(out.readRecordsToList().map(r => show(r.key, r.value)), ['a@[10000,20000]=1', 'c@[10000,20000]=1'])
})

t.test('suppress on sessions: merged-away sessions are never emitted', async t => {
  const serde = WindowedSerdes.sessionWindowed(str)
  const driver = driverFor(b => b.stream<string, string>('events', { keySerde: str, valueSerde: str })
    .groupByKey().windowedBy(SessionWindows.ofInactivityGapWithNoGrace(1000)).count({ storeName: 'sessions' })
    .suppress(Suppressed.untilWindowCloses())
    .toStream().to('final', { keySerde: serde, valueSerde: num }))
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('events', str, str)
  const out = driver.createOutputTopic('final', serde, num)
  for (const ts of [0, 500, 1200, 1900]) input.pipeInput('a', 'x', ts)
  input.pipeInput('z', 'x', 10_000)
  t.same(out.readRecordsToList().map(r => show(r.key, r.value)), ['a@[0,1900]=4'])
})

t.test('windowed aggregate keeps the latest record time as the result timestamp', async t => {
  const driver = driverFor(b => b.stream<string, string>('events', { keySerde: str, valueSerde: str })
    .groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(10_000))
    .aggregate<string[]>(() => [], (_k, v, agg) => [...agg, v], { storeName: 'lists' })
    .toStream().to('out', { keySerde: WindowedSerdes.timeWindowed(str, 10_000), valueSerde: Serdes.json<string[]>() }))
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('events', str, str)
  const out = driver.createOutputTopic('out', WindowedSerdes.timeWindowed(str, 10_000), Serdes.json<string[]>())
  input.pipeInput('a', 'x', 5000)
  input.pipeInput('a', 'y', 3000)
  t.same(out.readRecordsToList().map(r => [r.value, r.timestamp]), [[['x'], 5000], [['x', 'y'], 5000]])
})

t.test('bad window definitions are refused at build time', async t => {
  const code = (fn: () => unknown): string | undefined => { try { fn(); return undefined } catch (e) { return (e as RewardsError).code } }
  t.equal(code(() => TimeWindows.ofSizeWithNoGrace(0)), 'TOPOLOGY_INVALID')
  t.equal(code(() => TimeWindows.ofSizeWithNoGrace(1000).advanceBy(2000)), 'TOPOLOGY_INVALID')
  t.equal(code(() => TimeWindows.ofSizeAndGrace(1000, -1)), 'TOPOLOGY_INVALID')
  t.equal(code(() => SessionWindows.ofInactivityGapWithNoGrace(0)), 'TOPOLOGY_INVALID')
  t.equal(code(() => SlidingWindows.ofTimeDifferenceWithNoGrace(1.5)), 'TOPOLOGY_INVALID')
  t.equal(code(() => new StreamsBuilder().stream('in').groupByKey().windowedBy(TimeWindows.ofSizeAndGrace(1000, 500))
    .count({ storeName: 's', retentionMs: 1000 })), 'TOPOLOGY_INVALID', 'retention below size + grace')
})

t.test('windowed serdes round-trip in Kafka Streams\' layouts', async t => {
  const time = WindowedSerdes.timeWindowed(str, 60_000)
  const bytes = time.serialize({ key: 'k', window: { start: 120_000, end: 180_000 } })
  t.equal(bytes.length, 1 + 8)
  t.same(time.deserialize(bytes), { key: 'k', window: { start: 120_000, end: 180_000 } })
  const session = WindowedSerdes.sessionWindowed(str)
  t.same(session.deserialize(session.serialize({ key: 'k', window: { start: 5, end: 9 } })), { key: 'k', window: { start: 5, end: 9 } })
})
