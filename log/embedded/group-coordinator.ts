// The in-process group coordinator of the embedded log: Kafka's classic (eager) group protocol
// reduced to one process. A group has a generation, members with ids, and a state:
//   Empty -> PreparingRebalance (a member joined, left, expired, or a subscribed topic changed)
//         -> Stable (every current member rejoined, or the rebalance timeout removed the others;
//            the generation moves on and the leader's assignor decides the assignment)
// Members drive it from inside poll(): a member of a rebalancing group first revokes (the
// consumer awaits onPartitionsRevoked), then rejoins; nobody gets an assignment before every
// member has rejoined, so a partition is never handed over before its old owner let it go.
// A member that stays out of poll() longer than its session timeout is removed (a consumer that
// was abandoned without close()); one that does not rejoin within the rebalance timeout too.
// Cooperative groups (KIP-429; docs/engine.md "Group protocol and rebalancing"): a member rejoins
// keeping its partitions and says which it owns; the leader's target is applied through
// cooperativeAssignment (a partition changing owner goes to nobody this round), and a member
// that revoked something asks for the follow-up round (requestRebalance). A group's members all use
// one protocol: a member of the other kind is refused, as the broker does.
import { StreamsError } from '../../topology/streams-error.ts'
import type { GroupDescription, PartitionAssignor, RebalanceProtocol, TopicPartition } from '../log-port.ts'
import { cooperativeAssignment } from '../cooperative-assignment.ts'

export interface MemberRegistration {
  readonly clientId: string
  readonly topics: readonly string[]
  readonly userData: Buffer | null
  readonly assignor: PartitionAssignor
  readonly sessionTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly protocol: RebalanceProtocol
  /** Wakes the member's consumer (it is waiting in poll(), or will look at its state next). */
  readonly wake: () => void
}

interface Member extends MemberRegistration {
  readonly memberId: string
  /** Replaced at each rejoin (the subscription says what the member holds then). */
  userData: Buffer | null
  rejoined: boolean
  /** What the member owned when it (re)joined this round (cooperative; eager members own nothing). */
  owned: TopicPartition[]
  assignment: TopicPartition[]
  assignmentUserData: Buffer | null
  active: boolean
  sessionTimer: NodeJS.Timeout | undefined
}

type GroupState = 'Empty' | 'PreparingRebalance' | 'Stable'

interface Group {
  readonly groupId: string
  generationId: number
  state: GroupState
  /** In join order: the first is the leader, whose assignor runs. */
  readonly members: Map<string, Member>
  rebalanceTimer: NodeJS.Timeout | undefined
  assignError: unknown
}

export type MemberView =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'rebalancing', readonly rejoined: boolean }
  | { readonly kind: 'stable', readonly generationId: number, readonly assignment: TopicPartition[], readonly userData: Buffer | null, readonly error: unknown }

export class GroupCoordinator {
  readonly #groups = new Map<string, Group>()
  readonly #partitionsOf: (topic: string) => number | undefined
  #memberSeq = 0

  constructor (partitionsOf: (topic: string) => number | undefined) {
    this.#partitionsOf = partitionsOf
  }

