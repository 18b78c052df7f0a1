// Append throughput of the embedded log: records/s for transactions (one atomic, fsync'd RocksDB
// write each) of 1, 100 and 1000 records of ~200 bytes, each with a group offset commit as the
// stream engine sends them. Baseline: the same batches through the raw RocksDB binding with
// sync: false (no fsync), i.e. what durability costs.
// Run: node_modules/.bin/node bench/embedded-log-append.ts [seconds-per-case]
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openEmbeddedLog } from '../log/embedded/index.ts'
import { createRocksDatabase } from '../log/embedded/rocks-database.ts'

const secondsPerCase = Number(process.argv[2] ?? 3)
const value = Buffer.alloc(200, 'x')

async function measure (batch: number, run: (batch: number, seq: number) => Promise<void> | void): Promise<number> {
  const deadline = performance.now() + secondsPerCase * 1000
  const started = performance.now()
  let records = 0
  let seq = 0
  while (performance.now() < deadline) {
    await run(batch, seq++)
    records += batch
  }
  return records / ((performance.now() - started) / 1000)
}

const dir = await mkdtemp(join(tmpdir(), 'embedded-log-bench-'))
try {
  const log = await openEmbeddedLog({ dir: join(dir, 'log') })
  await log.admin.createTopics([{ name: 'out', partitions: 12 }, { name: 'in', partitions: 1 }])
  const consumer = log.createGroupConsumer({ groupId: 'bench', clientId: 'bench', topics: ['in'], listener: { async onPartitionsAssigned () {}, async onPartitionsRevoked () {}, async onPartitionsLost () {} } })
  while (consumer.assignment().length === 0) await consumer.poll(100)
  const producer = await log.createProducer({ clientId: 'bench', transactionalId: 'bench-0' })

  const raw = createRocksDatabase(join(dir, 'raw'))
  await raw.open({ createIfMissing: true })
  let rawSeq = 0n

  console.log(`embedded log append, ${secondsPerCase} s per case, ${value.length}-byte values, 12 partitions`)
  console.log('records/tx | sync (records/s) | tx/s   | raw RocksDB no-fsync (records/s) | ratio')
  for (const batch of [1, 100, 1000]) {
    const synced = await measure(batch, async (size, seq) => {
      const records = Array.from({ length: size }, (_, i) => ({ topic: 'out', key: Buffer.from(`member-${seq}-${i}`), value }))
      await producer.commitTransaction({ records, offsets: { group: consumer.groupMetadata()!, offsets: [{ topic: 'in', partition: 0, offset: BigInt(seq) }] } })
    })
    const unsynced = await measure(batch, size => {
      const b = raw.batch()
      for (let i = 0; i < size; i++) {
        const key = Buffer.allocUnsafe(8)
        key.writeBigUInt64BE(rawSeq++)
        b.put(key, value)
      }
      b._writeSync({ sync: false })
      void b.close()
    })
    console.log(`${String(batch).padStart(10)} | ${Math.round(synced).toString().padStart(16)} | ${Math.round(synced / batch).toString().padStart(6)} | ${Math.round(unsynced).toString().padStart(32)} | ${(synced / unsynced).toFixed(3)}`)
  }
  await raw.close()
  await log.close()
} finally {
  await rm(dir, { recursive: true, force: true })
}
