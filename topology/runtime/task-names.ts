// Names derived from a task: its id as text (`<subtopology>_<partition>`, as Kafka Streams prints
// a TaskId), its stores' changelog topics, the task of each input partition. Their own file because the query router, the
// topic preparation and the state manager need them without the task itself.
import type { TopicPartition } from '../../log/log-port.ts'
import type { TaskId } from '../processor/processor.ts'

export const taskIdToString = (id: TaskId): string => `${id.subtopology}_${id.partition}`

export function changelogTopicName (applicationId: string, storeName: string): string {
  return `${applicationId}-${storeName}-changelog`
}

/** The partitions of `partitions` grouped by the task that reads them (`subByTopic`: source topic
 *  → sub-topology id); partitions of no sub-topology are left out. */
export function partitionsByTask (partitions: readonly TopicPartition[], subByTopic: ReadonlyMap<string, number>): Map<string, TopicPartition[]> {
  const out = new Map<string, TopicPartition[]>()
  for (const tp of partitions) {
    const sub = subByTopic.get(tp.topic)
    if (sub === undefined) continue
    const name = taskIdToString({ subtopology: sub, partition: tp.partition })
    out.set(name, [...(out.get(name) ?? []), tp])
  }
  return out
}