  #group (groupId: string): Group {
    let group = this.#groups.get(groupId)
    if (group === undefined) {
      group = { groupId, generationId: 0, state: 'Empty', members: new Map(), rebalanceTimer: undefined, assignError: undefined }
      this.#groups.set(groupId, group)
    }
    return group
  }

  /** Adds a member (it is inside poll() and counts as rejoined) and starts a rebalance. */
  join (groupId: string, registration: MemberRegistration): string {
    const group = this.#group(groupId)
    const other = group.members.values().next().value
    if (other !== undefined && other.protocol !== registration.protocol) {
      // The broker's INCONSISTENT_GROUP_PROTOCOL: refused, and the group does not rebalance.
      throw new StreamsError('CONFIG_INVALID', `group ${groupId}: its members use the ${other.protocol} rebalance protocol, not ${registration.protocol}; every member of a group must use the same one`)
    }
    const memberId = `${registration.clientId}-${++this.#memberSeq}-${crypto.randomUUID()}`
    const member: Member = { ...registration, memberId, rejoined: true, owned: [], assignment: [], assignmentUserData: null, active: true, sessionTimer: undefined }
    group.members.set(memberId, member)
    this.#prepareRebalance(group, member)
    return memberId
  }

  /** The member asks to join the pending rebalance: eager, having revoked everything; cooperative,
   *  keeping `owned`. `userData` is its subscription of this round (what it holds now). False if it
   *  is no longer a member (removed meanwhile). */
  rejoin (groupId: string, memberId: string, owned: readonly TopicPartition[] = [], userData?: Buffer | null): boolean {
    const group = this.#groups.get(groupId)
    const member = group?.members.get(memberId)
    if (group === undefined || member === undefined) return false
    if (userData !== undefined) member.userData = userData
    member.rejoined = true
    member.owned = owned.map(tp => ({ topic: tp.topic, partition: tp.partition }))
    member.assignment = member.owned.map(tp => ({ ...tp }))
    if (group.state === 'PreparingRebalance') this.#maybeComplete(group)
    return true
  }

  /** A member asks for a rebalance: a cooperative member that revoked partitions after an
   *  assignment (the follow-up round hands them to the members the assignor wanted), or the engine
   *  at a probing rebalance. */
  requestRebalance (groupId: string, memberId: string): void {
    const group = this.#groups.get(groupId)
    if (group === undefined || !group.members.has(memberId)) return
    this.#prepareRebalance(group)
  }

  view (groupId: string, memberId: string): MemberView {
    const group = this.#groups.get(groupId)
    const member = group?.members.get(memberId)
    if (group === undefined || member === undefined) return { kind: 'unknown' }
    if (group.state === 'PreparingRebalance') return { kind: 'rebalancing', rejoined: member.rejoined }
    return { kind: 'stable', generationId: group.generationId, assignment: member.assignment, userData: member.assignmentUserData, error: group.assignError }
  }

  /** True when the member belongs to the group at this generation (offset commits are allowed). */
  isCurrent (groupId: string, memberId: string, generationId: number): boolean {
    const group = this.#groups.get(groupId)
    return group !== undefined && group.generationId === generationId && group.members.has(memberId)
  }

  hasMembers (groupId: string): boolean {
    return (this.#groups.get(groupId)?.members.size ?? 0) > 0
  }

  /** The member is inside poll() (active) or out of it (its session timeout runs). */
  setActive (groupId: string, memberId: string, active: boolean): void {
    const group = this.#groups.get(groupId)
    const member = group?.members.get(memberId)
    if (group === undefined || member === undefined) return
    member.active = active
    clearTimeout(member.sessionTimer)
    member.sessionTimer = undefined
    if (!active) {
      member.sessionTimer = setTimeout(() => { this.#remove(group, member) }, member.sessionTimeoutMs)
      member.sessionTimer.unref()
    }
  }

  leave (groupId: string, memberId: string): void {
    const group = this.#groups.get(groupId)
    const member = group?.members.get(memberId)
    if (group === undefined || member === undefined) return
    this.#remove(group, member)
  }

  /** Subscribed topics were created or deleted: groups reading them rebalance. */
  topicsChanged (names: readonly string[]): void {
    for (const group of this.#groups.values()) {
      if (group.members.size === 0) continue
      const subscribed = [...group.members.values()].some(m => m.topics.some(t => names.includes(t)))
      if (subscribed) this.#prepareRebalance(group)
    }
  }

  describe (groupId: string, hasOffsets: boolean): GroupDescription {
    const group = this.#groups.get(groupId)
    if (group === undefined || group.members.size === 0) {
      return { groupId, state: hasOffsets || group !== undefined ? 'Empty' : 'Dead', members: [] }
    }
    return {
      groupId,
      state: group.state,
      members: [...group.members.values()].map(m => ({
        memberId: m.memberId,
        clientId: m.clientId,
        userData: m.userData,
        assignment: m.assignment.map(tp => ({ topic: tp.topic, partition: tp.partition }))
      }))
    }
  }

  /** Forgets an empty group; refuses while it has members. */
  deleteGroup (groupId: string): void {
    const group = this.#groups.get(groupId)
    if (group === undefined) return
    if (group.members.size > 0) throw new StreamsError('LOG_GROUP_NOT_EMPTY', `Group ${groupId} still has ${group.members.size} member(s)`)
    clearTimeout(group.rebalanceTimer)
    this.#groups.delete(groupId)
  }

  close (): void {
    for (const group of this.#groups.values()) {
      clearTimeout(group.rebalanceTimer)
      for (const member of group.members.values()) clearTimeout(member.sessionTimer)
    }
    this.#groups.clear()
  }

  #remove (group: Group, member: Member): void {
    if (group.members.get(member.memberId) !== member) return
    clearTimeout(member.sessionTimer)
    group.members.delete(member.memberId)
    member.wake()
    if (group.members.size === 0) {
      clearTimeout(group.rebalanceTimer)
      group.rebalanceTimer = undefined
      group.state = 'Empty'
      group.generationId++
      return
    }
    this.#prepareRebalance(group)
  }

  #prepareRebalance (group: Group, joiner?: Member): void {
    if (group.state !== 'PreparingRebalance') {
      group.state = 'PreparingRebalance'
      // A member inside join() has joined already; every other one must revoke and come back.
      for (const member of group.members.values()) member.rejoined = member === joiner
      const timeoutMs = Math.max(...[...group.members.values()].map(m => m.rebalanceTimeoutMs))
      group.rebalanceTimer = setTimeout(() => { this.#rebalanceTimedOut(group) }, timeoutMs)
      group.rebalanceTimer.unref()
    }
    for (const member of group.members.values()) member.wake()
    this.#maybeComplete(group)
  }

  #rebalanceTimedOut (group: Group): void {
    group.rebalanceTimer = undefined
    if (group.state !== 'PreparingRebalance') return
    for (const member of [...group.members.values()]) {
      if (!member.rejoined) {
        clearTimeout(member.sessionTimer)
        group.members.delete(member.memberId)
        member.wake()
      }
    }
    if (group.members.size === 0) {
      group.state = 'Empty'
      group.generationId++
      return
    }
    this.#maybeComplete(group)
  }

  #maybeComplete (group: Group): void {
    if (group.state !== 'PreparingRebalance') return
    for (const member of group.members.values()) if (!member.rejoined) return
    clearTimeout(group.rebalanceTimer)
    group.rebalanceTimer = undefined
    group.generationId++
    group.state = 'Stable'
    group.assignError = undefined
    const members = [...group.members.values()]
    const partitionsPerTopic = new Map<string, number>()
    for (const topic of new Set(members.flatMap(m => m.topics))) {
      const partitions = this.#partitionsOf(topic)
      if (partitions !== undefined) partitionsPerTopic.set(topic, partitions)
    }
    let assignment: ReturnType<PartitionAssignor> = new Map()
    try {
      assignment = members[0]!.assignor({ members: members.map(m => ({ memberId: m.memberId, userData: m.userData, ownedPartitions: m.owned })), partitionsPerTopic })
      if (members[0]!.protocol === 'cooperative') assignment = cooperativeAssignment(new Map(members.map(m => [m.memberId, m.owned])), assignment)
    } catch (error) {
      group.assignError = error
    }
    for (const member of members) {
      const mine = assignment.get(member.memberId)
      member.assignment = mine?.partitions.map(tp => ({ topic: tp.topic, partition: tp.partition })) ?? []
      member.assignmentUserData = mine?.userData ?? null
      member.rejoined = false
      member.owned = []
      member.wake()
    }
  }
}
