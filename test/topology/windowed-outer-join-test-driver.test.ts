// Left and outer stream-stream joins in the test driver (Kafka Streams 4.x semantics): a record
// that met nothing is held and emitted with the other side missing only once its window has
// closed (end + grace behind stream time); a record a later peer joins never gets an unmatched
// result (no spurious results, KIP-633 / KAFKA-10847).
import t from 'tap'
import { JoinWindows, leftJoinStreams, outerJoinStreams, Serdes, StreamsBuilder, TopologyTestDriver } from '../../topology/index.ts'

const str = Serdes.string()

function driverOf (kind: 'left' | 'outer', windows: JoinWindows): TopologyTestDriver {
  const builder = new StreamsBuilder()
  const left = builder.stream<string, string>('left', { keySerde: str, valueSerde: str })
  const right = builder.stream<string, string>('right', { keySerde: str, valueSerde: str })
  const joiner = (l: string | undefined, r: string | undefined): string => `${l ?? '-'}+${r ?? '-'}`
  const joined = kind === 'left'
    ? leftJoinStreams(builder, left, right, joiner, windows, { name: 'lr', valueSerde: str, otherValueSerde: str })
    : outerJoinStreams(builder, left, right, joiner, windows, { name: 'lr', valueSerde: str, otherValueSerde: str })
  joined.to('joined', { keySerde: str, valueSerde: str })
  return new TopologyTestDriver(builder.build())
}

const show = (records: Array<{ key: string, value: string, timestamp: number }>): string[] => records.map(r => `${r.key}:${r.value}@${r.timestamp}`)

t.test('left join: a joined record never gets an unmatched result; an unmatched one only after its window and grace', async t => {
  const driver = driverOf('left', JoinWindows.ofTimeDifferenceAndGrace(100, 50))
  t.teardown(() => driver.close())
  const left = driver.createInputTopic('left', str, str)
  const right = driver.createInputTopic('right', str, str)
  const out = driver.createOutputTopic('joined', str, str)
  left.pipeInput('a', 'L1', 1000)
  left.pipeInput('b', 'Lb', 1000)
  t.ok(out.isEmpty(), 'nothing eagerly: the window is open')
  right.pipeInput('a', 'R1', 1080)
  t.same(show(out.readRecordsToList()), ['a:L1+R1@1080'], 'the inner result at once')
  // Stream time 1150: b's window ends at 1100, + grace 50 = 1150, not behind stream time yet.
  right.pipeInput('c', 'Rc', 1150)
  t.ok(out.isEmpty(), 'within the grace period nothing is emitted')
  right.pipeInput('c', 'Rc2', 1151)
  t.same(show(out.readRecordsToList()), ['b:Lb+-@1000'], 'b met nothing: emitted once its window closed; a (joined) never; right records never alone in a left join')
  right.pipeInput('z', 'Rz', 5000)
  t.ok(out.isEmpty(), 'nothing held any more')
})

t.test('left join: a peer arriving out of order inside the grace still joins, and no unmatched result follows', async t => {
  const driver = driverOf('left', JoinWindows.ofTimeDifferenceAndGrace(100, 500))
  t.teardown(() => driver.close())
  const left = driver.createInputTopic('left', str, str)
  const right = driver.createInputTopic('right', str, str)
  const out = driver.createOutputTopic('joined', str, str)
  left.pipeInput('a', 'L1', 1000)
  right.pipeInput('x', 'Rx', 1300) // stream time past a's window (1100) but inside its grace
  right.pipeInput('a', 'R1', 1050) // out of order: joins L1
  t.same(show(out.readRecordsToList()), ['a:L1+R1@1050'])
  right.pipeInput('x', 'Rx2', 3000)
  t.ok(out.isEmpty(), 'L1 joined: no spurious L1+null when its window closes')
})

t.test('outer join: unmatched records of both sides, oldest first, with the other side undefined', async t => {
  const driver = driverOf('outer', JoinWindows.ofTimeDifferenceWithNoGrace(100))
  t.teardown(() => driver.close())
  const left = driver.createInputTopic('left', str, str)
  const right = driver.createInputTopic('right', str, str)
  const out = driver.createOutputTopic('joined', str, str)
  left.pipeInput('a', 'L1', 1000)
  right.pipeInput('b', 'R1', 1010)
  left.pipeInput('a', 'L2', 1010) // same key, both held
  right.pipeInput('c', 'R2', 1020)
  left.pipeInput('c', 'L3', 1030) // joins R2
  t.same(show(out.readRecordsToList()), ['c:L3+R2@1030'])
  left.pipeInput('z', 'Lz', 1500)
  t.same(show(out.readRecordsToList()), ['a:L1+-@1000', 'a:L2+-@1010', 'b:-+R1@1010'], 'each unmatched record once, by timestamp (left before right at one time)')
  t.same(driver.droppedRecordsTotal, 0)
})

t.test('outer join: asymmetric windows close each side at its own end', async t => {
  // Left records join right ones up to 300 ms after them; right records join left ones up to 0 ms
  // after (right record at t: left in [t − 300, t]).
  const driver = driverOf('outer', JoinWindows.ofTimeDifferenceWithNoGrace(0).after(300))
  t.teardown(() => driver.close())
  const left = driver.createInputTopic('left', str, str)
  const right = driver.createInputTopic('right', str, str)
  const out = driver.createOutputTopic('joined', str, str)
  left.pipeInput('a', 'L', 1000)
  right.pipeInput('b', 'R', 1000)
  right.pipeInput('x', 'Rx', 1001)
  t.same(show(out.readRecordsToList()), ['b:-+R@1000'], 'R can meet no later left record: closed at once')
  left.pipeInput('y', 'Ly', 1301)
  t.same(show(out.readRecordsToList()), ['a:L+-@1000', 'x:-+Rx@1001'], 'L closed 300 ms after its time, Rx at once')
})
