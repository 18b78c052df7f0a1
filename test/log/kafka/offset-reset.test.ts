// A committed offset out of range on the real broker follows the reset policy (auto.offset.reset)
// and is reported: test/log/offset-reset-scenario.ts.
import t from 'tap'
import { offsetResetScenario } from '../offset-reset-scenario.ts'
import { kafkaLog, unique } from './kafka-test-helpers.ts'

t.test('out-of-range committed offset on Kafka: earliest, latest, none', async t => {
  const topic = unique('offset-reset')
  const log = await kafkaLog(t, [{ name: topic, partitions: 1 }])
  await offsetResetScenario(t, log, topic, unique)
})
