// Helpers of the changelog reader's tests (topology/runtime/changelog-reader.ts): a changelog
// written to a log, a restore into a Map per partition, steps until owners are done.
import type { Log, ProducerRecord, TopicPartition } from '../../../log/log-port.ts'
import type { ChangelogReader } from '../../../topology/runtime/changelog-reader.ts'
import type { ChangelogEntry, ChangelogRestore } from '../../../topology/runtime/changelog-restore.ts'

export const PARTITIONS = 4

/** Each partition: `perPartition` records over 10 keys, every 7th a tombstone. */
export async function writeChangelog (log: Log, topic: string, perPartition: number): Promise<Map<number, Map<string, string>>> {
  await log.admin.createTopics([{ name: topic, partitions: PARTITIONS }])
  const producer = await log.createProducer({ clientId: 'changelog-reader-test' })
  const expected = new Map<number, Map<string, string>>()
  const records: ProducerRecord[] = []
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const state = new Map<string, string>()
    for (let i = 0; i < perPartition; i++) {
      const key = `k${i % 10}`
      const value = i % 7 === 6 ? null : `${partition}:${i}`
      records.push({ topic, partition, key: Buffer.from(key), value: value === null ? null : Buffer.from(value) })
      if (value === null) state.delete(key)
      else state.set(key, value)
    }
    expected.set(partition, state)
  }
  await producer.send(records)
  await producer.close()
  return expected
}

export function sinkFor (tp: TopicPartition, stores: Map<number, Map<string, string>>, from: bigint | null = null): ChangelogRestore {
  const store = stores.get(tp.partition) ?? new Map<string, string>()
  stores.set(tp.partition, store)
  return {
    changelog: tp,
    store: 'totals',
    from,
    apply: (entries: ChangelogEntry[]) => {
      for (const { key, value } of entries) {
        if (value === null) store.delete(key.toString())
        else store.set(key.toString(), value.toString())
      }
    }
  }
}

export async function untilDone (reader: ChangelogReader, owners: number): Promise<Map<string, { records: number, offsets: Array<TopicPartition & { offset: bigint }> }>> {
  const done = new Map<string, { records: number, offsets: Array<TopicPartition & { offset: bigint }> }>()
  const deadline = Date.now() + 60_000
  while (done.size < owners) {
    if (Date.now() > deadline) throw new Error(`restore timed out: ${done.size} of ${owners} owners done`)
    for (const d of await reader.step(100)) done.set(d.owner, d)
  }
  return done
}
