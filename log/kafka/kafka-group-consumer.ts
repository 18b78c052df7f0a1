// GroupConsumer on Apache Kafka, driving the classic group protocol itself on platformatic's
// low-level API (JoinGroup / SyncGroup / Heartbeat / LeaveGroup / OffsetCommit / OffsetFetch and
// read_committed Fetch at explicit offsets), because platformatic's Consumer rejoins on its own
// from its heartbeat timer and only notifies rebalances synchronously (see
// docs/decisions/0003-kafka-backend.md). Here:
// - rebalance callbacks run inside poll() and are awaited: the member revokes everything
//   (eager protocol) before it sends JoinGroup, so nobody gets its partitions before
//   onPartitionsRevoked resolved; onPartitionsAssigned resolves before poll() returns records;
// - the leader runs the PartitionAssignor of the options (group-leader-assignment.ts); its
//   per-member userData travels back in the SyncGroup assignment;
// - heartbeats (group-heartbeat.ts) run on a timer (their own connection pool) while the engine
//   is busy between polls; a heartbeat answering REBALANCE_IN_PROGRESS marks the member for
//   rejoin at the next poll, one answering ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID /
//   FENCED_INSTANCE_ID marks its partitions lost (onPartitionsLost, no commit);
// - fetching (positions, fetch-ahead, pauses, offset resets) is kafka-consumer-fetcher.ts's;
//   positions start at the committed offset (OffsetFetch with require_stable) or, without one,
//   where the reset policy says (auto.offset.reset: earliest by default, latest, or none: fail);
//   a position found out of range by a fetch is reset the same way and reported (onReset).
// - with rebalanceProtocol 'cooperative' (KIP-429), the join runs in the background while poll()
//   keeps returning records of the partitions the member owns; the outcome is applied by the
//   next poll() (#cooperativeStep: revoke what moves away, then rejoin at once; see
//   log/cooperative-assignment.ts for the leader's side).
import { encodeConsumerProtocolSubscription, decodeConsumerProtocolAssignment, joinGroupV9, leaveGroupV5, offsetCommitV9, syncGroupV5 } from '@platformatic/kafka'
import type { ConnectionPool } from '@platformatic/kafka'
import { StreamsError } from '../../topology/streams-error.ts'
import type { GroupConsumer, GroupConsumerOptions, GroupMetadata, LogRecord, PartitionAssignor, PartitionOffset, TopicPartition } from '../log-port.ts'
import type { KafkaAdmin } from './kafka-admin.ts'
import type { KafkaClient } from './kafka-client.ts'
import { describeError, hasProtocolError, isCoordinatorError, isNetworkError, isRetriable, protocolErrorOf, toStreamsError } from './kafka-errors.ts'
import type { IBackoff } from 'cockatiel'
import { kafkaPolicy } from '../../lib/resilience/kafka-policy.ts'
import { KafkaConsumerFetcher } from './kafka-consumer-fetcher.ts'
import { rangeAssignor } from '../range-assignor.ts'
import { assignmentDelta } from '../cooperative-assignment.ts'
import { GENERATION_FENCING, GroupHeartbeat } from './group-heartbeat.ts'
import { leaderAssignment, toGroupAssignments } from './group-leader-assignment.ts'
import { rtrace } from '../../topology/runtime/rebalance-trace.ts'

const PROTOCOL_TYPE = 'consumer'
/** The assignment strategy name every member of our groups advertises: one per rebalance
 *  protocol, as Kafka's Java client names its eager "range" / "sticky" and its "cooperative-sticky"
 *  assignors; the broker admits only members sharing a name (else INCONSISTENT_GROUP_PROTOCOL), so
 *  eager and cooperative members never end up in one generation. */
const PROTOCOL_NAMES = { eager: 'rewards-assignor', cooperative: 'rewards-assignor-cooperative' } as const
/** What a background (cooperative) join ended with, for the next poll() to apply. */
type JoinOutcome =
  | { readonly kind: 'assigned', readonly owned: TopicPartition[], readonly assignment: TopicPartition[], readonly userData: Buffer | null }
  | { readonly kind: 'lost' }
  | { readonly kind: 'failed', readonly error: unknown }

/** A JoinGroup/SyncGroup of a member that owned partitions found it removed from the group. */
class MemberRemoved extends Error {}

