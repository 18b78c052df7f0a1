// A record whose timestamp extractor finds no valid event time (null) is still processed, with its
// own timestamp, but moves no clock: the task's stream time and its STREAM_TIME punctuations
// ignore it (topology/topology.ts, TimestampExtractor).
import t from 'tap'
import type { ProcessorContext } from '../../../topology/processor/processor.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { TopologyTestDriver } from '../../../topology/test-driver.ts'
import { Topology } from '../../../topology/topology.ts'

t.test('a record without event time is processed without moving stream time or punctuating', async t => {
  const seen: Array<{ value: string, timestamp: number, streamTimeMs: number }> = []
  const punctuations: number[] = []
  const topology = new Topology()
    .addSource('in', {
      topics: ['in'],
      keySerde: Serdes.string(),
      valueSerde: Serdes.string(),
      // "bad" records have no event time; the others carry it in the value.
      timestampExtractor: r => r.value?.toString() === 'bad' ? null : Number(r.value?.toString())
    })
    .addProcessor<string, string, never, never>('p', () => {
      let ctx: ProcessorContext<never, never>
      return {
        init (c) { ctx = c; c.schedule(100, 'STREAM_TIME', ts => punctuations.push(ts)) },
        process (r) { seen.push({ value: r.value, timestamp: r.timestamp, streamTimeMs: ctx.currentStreamTimeMs() }) }
      }
    }, 'in')
  const driver = new TopologyTestDriver(topology, { partitions: 1 })
  t.teardown(() => driver.close())
  const input = driver.createInputTopic('in', Serdes.string(), Serdes.string())
  input.pipeInput('k', '1000', 5)
  input.pipeInput('k', 'bad', 999_999_999) // stamped "now", far ahead of the events
  input.pipeInput('k', '1050', 6)
  input.pipeInput('k', '1100', 7)

  t.same(seen, [
    { value: '1000', timestamp: 1000, streamTimeMs: 1000 },
    { value: 'bad', timestamp: 999_999_999, streamTimeMs: 1000 },
    { value: '1050', timestamp: 1050, streamTimeMs: 1050 },
    { value: '1100', timestamp: 1100, streamTimeMs: 1100 }
  ], 'processed in order; the timeless record sees its own timestamp and the unchanged stream time')
  t.same(punctuations, [1100], 'punctuated once, when the events reached 1000 + 100 — not by the timeless record')
})
