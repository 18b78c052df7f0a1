// Pausing is per assignment, as in the Java consumer under the eager protocol: a rebalance revokes
// every partition, and a partition assigned again starts unpaused. The engine relies on it: it
// forgets its paused partitions when they are revoked (stream-thread.ts), so a pause that
// survived the rebalance in the consumer would never be lifted and the partition would stall.
import t from 'tap'
import type { GroupConsumer } from '../../../log/log-port.ts'
import { kafkaLog, noopListener, pollUntil, text, unique } from './kafka-test-helpers.ts'

t.test('a rebalance lifts the pause of the partitions it assigns again', async t => {
  const topic = unique('pause-rebalance')
  const groupId = unique('group')
  const log = await kafkaLog(t, [{ name: topic, partitions: 2 }])
  const producer = await log.createProducer({ clientId: 'p' })
  t.teardown(() => producer.close())
  const send = async (label: string): Promise<void> => {
    await producer.send([0, 1].map(partition => ({ topic, partition, key: null, value: Buffer.from(`${label}-${partition}`) })))
  }

  const a = log.createGroupConsumer({ groupId, clientId: 'a', topics: [topic], listener: noopListener, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000 })
  t.teardown(() => a.close())
  await send('first')
  const first = await pollUntil(a, all => all.length >= 2)
  t.same(first.map(r => text(r.value)).sort(), ['first-0', 'first-1'], 'A owns both partitions')

  a.pause(a.assignment())
  await send('while-paused')
  t.same(await a.poll(500), [], 'paused partitions return nothing')

  // B joins (A gives up a partition), then leaves (A gets both back): two eager rebalances.
  const b: GroupConsumer = log.createGroupConsumer({ groupId, clientId: 'b', topics: [topic], listener: noopListener, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000 })
  let bPolling = true
  const bLoop = (async () => { while (bPolling) await b.poll(100) })()
  const deadline = Date.now() + 60_000
  const seenByA: string[] = []
  while (!(a.assignment().length === 1 && b.assignment().length === 1)) {
    if (Date.now() > deadline) throw new Error('B never got a partition')
    seenByA.push(...(await a.poll(100)).map(r => text(r.value)!))
  }
  bPolling = false
  await bLoop
  await b.close()
  while (a.assignment().length !== 2) {
    if (Date.now() > deadline) throw new Error('A never got both partitions back')
    seenByA.push(...(await a.poll(100)).map(r => text(r.value)!))
  }
  t.pass('A owns both partitions again after B left')

  // Nothing was committed, so A reads from the start again: every record of both partitions,
  // including the ones sent while paused. A pause surviving the rebalance would return none.
  await send('after')
  const wanted = ['while-paused-0', 'while-paused-1', 'after-0', 'after-1']
  const readUntil = Date.now() + 30_000
  while (!wanted.every(v => seenByA.includes(v)) && Date.now() < readUntil) seenByA.push(...(await a.poll(100)).map(r => text(r.value)!))
  t.ok(wanted.every(v => seenByA.includes(v)), `both partitions deliver again (${seenByA.join(', ')})`)
})
