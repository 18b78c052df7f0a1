// KStream-KStream outer join on both logs: every pair within the window once, every left and
// every right record that met nothing once with the other side missing (after its window
// closed), and no unmatched result for a record that joined.
import t from 'tap'
import { partitionForKey } from '../../../log/murmur2-partitioner.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { JoinWindows, outerJoinStreams } from '../../../topology/dsl/windowed-join.ts'
import { BACKENDS, readUntil, tempStateDir, uniqueName } from './backends.ts'

const PARTITIONS = 2
const KEYS = 10
const PER_SIDE = 200
const DIFFERENCE = 50
const GRACE = 100
const str = Serdes.string()

for (const backend of BACKENDS) {
  t.test(`stream-stream outer join on the ${backend.name} log: pairs once, unmatched records once`, async t => {
    const { log, cleanup } = await backend.open()
    const [leftTopic, rightTopic, output, appId] = [uniqueName('ssoj-left'), uniqueName('ssoj-right'), uniqueName('ssoj-out'), uniqueName('ssoj')]
    // Old timestamps (from the epoch): retention.ms=-1.
    await log.admin.createTopics([leftTopic, rightTopic, output].map(name => ({ name, partitions: PARTITIONS, config: { 'retention.ms': '-1' } })))
    const state = tempStateDir()
    t.teardown(async () => {
      const stores = ['this-join-store', 'other-join-store', 'outer-shared-join-store'].map(s => `${appId}-orders-payments-${s}-changelog`)
      await log.admin.deleteTopics([leftTopic, rightTopic, output, ...stores])
      await cleanup()
      state.remove()
    })
    // Left record i at 100·i on key k(i); a right record at 100·i + 37 on the same key for even i
    // (it joins left i only: left i + 1 is 63 ms away); a right-only record on key r(i) for i % 3 = 0.
    const keyOf = (i: number): string => `k${i % KEYS}`
    const expected: string[] = []
    const records = []
    for (let i = 0; i < PER_SIDE; i++) {
      records.push({ topic: leftTopic, key: Buffer.from(keyOf(i)), value: Buffer.from(`L${i}`), timestamp: 100 * i })
      if (i % 2 === 0) {
        records.push({ topic: rightTopic, key: Buffer.from(keyOf(i)), value: Buffer.from(`R${i}`), timestamp: 100 * i + 37 })
        expected.push(`${keyOf(i)}:L${i}+R${i}`)
      } else {
        expected.push(`${keyOf(i)}:L${i}+-`)
      }
      if (i % 3 === 0) {
        records.push({ topic: rightTopic, key: Buffer.from(`r${i % KEYS}`), value: Buffer.from(`S${i}`), timestamp: 100 * i + 37 })
        expected.push(`r${i % KEYS}:-+S${i}`)
      }
    }
    // One record per partition far later: stream time passes every window's end + grace.
    for (let p = 0; p < PARTITIONS; p++) {
      for (let n = 0; ; n++) {
        if (partitionForKey(Buffer.from(`end-${n}`), PARTITIONS) === p) {
          records.push({ topic: leftTopic, key: Buffer.from(`end-${n}`), value: Buffer.from('end'), timestamp: 100 * PER_SIDE + 100_000 })
          break
        }
      }
    }
    const builder = new StreamsBuilder()
    outerJoinStreams(builder,
      builder.stream<string, string>(leftTopic, { keySerde: str, valueSerde: str }),
      builder.stream<string, string>(rightTopic, { keySerde: str, valueSerde: str }),
      (l, r) => `${l ?? '-'}+${r ?? '-'}`, JoinWindows.ofTimeDifferenceAndGrace(DIFFERENCE, GRACE), { name: 'orders-payments', valueSerde: str, otherValueSerde: str })
      .to(output, { keySerde: str, valueSerde: str })
    const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir } })
    await app.start()
    await app.waitForState('RUNNING')
    const producer = await log.createProducer({ clientId: 'ssoj-producer' })
    await producer.send(records)
    await producer.close()
    const joined = await readUntil(log, output, PARTITIONS, all => all.length >= expected.length)
    await app.close()
    const got = joined.map(r => `${r.key!.toString()}:${r.value!.toString()}`)
    t.equal(got.length, expected.length, `${expected.length} results, none twice`)
    t.same(new Set(got), new Set(expected), 'every pair, every unmatched left and right record, nothing spurious')
  })
}
