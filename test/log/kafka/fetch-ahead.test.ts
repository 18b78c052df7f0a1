// The Kafka group consumer fetches ahead: a partition's next records are fetched (at the offset
// after what it holds) while its buffered records drain, and the next fetch is sent as soon as a
// poll returns (log/kafka/kafka-consumer-fetcher.ts startPrefetch). A fetch in flight must never
// hand back anything stale: after a seek, poll() continues exactly at the sought offset; a paused
// partition returns nothing until resumed, then continues at its position; after a revocation no
// record of the revoked partition is returned, and a partition assigned again continues at its
// committed offset. Each case sends more than one fetch holds (256 KiB per partition) and polls
// a few records at a time, so a fetch ahead is in flight when the test acts.
import t from 'tap'
import type { GroupConsumer, Log, LogRecord, TopicPartition } from '../../../log/log-port.ts'
import { kafkaLog, noopListener, unique } from './kafka-test-helpers.ts'
import { startTimeline, stopTimeline } from '../../../lib/tracing/engine-timeline.ts'

const PER_PARTITION = 6000
const VALUE = 'x'.repeat(90)

async function fill (log: Log, topic: string, partitions: number): Promise<void> {
  const producer = await log.createProducer({ clientId: unique('fill') })
  try {
    for (let from = 0; from < PER_PARTITION; from += 1500) {
      const records = []
      for (let partition = 0; partition < partitions; partition++) {
        for (let i = from; i < from + 1500; i++) records.push({ topic, partition, key: Buffer.from(String(i)), value: Buffer.from(`${i}:${VALUE}`) })
      }
      // A topic just created may not be in every broker's metadata yet (LOG_TOPIC_NOT_FOUND).
      for (let attempt = 0; ; attempt++) {
        try { await producer.send(records); break } catch (error) {
          if ((error as { code?: string }).code !== 'LOG_TOPIC_NOT_FOUND' || attempt >= 50) throw error
          await new Promise(resolve => setTimeout(resolve, 100))
        }
      }
    }
  } finally {
    await producer.close()
  }
}

/** Polls until `until(all records so far)` holds; fails after the budget. */
async function pollUntil (consumer: GroupConsumer, until: (records: LogRecord[]) => boolean, budgetMs = 30_000): Promise<LogRecord[]> {
  const records: LogRecord[] = []
  const deadline = Date.now() + budgetMs
  while (!until(records)) {
    if (Date.now() > deadline) throw new Error(`condition not met after ${budgetMs} ms (${records.length} records)`)
    records.push(...await consumer.poll(200))
  }
  return records
}

/** Offsets of one partition's records, in the order returned. */
const offsetsOf = (records: LogRecord[], partition = 0): number[] => records.filter(r => r.partition === partition).map(r => Number(r.offset))
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i)

t.test('records come in offset order, each once, with the position after the last returned', async t => {
  const topic = unique('ahead-order')
  const log = await kafkaLog(t, [{ name: topic, partitions: 2 }])
  await fill(log, topic, 2)
  const consumer = log.createGroupConsumer({ groupId: unique('group'), clientId: 'c', topics: [topic], listener: noopListener, maxPollRecords: 100 })
  t.teardown(() => consumer.close())
  const all: LogRecord[] = []
  const deadline = Date.now() + 60_000
  while (all.length < 2 * PER_PARTITION && Date.now() < deadline) {
    const records = await consumer.poll(200)
    all.push(...records)
    for (const partition of [0, 1]) {
      const seen = offsetsOf(all, partition)
      if (seen.length > 0 && consumer.position({ topic, partition }) !== BigInt(seen.at(-1)! + 1)) t.fail(`partition ${partition}: position ${consumer.position({ topic, partition })} after offset ${seen.at(-1)!}`)
    }
  }
  t.same(offsetsOf(all, 0), range(0, PER_PARTITION), 'partition 0: every offset once, in order')
  t.same(offsetsOf(all, 1), range(0, PER_PARTITION), 'partition 1: every offset once, in order')
  t.equal(consumer.endOffset({ topic, partition: 0 }), BigInt(PER_PARTITION), 'the end offset is known')
})

