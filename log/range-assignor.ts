// The default PartitionAssignor of both log backends when a group consumer names none: Kafka's
// RangeAssignor, per topic. Members are sorted by id; each topic's partitions are cut into
// contiguous ranges, the first members taking one extra when the division is not exact. No user data.
import type { PartitionAssignor, TopicPartition } from './log-port.ts'

export const rangeAssignor: PartitionAssignor = ({ members, partitionsPerTopic }) => {
  const ids = members.map(m => m.memberId).sort()
  const result = new Map<string, { partitions: TopicPartition[], userData: Buffer | null }>()
  for (const id of ids) result.set(id, { partitions: [], userData: null })
  if (ids.length === 0) return result
  for (const topic of [...partitionsPerTopic.keys()].sort()) {
    const count = partitionsPerTopic.get(topic)!
    const base = Math.floor(count / ids.length)
    const extra = count % ids.length
    let next = 0
    ids.forEach((id, index) => {
      const take = base + (index < extra ? 1 : 0)
      for (let i = 0; i < take; i++) result.get(id)!.partitions.push({ topic, partition: next++ })
    })
  }
  return result
}
