// One scenario for both log backends (test/log/kafka/offset-reset.test.ts on the real broker,
// test/log/embedded/offset-reset.test.ts): a group whose committed offset lies beyond the end of
// its partition (records gone, topic recreated) follows the reset policy — earliest reads from
// the start, latest from the end, none fails with LOG_OFFSET_OUT_OF_RANGE — and every reset is
// reported to the listener (the platform logs and counts it).
import type { Test } from 'tap'
import { isRewardsError } from '../../lib/errors.ts'
import type { GroupConsumer, Log, LogRecord, OffsetReset, OffsetResetPolicy } from '../../log/log-port.ts'

const listener = { async onPartitionsAssigned () {}, async onPartitionsRevoked () {}, async onPartitionsLost () {} }

async function pollFor (consumer: GroupConsumer, count: number, budgetMs = 30_000): Promise<LogRecord[]> {
  const records: LogRecord[] = []
  const deadline = Date.now() + budgetMs
  while (records.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${records.length} of ${count} record(s) within ${budgetMs} ms`)
    records.push(...await consumer.poll(200))
  }
  return records
}

export async function offsetResetScenario (t: Test, log: Log, topic: string, unique: (prefix: string) => string): Promise<void> {
  const producer = await log.createProducer({ clientId: unique('reset-producer') })
  t.teardown(() => producer.close())
  await producer.send([0, 1, 2, 3, 4].map(i => ({ topic, partition: 0, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) })))

  const consumerWith = async (policy: OffsetResetPolicy, resets: OffsetReset[]): Promise<GroupConsumer> => {
    const groupId = unique(`reset-${policy}`)
    // Far beyond the end: what a group finds after its records were deleted or the topic recreated.
    await log.admin.alterCommittedOffsets(groupId, [{ topic, partition: 0, offset: 1000n }])
    const consumer = log.createGroupConsumer({ groupId, clientId: groupId, topics: [topic], listener, offsetReset: { policy, onReset: reset => resets.push(reset) } })
    t.teardown(() => consumer.close())
    return consumer
  }

  const early: OffsetReset[] = []
  const earliest = await consumerWith('earliest', early)
  const fromStart = await pollFor(earliest, 5)
  t.same(fromStart.map(r => r.offset), [0n, 1n, 2n, 3n, 4n], 'earliest: read again from the start')
  t.equal(early.length, 1, 'earliest: the reset was reported once')
  t.match(early[0], { topic, partition: 0, policy: 'earliest', from: 1000n, to: 0n })

  const late: OffsetReset[] = []
  const latest = await consumerWith('latest', late)
  while (late.length === 0) t.same(await latest.poll(200), [], 'latest: nothing before the end is read')
  t.match(late[0], { topic, partition: 0, policy: 'latest', from: 1000n, to: 5n })
  await producer.send([{ topic, partition: 0, key: Buffer.from('k5'), value: Buffer.from('v5') }])
  t.same((await pollFor(latest, 1)).map(r => r.offset), [5n], 'latest: only what comes after the reset')

  const none: OffsetReset[] = []
  const strict = await consumerWith('none', none)
  let failure: unknown
  const deadline = Date.now() + 30_000
  while (failure === undefined && Date.now() < deadline) {
    try {
      t.same(await strict.poll(200), [], 'none: nothing is read')
    } catch (error) {
      failure = error
    }
  }
  t.ok(isRewardsError(failure, 'LOG_OFFSET_OUT_OF_RANGE'), `none: poll fails with LOG_OFFSET_OUT_OF_RANGE (${String(failure)})`)
  t.match((failure as Error).message, /REWARDS_AUTO_OFFSET_RESET/, 'the message names the setting')
  t.equal(none.length, 0, 'none: no reset')
}