t.test('a seek while a fetch ahead is in flight continues exactly at the sought offset', async t => {
  const topic = unique('ahead-seek')
  const log = await kafkaLog(t, [{ name: topic, partitions: 1 }])
  await fill(log, topic, 1)
  const consumer = log.createGroupConsumer({ groupId: unique('group'), clientId: 'c', topics: [topic], listener: noopListener, maxPollRecords: 50 })
  t.teardown(() => consumer.close())
  const tp = { topic, partition: 0 }
  // Several rounds: read some, then seek (back, forward) right after a poll returned, when the
  // next fetch has just been sent.
  const targets = [10, 4000, 0, 5990, 2500]
  let before = await pollUntil(consumer, records => records.length >= 300)
  t.same(offsetsOf(before), range(0, before.length), 'first records in order')
  for (const target of targets) {
    consumer.seek({ ...tp, offset: BigInt(target) })
    t.equal(consumer.position(tp), BigInt(target), `position ${target} after the seek`)
    const want = Math.min(300, PER_PARTITION - target)
    before = await pollUntil(consumer, records => records.length >= want)
    t.same(offsetsOf(before).slice(0, want), range(target, target + want), `after seek(${target}): offsets ${target}.. in order, nothing from the fetch in flight`)
  }
})

t.test('a pause while a fetch ahead is in flight returns nothing until resumed, then continues at the position', async t => {
  const topic = unique('ahead-pause')
  const log = await kafkaLog(t, [{ name: topic, partitions: 2 }])
  await fill(log, topic, 2)
  const consumer = log.createGroupConsumer({ groupId: unique('group'), clientId: 'c', topics: [topic], listener: noopListener, maxPollRecords: 50 })
  t.teardown(() => consumer.close())
  const paused: TopicPartition = { topic, partition: 0 }
  const all = await pollUntil(consumer, records => offsetsOf(records, 0).length > 0)
  consumer.pause([paused])
  const at = consumer.position(paused)
  // Long enough for the fetch in flight (and later ones of partition 1) to come back.
  const whilePaused = await pollUntil(consumer, records => offsetsOf(records, 1).length + offsetsOf(all, 1).length >= PER_PARTITION, 60_000)
  t.same(offsetsOf(whilePaused, 0), [], 'nothing of the paused partition')
  t.equal(consumer.position(paused), at, 'its position did not move')
  all.push(...whilePaused)
  consumer.resume([paused])
  all.push(...await pollUntil(consumer, records => offsetsOf(records, 0).length + offsetsOf(all, 0).length >= PER_PARTITION, 60_000))
  t.same(offsetsOf(all, 0), range(0, PER_PARTITION), 'partition 0: every offset once, in order, across the pause')
  t.same(offsetsOf(all, 1), range(0, PER_PARTITION), 'partition 1: every offset once, in order')
})

t.test('a partition paused for long beside caught-up ones: the fetches ahead back off to the full wait', async t => {
  const topic = unique('ahead-backoff')
  const log = await kafkaLog(t, [{ name: topic, partitions: 2 }])
  await fill(log, topic, 2)
  const consumer = log.createGroupConsumer({ groupId: unique('group'), clientId: 'c', topics: [topic], listener: noopListener, maxPollRecords: 500 })
  t.teardown(() => consumer.close())
  const all = await pollUntil(consumer, records => offsetsOf(records, 0).length > 0)
  consumer.pause([{ topic, partition: 0 }])
  await pollUntil(consumer, records => offsetsOf(records, 1).length + offsetsOf(all, 1).length >= PER_PARTITION, 60_000)
  // Partition 1 is at its end and partition 0 stays paused: each fetch ahead asks for partition 1
  // alone and brings nothing. At a fixed 20 ms wait that would be ~100 fetches (and as many
  // empty polls) in these 2 s; doubling to 500 ms it is about a dozen.
  startTimeline()
  let polls = 0
  let read = 0
  const until = Date.now() + 2000
  try {
    while (Date.now() < until) { read += (await consumer.poll(200)).length; polls++ }
  } finally {
    t.equal(read, 0, 'nothing to read')
    const fetches = stopTimeline().filter(e => e.what === 'fetch').length
    t.ok(fetches <= 20, `${fetches} fetches in 2 s`)
    t.ok(polls <= 25, `${polls} polls of 200 ms in 2 s (an empty fetch ahead ends a poll early)`)
  }
})

