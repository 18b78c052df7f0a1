// Latencies of the Kafka log backend on the broker at REWARDS_KAFKA_BROKERS (default
// 127.0.0.1:9092): one idempotent acks=all send, one transaction commit (records + group offsets:
// AddPartitionsToTxn, Produce, AddOffsetsToTxn, TxnOffsetCommit, EndTxn) of 1 and 100 records,
// and produce -> group consumer poll end to end. Baseline: the plain send; the ratio says what
// exactly-once costs per commit.
// Run: node_modules/.bin/node bench/kafka-log-latency.ts [iterations]
import { randomBytes } from 'node:crypto'
import { createKafkaLog } from '../log/kafka/index.ts'

const iterations = Number(process.argv[2] ?? 100)
const brokers = (process.env.REWARDS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
const suffix = randomBytes(4).toString('hex')
const topic = `bench-latency-${suffix}`
const groupId = `bench-latency-${suffix}`
const value = Buffer.alloc(200, 'x')

function summary (samples: number[]): { median: number, p99: number } {
  const sorted = [...samples].sort((a, b) => a - b)
  return { median: sorted[Math.floor(sorted.length / 2)]!, p99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! }
}

function print (name: string, samples: number[], baseline?: number): number {
  const { median, p99 } = summary(samples)
  console.log(`${name.padEnd(44)} median ${median.toFixed(2).padStart(7)} ms   p99 ${p99.toFixed(2).padStart(7)} ms${baseline === undefined ? '' : `   x${(median / baseline).toFixed(1)} vs send`}`)
  return median
}

const log = createKafkaLog({ brokers, clientId: 'bench' })
try {
  await log.admin.createTopics([{ name: topic, partitions: 6 }])
  const plain = await log.createProducer({ clientId: 'bench-plain' })
  const eos = await log.createProducer({ clientId: 'bench-eos', transactionalId: `bench-${suffix}` })
  const consumer = log.createGroupConsumer({
    groupId, clientId: 'bench', topics: [topic],
    listener: { async onPartitionsRevoked () {}, async onPartitionsAssigned () {}, async onPartitionsLost () {} }
  })
  while (consumer.assignment().length === 0) await consumer.poll(100)
  while ((await consumer.poll(200)).length > 0) { /* drain */ }

  const send: number[] = []
  for (let i = 0; i < iterations; i++) {
    const started = performance.now()
    await plain.send([{ topic, key: Buffer.from(`k${i}`), value }])
    send.push(performance.now() - started)
  }
  const baseline = print('send 1 record (idempotent, acks=all)', send)

  for (const size of [1, 100]) {
    const commit: number[] = []
    for (let i = 0; i < iterations; i++) {
      const records = Array.from({ length: size }, (_, j) => ({ topic, key: Buffer.from(`k${i}-${j}`), value }))
      const started = performance.now()
      await eos.commitTransaction({ records, offsets: { group: consumer.groupMetadata()!, offsets: [{ topic, partition: 0, offset: BigInt(i) }] } })
      commit.push(performance.now() - started)
    }
    print(`transaction commit, ${size} record(s) + offsets`, commit, baseline)
  }
  while ((await consumer.poll(200)).length > 0) { /* drain */ }

  const endToEnd: number[] = []
  for (let i = 0; i < Math.min(iterations, 50); i++) {
    const started = performance.now()
    await plain.send([{ topic, key: Buffer.from(`e2e${i}`), value }])
    let got = 0
    while (got === 0) got = (await consumer.poll(1000)).length
    endToEnd.push(performance.now() - started)
  }
  print('send -> group consumer poll (end to end)', endToEnd, baseline)
  await consumer.close()
  await Promise.all([plain.close(), eos.close()])
} finally {
  await log.admin.deleteTopics([topic]).catch(() => undefined)
  await log.admin.deleteGroup(groupId).catch(() => undefined)
  await log.close()
}
