// KStream-KStream windowed join on both logs: every pair of records of a key within the join
// window is forwarded exactly once, none outside it; the join stores are changelogged.
import t from 'tap'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { JoinWindows, joinStreams } from '../../../topology/dsl/windowed-join.ts'
import { BACKENDS, readUntil, tempStateDir, uniqueName } from './backends.ts'

const PARTITIONS = 2
const KEYS = 10
const PER_SIDE = 200
const DIFFERENCE = 50
const str = Serdes.string()

for (const backend of BACKENDS) {
  t.test(`stream-stream join on the ${backend.name} log: every pair within the window once`, async t => {
    const { log, cleanup } = await backend.open()
    const [leftTopic, rightTopic, output, appId] = [uniqueName('ssj-left'), uniqueName('ssj-right'), uniqueName('ssj-out'), uniqueName('ssj')]
    await log.admin.createTopics([leftTopic, rightTopic, output].map(name => ({ name, partitions: PARTITIONS })))
    const state = tempStateDir()
    t.teardown(async () => {
      await log.admin.deleteTopics([leftTopic, rightTopic, output, `${appId}-orders-payments-this-join-store-changelog`, `${appId}-orders-payments-other-join-store-changelog`])
      await cleanup()
      state.remove()
    })
    // Left record i at 100·i, right record j at 100·j + 37: each left meets the right records of
    // its key within 50 ms, i.e. j = i (37 ms later) and j = i − 1 (63 ms earlier: too far).
    const keyOf = (i: number): string => `k${i % KEYS}`
    const expected = new Set<string>()
    const records = []
    for (let i = 0; i < PER_SIDE; i++) {
      records.push({ topic: leftTopic, key: Buffer.from(keyOf(i)), value: Buffer.from(`L${i}`), timestamp: 100 * i })
      records.push({ topic: rightTopic, key: Buffer.from(keyOf(i)), value: Buffer.from(`R${i}`), timestamp: 100 * i + 37 })
    }
    for (const l of records.filter(r => r.topic === leftTopic)) {
      for (const r of records.filter(r => r.topic === rightTopic)) {
        if (l.key.equals(r.key) && Math.abs(l.timestamp - r.timestamp) <= DIFFERENCE) expected.add(`${l.key.toString()}:${l.value.toString()}+${r.value.toString()}`)
      }
    }
    const builder = new StreamsBuilder()
    joinStreams(builder,
      builder.stream<string, string>(leftTopic, { keySerde: str, valueSerde: str }),
      builder.stream<string, string>(rightTopic, { keySerde: str, valueSerde: str }),
      (l, r) => `${l}+${r}`, JoinWindows.ofTimeDifferenceAndGrace(DIFFERENCE, 1000), { name: 'orders-payments', valueSerde: str, otherValueSerde: str })
      .to(output, { keySerde: str, valueSerde: str })
    const app = new StreamsApplication(builder.build(), { log, config: { applicationId: appId, stateDir: state.dir } })
    await app.start()
    await app.waitForState('RUNNING')
    const producer = await log.createProducer({ clientId: 'ssj-producer' })
    await producer.send(records)
    await producer.close()
    const joined = await readUntil(log, output, PARTITIONS, all => all.length >= expected.size)
    await app.close()
    const got = joined.map(r => `${r.key!.toString()}:${r.value!.toString()}`)
    t.equal(got.length, expected.size, `${expected.size} pairs, none twice`)
    t.same(new Set(got), expected, 'exactly the pairs within the window')
  })
}
