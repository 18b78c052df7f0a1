// Cooperative rebalancing (KIP-429) on the embedded log: test/log/cooperative-rebalance-scenario.ts.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { COOPERATIVE_SCENARIO_PARTITIONS, cooperativeRebalanceScenario, mixedProtocolScenario } from '../cooperative-rebalance-scenario.ts'
import { tempLog } from './helpers.ts'

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`

t.test('cooperative: 1 -> 2 -> 3 members and a leave, kept partitions never stop', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'coop', partitions: COOPERATIVE_SCENARIO_PARTITIONS }])
  await cooperativeRebalanceScenario(t, log, 'coop', unique)
})

t.test('eager and cooperative members cannot share a group', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'coop-mixed', partitions: COOPERATIVE_SCENARIO_PARTITIONS }])
  await mixedProtocolScenario(t, log, 'coop-mixed', unique)
})
