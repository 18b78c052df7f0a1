// Cooperative rebalancing (KIP-429) on the real broker: test/log/cooperative-rebalance-scenario.ts.
import t from 'tap'
import { COOPERATIVE_SCENARIO_PARTITIONS, cooperativeRebalanceScenario, mixedProtocolScenario } from '../cooperative-rebalance-scenario.ts'
import { kafkaLog, unique } from './kafka-test-helpers.ts'

t.test('cooperative: 1 -> 2 -> 3 members and a leave, kept partitions never stop', async t => {
  const topic = unique('coop')
  const log = await kafkaLog(t, [{ name: topic, partitions: COOPERATIVE_SCENARIO_PARTITIONS }])
  await cooperativeRebalanceScenario(t, log, topic, unique)
})

t.test('eager and cooperative members cannot share a group (INCONSISTENT_GROUP_PROTOCOL)', async t => {
  const topic = unique('coop-mixed')
  const log = await kafkaLog(t, [{ name: topic, partitions: COOPERATIVE_SCENARIO_PARTITIONS }])
  await mixedProtocolScenario(t, log, topic, unique)
})