for (const protocol of ['eager', 'cooperative'] as const) {
  t.test(`${protocol}: after a revocation no record of a revoked partition is returned, and one assigned again continues at its committed offset`, async t => {
    const topic = unique(`ahead-revoke-${protocol}`)
    const groupId = unique('group')
    const log = await kafkaLog(t, [{ name: topic, partitions: 2 }])
    await fill(log, topic, 2)
    // A's state as its listener sees it: what it owns, the committed offset of each partition,
    // and the offset its next record of each partition must have (a revoked partition, assigned
    // again, continues from the committed offset).
    const owned = new Set<number>()
    const committed = new Map<number, bigint>()
    const next = new Map<number, number>()
    const events: string[] = []
    let readAtRevoke = -1
    const listenerOf = (name: string): Parameters<Log['createGroupConsumer']>[0]['listener'] => ({
      async onPartitionsRevoked (partitions) {
        if (readAtRevoke < 0) readAtRevoke = [...next.values()].reduce((sum, n) => sum + n, 0)
        for (const tp of partitions) { owned.delete(tp.partition); next.delete(tp.partition) }
        events.push(`${name} revoked ${partitions.map(tp => tp.partition).join(',')}`)
      },
      async onPartitionsAssigned (partitions) {
        for (const tp of partitions) owned.add(tp.partition)
        events.push(`${name} assigned ${partitions.map(tp => tp.partition).join(',')}`)
      },
      async onPartitionsLost (partitions) {
        for (const tp of partitions) { owned.delete(tp.partition); next.delete(tp.partition) }
      }
    })
    // Heartbeats every 200 ms: A learns of the rebalance while it still has records to read.
    const a = log.createGroupConsumer({ groupId, clientId: 'a', topics: [topic], listener: listenerOf('a'), maxPollRecords: 50, rebalanceProtocol: protocol, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, heartbeatIntervalMs: 200 })
    t.teardown(() => a.close())
    /** A's polls: every record must be of a partition A owns when poll() returns it, and continue
     *  that partition where A's previous record (or the committed offset) left it. */
    const checkedPoll = async (): Promise<LogRecord[]> => {
      const records = await a.poll(100)
      for (const r of records) {
        if (!owned.has(r.partition)) t.fail(`A returned offset ${r.offset} of partition ${r.partition}, which it does not own (${events.join('; ')})`)
        const expected = next.get(r.partition) ?? Number(committed.get(r.partition) ?? 0n)
        if (Number(r.offset) !== expected) t.fail(`partition ${r.partition}: offset ${r.offset} where ${expected} was next (${events.join('; ')})`)
        next.set(r.partition, Number(r.offset) + 1)
      }
      // Commit what was returned, so that a partition assigned again continues there (a commit
      // refused during the rebalance leaves the previous one, which is where A then continues).
      const offsets = [...next].map(([partition, offset]) => ({ topic, partition, offset: BigInt(offset) }))
      if (records.length > 0) {
        try {
          await a.commitOffsets(offsets)
          for (const o of offsets) committed.set(o.partition, o.offset)
        } catch {
          // Refused (the group rebalances): the previous commit stands.
        }
      }
      return records
    }
    await (async () => { while (owned.size < 2 || next.size < 2) await checkedPoll() })()
    // B joins: A gives up one partition (cooperative) or everything, then gets one back (eager).
    const revokedBefore = events.length
    const b = log.createGroupConsumer({ groupId, clientId: 'b', topics: [topic], listener: noopListener, maxPollRecords: 50, rebalanceProtocol: protocol, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, heartbeatIntervalMs: 200 })
    let bPolling = true
    const bLoop = (async () => { while (bPolling) await b.poll(100) })()
    const deadline = Date.now() + 60_000
    while (!(a.assignment().length === 1 && b.assignment().length === 1)) {
      if (Date.now() > deadline) throw new Error(`the group never split the partitions (${events.join('; ')})`)
      await checkedPoll()
    }
    t.ok(events.length > revokedBefore, `A saw the rebalance (${events.slice(revokedBefore).join('; ')})`)
    const kept = [...owned]
    t.equal(kept.length, 1, 'A owns one partition')
    t.comment(`A had read ${readAtRevoke} of ${2 * PER_PARTITION} records at the revocation`)
    // A reads its partition to the end: in order, from where it was committed.
    const at = (): number => next.get(kept[0]!) ?? Number(committed.get(kept[0]!) ?? 0n)
    await (async () => { while (at() < PER_PARTITION && Date.now() < deadline) await checkedPoll() })()
    t.equal(at(), PER_PARTITION, 'A read its partition to the end')
    bPolling = false
    await bLoop
    await b.close()
  })
}
