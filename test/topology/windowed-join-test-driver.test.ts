import t from 'tap'
import { JoinWindows, joinStreams, Serdes, StreamsBuilder, TopologyTestDriver } from '../../topology/index.ts'

const str = Serdes.string()

function joinDriver (windows: JoinWindows): TopologyTestDriver {
  const builder = new StreamsBuilder()
  const left = builder.stream<string, string>('left', { keySerde: str, valueSerde: str })
  const right = builder.stream<string, string>('right', { keySerde: str, valueSerde: str })
  joinStreams(builder, left, right, (l, r) => `${l}+${r}`, windows, { name: 'lr', valueSerde: str, otherValueSerde: str })
    .to('joined', { keySerde: str, valueSerde: str })
  return new TopologyTestDriver(builder.build())
}

t.test('stream-stream join: records of one key within the time difference join, both ways', async t => {
  const driver = joinDriver(JoinWindows.ofTimeDifferenceWithNoGrace(1000))
  t.teardown(() => driver.close())
  const left = driver.createInputTopic('left', str, str)
  const right = driver.createInputTopic('right', str, str)
  const out = driver.createOutputTopic('joined', str, str)
  left.pipeInput('a', 'L1', 1000)
  right.pipeInput('a', 'R1', 1500)
  right.pipeInput('b', 'Rb', 1500)
  left.pipeInput('a', 'L3', 1000) // same key and time as L1: both kept
  right.pipeInput('a', 'R3', 1200)
  t.same(out.readRecordsToList().map(r => `${r.key}:${r.value}@${r.timestamp}`), [
    'a:L1+R1@1500', 'a:L3+R1@1500', 'a:L1+R3@1200', 'a:L3+R3@1200'
  ], 'each record meets every record of the other side in its window, either order')
  right.pipeInput('a', 'R2', 5000)
  left.pipeInput('a', 'L2', 4500)
  t.same(out.readValuesToList(), ['L2+R2'])
  // Stream time 5000, retention 2000: the records at 1000 and 1500 have expired.
  left.pipeInput('a', 'late', 1000)
  t.ok(out.isEmpty(), 'a record past the retention joins nothing')
})

t.test('stream-stream join: before and after bound the window asymmetrically', async t => {
  const driver = joinDriver(JoinWindows.ofTimeDifferenceAndGrace(0, 10_000).after(1000))
  t.teardown(() => driver.close())
  const left = driver.createInputTopic('left', str, str)
  const right = driver.createInputTopic('right', str, str)
  const out = driver.createOutputTopic('joined', str, str)
  left.pipeInput('a', 'L', 1000)
  right.pipeInput('a', 'early', 500)
  right.pipeInput('a', 'late', 1800)
  t.same(out.readValuesToList(), ['L+late'], 'only right records up to 1000 ms after the left one')
})
