// What each group member tells the leader when it joins (docs/engine.md, "High-availability
// assignor"): in the spirit of Kafka Streams' SubscriptionInfo. Version 2 is a binary encoding
// (wire.ts); version 1 is the JSON `{ host, previousTasks }` of co-partition-assignor.ts, still
// read so a group can be upgraded one instance at a time.
import { AssignmentCodecError, isEndpoint, KIND_SUBSCRIPTION, readHeader, Reader, Writer, writeHeader } from './wire.ts'
import { compareTaskIds, isTaskId, sortTaskIds, type TaskId } from './task-ids.ts'

/** The newest subscription version this code writes and reads. */
export const LATEST_SUBSCRIPTION_VERSION = 2

/** Offset sum of a task the member runs as a restored (running) active: caught up by definition,
 *  whatever the changelog end offsets say (Kafka Streams' Task.LATEST_OFFSET). */
export const RUNNING_OFFSET_SUM = -2n

export interface SubscriptionInfo {
  /** 1 (legacy JSON) or 2. */
  readonly version: number
  /** The newest version the member understands (assignments are sent in min(this, ours)). */
  readonly latestSupportedVersion: number
  /** Identifies the instance (its state directory): members with the same process id are threads
   *  of one instance and share its state. Legacy subscriptions use the member id. */
  readonly processId: string
  /** host:port of the instance's API listener (interactive queries), or null. */
  readonly endpoint: string | null
  /** Tasks this member owned as active before the rebalance (running or restoring). */
  readonly previousActive: readonly TaskId[]
  /** Tasks this member kept as hot standbys. */
  readonly previousStandby: readonly TaskId[]
  /** Tasks this member was warming up (standbys placed to take the active over later). */
  readonly previousWarmup: readonly TaskId[]
  /** For every task with state in the instance's state directory: the sum over the task's
   *  changelog partitions of the offsets its stores hold (from the `.checkpoint` files, or live
   *  for a running standby), or RUNNING_OFFSET_SUM for a running active. */
  readonly taskOffsetSums: ReadonlyMap<TaskId, bigint>
}

export interface SubscriptionInput {
  readonly processId: string
  readonly endpoint: string | null
  readonly previousActive?: Iterable<TaskId>
  readonly previousStandby?: Iterable<TaskId>
  readonly previousWarmup?: Iterable<TaskId>
  readonly taskOffsetSums?: ReadonlyMap<TaskId, bigint>
}

export function encodeSubscriptionInfo (input: SubscriptionInput): Buffer {
  const info = validateSubscription({
    version: LATEST_SUBSCRIPTION_VERSION,
    latestSupportedVersion: LATEST_SUBSCRIPTION_VERSION,
    processId: input.processId,
    endpoint: input.endpoint,
    previousActive: sortTaskIds(input.previousActive ?? []),
    previousStandby: sortTaskIds(input.previousStandby ?? []),
    previousWarmup: sortTaskIds(input.previousWarmup ?? []),
    taskOffsetSums: input.taskOffsetSums ?? new Map()
  })
  const w = writeHeader(new Writer(), { kind: KIND_SUBSCRIPTION, version: info.version, latestSupportedVersion: info.latestSupportedVersion })
  w.string(info.processId).nullableString(info.endpoint)
  w.tasks(info.previousActive).tasks(info.previousStandby).tasks(info.previousWarmup)
  const sums = sortTaskIds(info.taskOffsetSums.keys())
  w.u32(sums.length)
  for (const id of sums) w.task(id).i64(info.taskOffsetSums.get(id)!)
  return w.toBuffer()
}

/** Decodes a version 2 subscription, or a legacy version 1 JSON one (then `memberId` is the
 *  process id and the previous tasks count as running actives). Throws AssignmentCodecError on
 *  anything else, including a future version this code cannot read. */
