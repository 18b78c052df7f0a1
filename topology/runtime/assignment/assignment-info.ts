// What the leader sends each member with its partitions (docs/engine.md, "High-availability
// assignor"): in the spirit of Kafka Streams' AssignmentInfo. The member's own active, standby and
// warm-up tasks, the whole group's endpoint -> tasks map (interactive-query routing, with
// standbys), the partition count of every sub-topology, and when to run a probing rebalance.
// Version 2 is binary (wire.ts); version 1 is the JSON of co-partition-assignor.ts, still read and
// written for groups that still have version 1 members.
import { AssignmentCodecError, isEndpoint, KIND_ASSIGNMENT, readHeader, Reader, Writer, writeHeader } from './wire.ts'
import { compareStrings, isTaskId, parseTaskId, sortTaskIds, type TaskId } from './task-ids.ts'

export const LATEST_ASSIGNMENT_VERSION = 2

export interface HostTasks {
  readonly active: readonly TaskId[]
  readonly standby: readonly TaskId[]
  readonly warmup: readonly TaskId[]
}

export interface AssignmentInfo {
  readonly version: number
  readonly latestSupportedVersion: number
  /** This member's tasks. A version 1 assignment does not list them (the member's partitions say
   *  which tasks it runs), so they are empty there. */
  readonly activeTasks: readonly TaskId[]
  readonly standbyTasks: readonly TaskId[]
  readonly warmupTasks: readonly TaskId[]
  /** Sub-topology -> its partition count (= its number of tasks) when the leader assigned. */
  readonly partitionsPerSubtopology: ReadonlyMap<number, number>
  /** host:port -> the tasks of the instance(s) listening there. Instances without an endpoint
   *  are not listed. */
  readonly hosts: ReadonlyMap<string, HostTasks>
  /** Epoch milliseconds (leader's clock) at which a member should trigger a probing rebalance
   *  so caught-up warm-ups take their active over; null when there is no warm-up. */
  readonly probingRebalanceAtMs: number | null
}

export type AssignmentInput = Omit<AssignmentInfo, 'version' | 'latestSupportedVersion'>

export function encodeAssignmentInfo (input: AssignmentInput, version: number = LATEST_ASSIGNMENT_VERSION): Buffer {
  if (version === 1) return encodeLegacy(input)
  if (version !== 2) throw new AssignmentCodecError(`assignment version ${version} cannot be written (1 or 2)`)
  const info = validateAssignment({ ...normalise(input), version: 2, latestSupportedVersion: LATEST_ASSIGNMENT_VERSION })
  const w = writeHeader(new Writer(), { kind: KIND_ASSIGNMENT, version: 2, latestSupportedVersion: LATEST_ASSIGNMENT_VERSION })
  w.tasks(info.activeTasks).tasks(info.standbyTasks).tasks(info.warmupTasks)
  const subs = [...info.partitionsPerSubtopology.keys()].sort((a, b) => a - b)
  w.u32(subs.length)
  for (const sub of subs) w.u32(sub).u32(info.partitionsPerSubtopology.get(sub)!)
  const hosts = [...info.hosts.keys()].sort(compareStrings)
  w.u32(hosts.length)
  for (const host of hosts) {
    const tasks = info.hosts.get(host)!
    w.string(host).tasks(tasks.active).tasks(tasks.standby).tasks(tasks.warmup)
  }
  w.i64(BigInt(info.probingRebalanceAtMs ?? -1))
  return w.toBuffer()
}

/** Decodes version 2, or the legacy version 1 JSON. Throws AssignmentCodecError on anything else. */
export function decodeAssignmentInfo (data: Buffer): AssignmentInfo {
  if (data.length > 0 && data[0] === 0x7b) return decodeLegacy(data)
  const r = new Reader(data)
  const header = readHeader(r, KIND_ASSIGNMENT)
  if (header.version !== 2) throw new AssignmentCodecError(`assignment version ${header.version} is not supported (this code reads 1 and 2)`)
  const activeTasks = r.tasks('active tasks')
  const standbyTasks = r.tasks('standby tasks')
  const warmupTasks = r.tasks('warm-up tasks')
  const partitionsPerSubtopology = new Map<number, number>()
  const subs = r.count('sub-topologies', 8)
  let lastSub = -1
  for (let i = 0; i < subs; i++) {
    const sub = r.u32('sub-topology')
    if (i > 0 && sub <= lastSub) throw new AssignmentCodecError(`sub-topology ${sub} is out of order or listed twice`)
    lastSub = sub
    partitionsPerSubtopology.set(sub, r.u32(`partitions of sub-topology ${sub}`))
  }
  const hosts = new Map<string, HostTasks>()
  const hostCount = r.count('hosts', 15)
  let lastHost = ''
  for (let i = 0; i < hostCount; i++) {
    const host = r.string('host')
    if (i > 0 && compareStrings(lastHost, host) >= 0) throw new AssignmentCodecError(`host ${host} is out of order or listed twice`)
    lastHost = host
    hosts.set(host, { active: r.tasks(`active tasks of ${host}`), standby: r.tasks(`standby tasks of ${host}`), warmup: r.tasks(`warm-up tasks of ${host}`) })
  }
  const probing = r.i64('probing rebalance time')
  if (probing < -1n || probing > BigInt(Number.MAX_SAFE_INTEGER)) throw new AssignmentCodecError(`probing rebalance time ${probing} is out of range`)
  r.end('assignment')
  return validateAssignment({ ...header, activeTasks, standbyTasks, warmupTasks, partitionsPerSubtopology, hosts, probingRebalanceAtMs: probing === -1n ? null : Number(probing) })
}