export class KafkaGroupConsumer implements GroupConsumer {
  readonly #client: KafkaClient
  readonly #admin: KafkaAdmin
  readonly #options: GroupConsumerOptions
  readonly #assignor: PartitionAssignor
  readonly #cooperative: boolean
  readonly #protocolName: string
  readonly #sessionTimeoutMs: number
  readonly #rebalanceTimeoutMs: number
  readonly #groupPool: ConnectionPool
  readonly #heartbeatPool: ConnectionPool
  readonly #heartbeat: GroupHeartbeat
  /** Positions, fetched records, pauses: the assignment itself lives there. */
  readonly #fetcher: KafkaConsumerFetcher

  #memberId = ''
  #generationId = -1
  #joined = false
  #needsRejoin = true
  #lost = false
  #wake: (() => void) | undefined
  #polling = false
  #closed = false
  /** The cooperative join in flight, and its outcome once settled. */
  #join: { outcome: JoinOutcome | undefined, readonly done: Promise<void> } | undefined

  constructor (client: KafkaClient, admin: KafkaAdmin, options: GroupConsumerOptions) {
    this.#client = client
    this.#admin = admin
    this.#options = options
    this.#assignor = options.assignor ?? rangeAssignor
    this.#cooperative = options.rebalanceProtocol === 'cooperative'
    this.#protocolName = PROTOCOL_NAMES[options.rebalanceProtocol ?? 'eager']
    this.#sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000
    this.#rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? 60_000
    const heartbeatIntervalMs = Math.max(100, Math.min(options.heartbeatIntervalMs ?? 3000, Math.floor(this.#sessionTimeoutMs / 3)))
    // JoinGroup may legitimately block for the whole rebalance timeout.
    this.#groupPool = client.createPool(this.#rebalanceTimeoutMs + 5000, options.clientId)
    this.#heartbeatPool = client.createPool(this.#sessionTimeoutMs, options.clientId)
    this.#heartbeat = new GroupHeartbeat(client, this.#heartbeatPool, options.groupId, options.clientId, heartbeatIntervalMs, {
      isClosed: () => this.#closed,
      generation: () => this.#joined ? { generationId: this.#generationId, memberId: this.#memberId } : undefined,
      isGeneration: generationId => generationId === this.#generationId,
      rebalanceInProgress: () => { this.#markRejoin(false) },
      fenced: unknownMember => {
        if (unknownMember) this.#memberId = ''
        this.#markRejoin(true)
      }
    })
    this.#fetcher = new KafkaConsumerFetcher(client, admin, { ...options, maxWaitMs: this.#sessionTimeoutMs })
  }

  assignment (): TopicPartition[] {
    return this.#fetcher.assignment.map(tp => ({ topic: tp.topic, partition: tp.partition }))
  }

  groupMetadata (): GroupMetadata | null {
    if (!this.#joined) return null
    return { groupId: this.#options.groupId, generationId: this.#generationId, memberId: this.#memberId }
  }

  pause (partitions: TopicPartition[]): void {
    this.#fetcher.pause(partitions)
  }

  resume (partitions: TopicPartition[]): void {
    this.#fetcher.resume(partitions)
  }

  seek (position: PartitionOffset): void {
    this.#fetcher.seek(position)
  }

  endOffset (partition: TopicPartition): bigint | undefined {
    return this.#fetcher.endOffset(partition)
  }

  position (partition: TopicPartition): bigint {
    return this.#fetcher.position(partition)
  }

  async poll (maxWaitMs: number): Promise<LogRecord[]> {
    if (this.#closed) throw new StreamsError('LOG_CLOSED')
    if (this.#polling) throw new StreamsError('CONFIG_INVALID', 'poll() is not reentrant')
    this.#polling = true
    try {
      const deadline = Date.now() + maxWaitMs
      if (this.#cooperative) await this.#cooperativeStep()
      else if (this.#needsRejoin) await this.#rejoin()
      const records = await this.#fetcher.records(Math.max(0, deadline - Date.now()), async ms => await this.#idle(ms))
      // Fetch ahead while the caller processes these; not while an eager member must rejoin.
      this.#fetcher.startPrefetch(() => !this.#closed && (this.#cooperative || !this.#needsRejoin))
      return records
    } finally {
      this.#polling = false
    }
  }

  async commitOffsets (offsets: PartitionOffset[]): Promise<void> {
    if (this.#closed) throw new StreamsError('LOG_CLOSED')
    if (offsets.length === 0) return
    if (!this.#joined) throw new StreamsError('TASK_MIGRATED', 'commitOffsets before joining the group')
    const topics = new Map<string, offsetCommitV9.OffsetCommitRequestPartition[]>()
    for (const o of offsets) {
      let list = topics.get(o.topic)
      if (list === undefined) topics.set(o.topic, list = [])
      list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: null })
    }
    try {
      await this.#client.withCoordinator('group', this.#options.groupId, this.#groupPool, async connection => {
        await offsetCommitV9.api.async(connection, this.#options.groupId, this.#generationId, this.#memberId, null, [...topics].map(([name, partitions]) => ({ name, partitions })))
      })
    } catch (error) {
      if (protocolErrorOf(error, GENERATION_FENCING) !== null) {
        this.#markRejoin(true)
        throw new StreamsError('TASK_MIGRATED', `commitOffsets: ${describeError(error)}`, { cause: error })
      }
      if (hasProtocolError(error, 'REBALANCE_IN_PROGRESS')) {
        // A cooperative member commits while its join is in flight: that join is the rejoin.
        if (this.#join === undefined) this.#markRejoin(false)
        throw new StreamsError('LOG_REBALANCE_IN_PROGRESS', `commitOffsets: ${describeError(error)}`, { cause: error })
      }
      throw toStreamsError(error, 'LOG_CONNECTION', 'commitOffsets')
    }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    // No listener callback here (unlike the Java consumer, like the embedded backend): the engine
    // closes its tasks before it closes the consumer.
    this.#heartbeat.stop()
    this.#closed = true
    this.#fetcher.stop()
    this.#wake?.()
    if (this.#memberId !== '') {
      rtrace(this.#options.clientId + ' ' + 'leave.send')
      try {
        await this.#client.withCoordinator('group', this.#options.groupId, this.#groupPool, async connection => {
          await leaveGroupV5.api.async(connection, this.#options.groupId, [{ memberId: this.#memberId, groupInstanceId: null, reason: 'consumer closed' }])
        }, 3)
      } catch {
        // The session timeout removes the member anyway.
      }
    }
    rtrace(this.#options.clientId + ' ' + 'leave.done')
    this.#joined = false
    await Promise.allSettled([...[this.#groupPool, this.#heartbeatPool].map(async pool => await this.#client.closePool(pool)), this.#fetcher.close()])
  }

  // --- group membership -------------------------------------------------------------------

  async #rejoin (): Promise<void> {
    // Heartbeats go on while the revocation callback runs (it may flush and commit for a while).
    if (this.#fetcher.assignment.length > 0) {
      const partitions = this.assignment()
      const lost = this.#lost
      this.#fetcher.clear()
      if (lost) await this.#options.listener.onPartitionsLost(partitions)
      else await this.#options.listener.onPartitionsRevoked(partitions)
    }
    this.#heartbeat.stop()
    this.#lost = false
    const { assignment, userData } = await this.#joinAndSync([])
    if (this.#closed) throw new StreamsError('LOG_CLOSED')
    await this.#fetcher.assign(assignment, this.#groupPool)
    this.#needsRejoin = false
    this.#heartbeat.start()
    await this.#options.listener.onPartitionsAssigned(this.assignment(), userData)
  }

  // --- cooperative rebalancing (KIP-429) -------------------------------------------------

  /** Called by every poll() of a cooperative member: reports lost partitions, starts a join in
   *  the background when one is needed, and applies a finished one. A member that owns nothing
   *  waits for its join (it has nothing to return meanwhile), as an eager poll() does. */
  async #cooperativeStep (): Promise<void> {
    for (;;) {
      if (this.#lost && this.#join === undefined) {
        this.#lost = false
        const lost = this.assignment()
        this.#fetcher.clear()
        if (lost.length > 0) await this.#options.listener.onPartitionsLost(lost)
      }
      if (this.#needsRejoin && this.#join === undefined) this.#startCooperativeJoin()
      const join = this.#join
      if (join === undefined) return
      if (join.outcome === undefined) {
        if (this.#fetcher.assignment.length > 0) return
        await join.done
      }
      this.#join = undefined
      await this.#applyJoin(join.outcome!)
      if (!this.#needsRejoin && !this.#lost) return
    }
  }

  #startCooperativeJoin (): void {
    rtrace(this.#options.clientId + ' ' + 'join.start', { owned: this.#fetcher.assignment.length })
    this.#needsRejoin = false
    this.#heartbeat.stop()
    const owned = this.assignment()
    const join: { outcome: JoinOutcome | undefined, done: Promise<void> } = { outcome: undefined, done: Promise.resolve() }
    join.done = this.#joinAndSync(owned).then(
      ({ assignment, userData }): JoinOutcome => ({ kind: 'assigned', owned, assignment, userData }),
      (error: unknown): JoinOutcome => error instanceof MemberRemoved ? { kind: 'lost' } : { kind: 'failed', error }
    ).then(outcome => {
      join.outcome = outcome
      if (outcome.kind === 'assigned' && !this.#closed) this.#heartbeat.start()
      this.#wake?.()
    })
    this.#join = join
  }

  /** Revokes (awaited) what the member owned when it joined and is not assigned any more, takes
   *  the newly added partitions, and rejoins at once when it gave something up: the leader held
   *  those back from their new owners until this member released them. */
  async #applyJoin (outcome: JoinOutcome): Promise<void> {
    const { listener } = this.#options
    if (outcome.kind === 'failed') {
      this.#needsRejoin = true
      throw outcome.error
    }
    if (outcome.kind === 'lost') {
      this.#lost = true
      this.#needsRejoin = true
      return
    }
    if (this.#closed) throw new StreamsError('LOG_CLOSED')
    // The member is in the new generation: a fencing seen meanwhile (a commit of the old one)
    // is behind it.
    this.#lost = false
    const released = assignmentDelta(outcome.owned, outcome.assignment).removed
    const revoked = assignmentDelta(this.#fetcher.assignment, outcome.assignment).removed
    rtrace(this.#options.clientId + ' ' + 'apply', { revoked: revoked.map(tp => `${tp.topic.slice(-12)}-${tp.partition}`), gen: this.#generationId })
    if (revoked.length > 0) {
      await listener.onPartitionsRevoked(revoked)
      this.#fetcher.drop(revoked)
      rtrace(this.#options.clientId + ' ' + 'apply.revoked')
    }
    const added = assignmentDelta(this.#fetcher.assignment, outcome.assignment).added
    await this.#fetcher.add(added, this.#groupPool)
    rtrace(this.#options.clientId + ' ' + 'apply.positions', { added: added.map(tp => `${tp.topic.slice(-12)}-${tp.partition}`) })
    if (released.length > 0) this.#markRejoin(false)
    await listener.onPartitionsAssigned(added, outcome.userData)
    rtrace(this.#options.clientId + ' ' + 'apply.assigned')
  }

  /** JoinGroup + SyncGroup until one generation completes; returns this member's assignment and
   *  userData. `owned` (cooperative) travels in the subscription (ConsumerProtocolSubscription
   *  v1 owned_partitions); a member that owned partitions and is found removed from the group
   *  throws MemberRemoved instead of joining afresh (they are lost, not revoked). */
  async #joinAndSync (owned: TopicPartition[]): Promise<{ assignment: TopicPartition[], userData: Buffer | null }> {
    const { groupId } = this.#options
    const ours = typeof this.#options.userData === 'function' ? await this.#options.userData() : this.#options.userData
    rtrace(this.#options.clientId + ' ' + 'join.userdata')
    const subscription = encodeConsumerProtocolSubscription({ version: this.#cooperative ? 1 : 0, topics: [...this.#options.topics], userData: ours ?? null, ownedPartitions: toGroupAssignments(owned) } as Parameters<typeof encodeConsumerProtocolSubscription>[0])
    const deadline = Date.now() + this.#rebalanceTimeoutMs * 2
    let backoff: IBackoff<unknown> | undefined
    let unreachable = 0
    for (;;) {
      if (this.#closed) throw new StreamsError('LOG_CLOSED')
      if (Date.now() > deadline) throw new StreamsError('LOG_REBALANCE_IN_PROGRESS', `Could not join group ${groupId}`)
      try {
        const connection = await this.#client.coordinatorConnection('group', groupId, this.#groupPool)
        let joined: joinGroupV9.JoinGroupResponse
        try {
          rtrace(this.#options.clientId + ' ' + 'join.send', { member: this.#memberId.slice(-6) })
          joined = await joinGroupV9.api.async(connection, groupId, this.#sessionTimeoutMs, this.#rebalanceTimeoutMs, this.#memberId, null, PROTOCOL_TYPE, [{ name: this.#protocolName, metadata: subscription }], null)
        } catch (error) {
          const response = (error as { response?: joinGroupV9.JoinGroupResponse }).response
          if (hasProtocolError(error, 'MEMBER_ID_REQUIRED') && response !== undefined) {
            // KIP-394: the first JoinGroup only hands out a member id.
            this.#memberId = response.memberId
            continue
          }
          throw error
        }
        this.#memberId = joined.memberId
        this.#generationId = joined.generationId
        rtrace(this.#options.clientId + ' ' + 'join.joined', { gen: joined.generationId, leader: joined.leader === joined.memberId, members: joined.members.length })
        let assignments: syncGroupV5.SyncGroupRequestAssignment[] = []
        if (joined.leader === joined.memberId && !joined.skipAssignment) assignments = await leaderAssignment(this.#client, this.#admin, this.#assignor, this.#cooperative, joined.members)
        if (assignments.length > 0) rtrace(this.#options.clientId + ' ' + 'join.assigned')
        const synced = await syncGroupV5.api.async(connection, groupId, joined.generationId, joined.memberId, null, PROTOCOL_TYPE, this.#protocolName, assignments)
        const decoded = decodeConsumerProtocolAssignment(synced.assignment)
        const assignment: TopicPartition[] = []
        for (const { topic, partitions } of decoded.assignedPartitions) for (const partition of partitions) assignment.push({ topic, partition })
        this.#joined = true
        rtrace(this.#options.clientId + ' ' + 'join.synced', { partitions: assignment.length })
        const userData = decoded.userData
        return { assignment, userData: userData === null || userData === undefined || userData.length === 0 ? null : Buffer.from(userData) }
      } catch (error) {
        if (hasProtocolError(error, 'UNKNOWN_MEMBER_ID') || hasProtocolError(error, 'FENCED_INSTANCE_ID')) {
          this.#memberId = ''
          if (owned.length > 0) throw new MemberRemoved()
          continue
        }
        if (hasProtocolError(error, 'INCONSISTENT_GROUP_PROTOCOL')) {
          throw new StreamsError('CONFIG_INVALID', `group ${groupId}: its members use another rebalance protocol than '${this.#options.rebalanceProtocol ?? 'eager'}' (INCONSISTENT_GROUP_PROTOCOL); every member of a group must use the same one`, { cause: error })
        }
        if (hasProtocolError(error, 'REBALANCE_IN_PROGRESS') || hasProtocolError(error, 'ILLEGAL_GENERATION')) { rtrace(this.#options.clientId + ' ' + 'join.retry', { error: describeError(error) }); continue }
        if (isCoordinatorError(error) || isNetworkError(error)) this.#client.forgetCoordinator('group', groupId)
        // Each attempt already retried its connection with backoff: a broker still unreachable
        // after a few rounds is reported (LOG_CONNECTION, retriable) instead of hanging in poll().
        if (isNetworkError(error) && ++unreachable >= 3) throw toStreamsError(error, 'LOG_CONNECTION', `join group ${groupId}`)
        if (!isRetriable(error)) throw toStreamsError(error, 'LOG_CONNECTION', `join group ${groupId}`)
        backoff = (backoff ?? kafkaPolicy.joinBackoff).next(undefined)
        await new Promise(resolve => setTimeout(resolve, backoff!.duration))
      }
    }
  }

  requestRejoin (): void {
    if (!this.#closed) this.#markRejoin(false)
  }

  #markRejoin (lost: boolean): void {
    this.#needsRejoin = true
    if (lost) this.#lost = true
    this.#wake?.()
  }

  // --- waiting -----------------------------------------------------------------------------

  async #idle (ms: number): Promise<void> {
    if (ms <= 0 || this.#needsRejoin) return
    await new Promise<void>(resolve => {
      const timer = setTimeout(done, ms)
      function done (): void { clearTimeout(timer); resolve() }
      this.#wake = done
    })
    this.#wake = undefined
  }
}
