// Task ids of the assignment modules: "<subtopology>_<partition>", as everywhere in the engine
// (stream-task.ts taskIdToString, the state directory's task folders). Sorted numerically by
// sub-topology then partition, so every ordering the assignor makes is the same on every leader.
export type TaskId = string

const TASK_ID = /^(0|[1-9]\d{0,8})_(0|[1-9]\d{0,8})$/

export function taskId (subtopology: number, partition: number): TaskId {
  return `${subtopology}_${partition}`
}

/** [subtopology, partition], or null when `id` is not a task id. */
export function parseTaskId (id: string): [number, number] | null {
  const match = TASK_ID.exec(id)
  return match === null ? null : [Number(match[1]), Number(match[2])]
}

export function isTaskId (id: string): boolean {
  return TASK_ID.test(id)
}

export function compareTaskIds (a: TaskId, b: TaskId): number {
  const [sa, pa] = parseTaskId(a) ?? [Number.MAX_SAFE_INTEGER, 0]
  const [sb, pb] = parseTaskId(b) ?? [Number.MAX_SAFE_INTEGER, 0]
  return sa - sb || pa - pb || (a < b ? -1 : a > b ? 1 : 0)
}

export function sortTaskIds (ids: Iterable<TaskId>): TaskId[] {
  return [...ids].sort(compareTaskIds)
}

/** Plain code-unit order for client and member ids (not locale-dependent). */
export function compareStrings (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