export function decodeSubscriptionInfo (data: Buffer, memberId: string): SubscriptionInfo {
  if (data.length > 0 && data[0] === 0x7b) return decodeLegacy(data, memberId)
  const r = new Reader(data)
  const header = readHeader(r, KIND_SUBSCRIPTION)
  if (header.version !== 2) throw new AssignmentCodecError(`subscription version ${header.version} is not supported (this code reads 1 and 2)`)
  const processId = r.string('process id')
  const endpoint = r.nullableString('endpoint')
  const previousActive = r.tasks('previous active tasks')
  const previousStandby = r.tasks('previous standby tasks')
  const previousWarmup = r.tasks('previous warm-up tasks')
  const n = r.count('task offset sums', 16)
  const taskOffsetSums = new Map<TaskId, bigint>()
  let previous: TaskId | undefined
  for (let i = 0; i < n; i++) {
    const id = r.task('task offset sum')
    if (previous !== undefined && compareTaskIds(previous, id) >= 0) throw new AssignmentCodecError(`task offset sums: task ${id} is out of order or listed twice`)
    previous = id
    taskOffsetSums.set(id, r.i64(`offset sum of ${id}`))
  }
  r.end('subscription')
  return validateSubscription({ ...header, processId, endpoint, previousActive, previousStandby, previousWarmup, taskOffsetSums })
}

function decodeLegacy (data: Buffer, memberId: string): SubscriptionInfo {
  let parsed: unknown
  try {
    parsed = JSON.parse(data.toString('utf8'))
  } catch {
    throw new AssignmentCodecError('legacy subscription is not JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new AssignmentCodecError('legacy subscription is not a JSON object')
  const { host, previousTasks } = parsed as { host?: unknown, previousTasks?: unknown }
  if (host !== null && host !== undefined && typeof host !== 'string') throw new AssignmentCodecError('legacy subscription: host is not a string')
  if (previousTasks !== undefined && (!Array.isArray(previousTasks) || !previousTasks.every(t => typeof t === 'string'))) throw new AssignmentCodecError('legacy subscription: previousTasks is not a list of strings')
  const previousActive = sortTaskIds(new Set((previousTasks as string[] | undefined) ?? []))
  return validateSubscription({
    version: 1,
    latestSupportedVersion: 1,
    processId: memberId,
    endpoint: host ?? null,
    previousActive,
    previousStandby: [],
    previousWarmup: [],
    taskOffsetSums: new Map(previousActive.map(id => [id, RUNNING_OFFSET_SUM]))
  })
}

function validateSubscription (info: SubscriptionInfo): SubscriptionInfo {
  if (info.processId.length === 0) throw new AssignmentCodecError('process id is empty')
  if (info.endpoint !== null && !isEndpoint(info.endpoint)) throw new AssignmentCodecError(`endpoint ${JSON.stringify(info.endpoint)} is not host:port`)
  const roles = new Map<TaskId, string>()
  for (const [role, ids] of [['active', info.previousActive], ['standby', info.previousStandby], ['warm-up', info.previousWarmup]] as const) {
    for (const id of ids) {
      if (!isTaskId(id)) throw new AssignmentCodecError(`previous ${role} task ${JSON.stringify(id)} is not a task id`)
      const other = roles.get(id)
      if (other !== undefined) throw new AssignmentCodecError(`task ${id} is both a previous ${other} and a previous ${role} task`)
      roles.set(id, role)
    }
  }
  for (const [id, sum] of info.taskOffsetSums) {
    if (!isTaskId(id)) throw new AssignmentCodecError(`offset sum of ${JSON.stringify(id)}: not a task id`)
    if (sum < 0n && sum !== RUNNING_OFFSET_SUM) throw new AssignmentCodecError(`offset sum of ${id} is ${sum}: negative`)
    if (sum === RUNNING_OFFSET_SUM && roles.get(id) !== 'active') throw new AssignmentCodecError(`task ${id} is reported running but is not a previous active task`)
  }
  return info
}
