// A committed offset beyond the end of a partition of the embedded log follows the reset policy
// and is reported, as on Kafka: test/log/offset-reset-scenario.ts.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { offsetResetScenario } from '../offset-reset-scenario.ts'
import { tempLog } from './helpers.ts'

t.test('out-of-range committed offset on the embedded log: earliest, latest, none', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'in', partitions: 1 }])
  await offsetResetScenario(t, log, 'in', prefix => `${prefix}-${randomBytes(4).toString('hex')}`)
})