function normalise (input: AssignmentInput): AssignmentInput {
  const hosts = new Map<string, HostTasks>()
  for (const [host, tasks] of input.hosts) hosts.set(host, { active: sortTaskIds(tasks.active), standby: sortTaskIds(tasks.standby), warmup: sortTaskIds(tasks.warmup) })
  return {
    activeTasks: sortTaskIds(input.activeTasks),
    standbyTasks: sortTaskIds(input.standbyTasks),
    warmupTasks: sortTaskIds(input.warmupTasks),
    partitionsPerSubtopology: input.partitionsPerSubtopology,
    hosts,
    probingRebalanceAtMs: input.probingRebalanceAtMs
  }
}

function validateAssignment (info: AssignmentInfo): AssignmentInfo {
  for (const [sub, partitions] of info.partitionsPerSubtopology) {
    if (!Number.isInteger(sub) || sub < 0 || !Number.isInteger(partitions) || partitions < 0 || partitions > 999_999_999) throw new AssignmentCodecError(`sub-topology ${sub}: bad partition count ${partitions}`)
  }
  const known = (id: TaskId): boolean => {
    const parsed = parseTaskId(id)
    if (parsed === null) return false
    const partitions = info.partitionsPerSubtopology.get(parsed[0])
    return partitions !== undefined && parsed[1] < partitions
  }
  const checkRoles = (where: string, lists: ReadonlyArray<readonly [string, readonly TaskId[]]>): void => {
    const roles = new Map<TaskId, string>()
    for (const [role, ids] of lists) {
      for (const id of ids) {
        if (!isTaskId(id) || !known(id)) throw new AssignmentCodecError(`${where}: ${role} task ${JSON.stringify(id)} is not a task of the topology`)
        const other = roles.get(id)
        if (other !== undefined) throw new AssignmentCodecError(`${where}: task ${id} is both ${other} and ${role}`)
        roles.set(id, role)
      }
    }
  }
  checkRoles('member', [['active', info.activeTasks], ['standby', info.standbyTasks], ['warm-up', info.warmupTasks]])
  const activeHost = new Map<TaskId, string>()
  for (const [host, tasks] of info.hosts) {
    if (!isEndpoint(host)) throw new AssignmentCodecError(`host ${JSON.stringify(host)} is not host:port`)
    checkRoles(`host ${host}`, [['active', tasks.active], ['standby', tasks.standby], ['warm-up', tasks.warmup]])
    for (const id of tasks.active) {
      const other = activeHost.get(id)
      if (other !== undefined) throw new AssignmentCodecError(`task ${id} is active on both ${other} and ${host}`)
      activeHost.set(id, host)
    }
  }
  if (info.probingRebalanceAtMs !== null && (!Number.isSafeInteger(info.probingRebalanceAtMs) || info.probingRebalanceAtMs < 0)) throw new AssignmentCodecError(`probing rebalance time ${info.probingRebalanceAtMs} is not a time`)
  return info
}

// Version 1: co-partition-assignor.ts's AssignmentInfo, { version: 1, owners, partitions }.
function encodeLegacy (input: AssignmentInput): Buffer {
  const info = validateAssignment({ ...normalise(input), version: 1, latestSupportedVersion: 1 })
  const owners: Record<string, string | null> = {}
  for (const [sub, partitions] of [...info.partitionsPerSubtopology].sort((a, b) => a[0] - b[0])) {
    for (let p = 0; p < partitions; p++) owners[`${sub}_${p}`] = null
  }
  for (const [host, tasks] of info.hosts) for (const id of tasks.active) owners[id] = host
  const partitions = Object.fromEntries([...info.partitionsPerSubtopology].map(([sub, n]) => [String(sub), n]))
  return Buffer.from(JSON.stringify({ version: 1, owners, partitions }))
}

function decodeLegacy (data: Buffer): AssignmentInfo {
  let parsed: unknown
  try {
    parsed = JSON.parse(data.toString('utf8'))
  } catch {
    throw new AssignmentCodecError('legacy assignment is not JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new AssignmentCodecError('legacy assignment is not a JSON object')
  const { version, owners, partitions } = parsed as { version?: unknown, owners?: unknown, partitions?: unknown }
  if (version !== 1) throw new AssignmentCodecError(`legacy assignment version ${JSON.stringify(version)} is not 1`)
  if (typeof owners !== 'object' || owners === null || Array.isArray(owners)) throw new AssignmentCodecError('legacy assignment: owners is not an object')
  if (typeof partitions !== 'object' || partitions === null || Array.isArray(partitions)) throw new AssignmentCodecError('legacy assignment: partitions is not an object')
  const partitionsPerSubtopology = new Map<number, number>()
  for (const [sub, n] of Object.entries(partitions)) {
    if (!/^(0|[1-9]\d{0,8})$/.test(sub) || typeof n !== 'number') throw new AssignmentCodecError(`legacy assignment: partitions of ${JSON.stringify(sub)} is not a count`)
    partitionsPerSubtopology.set(Number(sub), n)
  }
  const active = new Map<string, TaskId[]>()
  for (const [id, host] of Object.entries(owners)) {
    if (host !== null && typeof host !== 'string') throw new AssignmentCodecError(`legacy assignment: owner of ${JSON.stringify(id)} is not a string`)
    if (!isTaskId(id)) throw new AssignmentCodecError(`legacy assignment: ${JSON.stringify(id)} is not a task id`)
    if (host === null) continue
    let list = active.get(host)
    if (list === undefined) active.set(host, list = [])
    list.push(id)
  }
  const hosts = new Map<string, HostTasks>([...active].map(([host, ids]) => [host, { active: sortTaskIds(ids), standby: [], warmup: [] }]))
  return validateAssignment({ version: 1, latestSupportedVersion: 1, activeTasks: [], standbyTasks: [], warmupTasks: [], partitionsPerSubtopology, hosts, probingRebalanceAtMs: null })
}
