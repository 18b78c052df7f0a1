// The default PartitionAssignor: Kafka's range assignment per topic (members sorted by id, each
// topic's partitions split into contiguous ranges, the first members taking one extra). Used
// when the group consumer's options name no assignor. Deterministic, no user data.
import type { PartitionAssignor, TopicPartition } from '../log-port.ts'

export const rangeAssignor: PartitionAssignor = ({ members, partitionsPerTopic }) => {
  const ids = members.map(m => m.memberId).sort()
  const out = new Map<string, { partitions: TopicPartition[], userData: Buffer | null }>()
  for (const id of ids) out.set(id, { partitions: [], userData: null })
  if (ids.length === 0) return out
  for (const topic of [...partitionsPerTopic.keys()].sort()) {
    const count = partitionsPerTopic.get(topic)!
    const per = Math.floor(count / ids.length)
    const extra = count % ids.length
    let next = 0
    ids.forEach((id, index) => {
      const take = per + (index < extra ? 1 : 0)
      for (let i = 0; i < take; i++) out.get(id)!.partitions.push({ topic, partition: next++ })
    })
  }
  return out
}
