// Names derived from a task: its id as text (`<subtopology>_<partition>`, as Kafka Streams prints
// a TaskId) and its stores' changelog topics. Their own file because the query router, the
// topic preparation and the state manager need them without the task itself.
import type { TaskId } from '../processor/processor.ts'

export const taskIdToString = (id: TaskId): string => `${id.subtopology}_${id.partition}`

export function changelogTopicName (applicationId: string, storeName: string): string {
  return `${applicationId}-${storeName}-changelog`
}
