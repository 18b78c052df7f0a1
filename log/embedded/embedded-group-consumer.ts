// A group consumer of the embedded log. Everything happens inside poll(), as in the Java
// consumer: join the group, and on a rebalance await onPartitionsRevoked (eager: all partitions)
// before rejoining, then onPartitionsAssigned with the new assignment before any record of it is
// returned. Positions start at the group's committed offset or, without a valid one (none, or
// beyond the partition's end: the log was replaced), where the reset policy says (earliest by
// default, latest, or none: fail); a reset of a committed offset is reported (onReset). A poll() that
// has to (re)join the group returns only once the rebalance completed, whatever maxWaitMs.
// With rebalanceProtocol 'cooperative' (KIP-429) a member rejoins keeping its partitions, and
// poll() keeps returning their records until the round completes; it then revokes only what
// moved away (and asks for the follow-up round if it did) and is told only what was added
// (#applyCooperative).
import { StreamsError } from '../../topology/streams-error.ts'
import type {
  GroupConsumer, GroupConsumerOptions, GroupMetadata, LogRecord, PartitionAssignor, PartitionOffset, TopicPartition
} from '../log-port.ts'
import type { AppendNotifier } from './append-notifier.ts'
import type { GroupCoordinator, MemberView } from './group-coordinator.ts'
import type { LogStorage } from './log-storage.ts'
import { PartitionPositions, tpKey } from './partition-positions.ts'
import { rangeAssignor } from '../range-assignor.ts'
import { assignmentDelta } from '../cooperative-assignment.ts'
import { WakeSignal } from './wake-signal.ts'

const DEFAULT_SESSION_TIMEOUT_MS = 45_000
const DEFAULT_REBALANCE_TIMEOUT_MS = 300_000
const DEFAULT_MAX_POLL_RECORDS = 500
/** Waiting for the other members of a rebalance: the coordinator wakes us; this only re-checks. */
const REJOIN_RECHECK_MS = 1000

export interface GroupConsumerContext {
  readonly storage: LogStorage
  readonly coordinator: GroupCoordinator
  readonly notifier: AppendNotifier
  readonly onClose: (consumer: EmbeddedGroupConsumer) => void
}

export class EmbeddedGroupConsumer implements GroupConsumer {
  readonly #context: GroupConsumerContext
  readonly #options: GroupConsumerOptions
  readonly #assignor: PartitionAssignor
  readonly #maxPollRecords: number
  readonly #cooperative: boolean
  readonly #signal = new WakeSignal()
  readonly #positions = new PartitionPositions()
  readonly #paused = new Set<string>()
  #assignment: TopicPartition[] = []
  #memberId: string | null = null
  /** Generation of the current assignment; 0 before the first. */
  #generationId = 0
  #polling = false
  #closed = false

  constructor (context: GroupConsumerContext, options: GroupConsumerOptions) {
    if (options.topics.length === 0) throw new StreamsError('CONFIG_INVALID', 'A group consumer needs at least one topic')
    const maxPollRecords = options.maxPollRecords ?? DEFAULT_MAX_POLL_RECORDS
    if (!Number.isInteger(maxPollRecords) || maxPollRecords < 1) throw new StreamsError('CONFIG_INVALID', `maxPollRecords must be a positive integer, got ${maxPollRecords}`)
    this.#context = context
    this.#options = options
    this.#assignor = options.assignor ?? rangeAssignor
    this.#maxPollRecords = maxPollRecords
    this.#cooperative = options.rebalanceProtocol === 'cooperative'
    for (const topic of options.topics) context.notifier.watch(topic, this.#signal)
  }

  async poll (maxWaitMs: number): Promise<LogRecord[]> {
    this.#assertOpen()
    if (this.#polling) throw new StreamsError('CONFIG_INVALID', 'poll() called while another poll() of the same consumer is running')
    this.#polling = true
    const { coordinator } = this.#context
    const { groupId } = this.#options
    if (this.#memberId !== null) coordinator.setActive(groupId, this.#memberId, true)
    try {
      const deadline = Date.now() + Math.max(0, maxWaitMs)
      for (;;) {
        if (this.#closed) return []
        const seq = this.#signal.seq
        const ready = await this.#ensureActiveGroup()
        if (this.#closed) return []
        if (ready) {
          const records = await this.#positions.fetch(this.#context.storage, this.#maxPollRecords, tp => !this.#paused.has(tpKey(tp)))
          if (records.length > 0) return records
        }
        // maxWaitMs bounds the wait for records, not a rebalance this member is part of: as with
        // the Kafka backend, poll() returns only once the join completed (the coordinator ends
        // it within the rebalance timeout and wakes every member when it does).
        const remaining = deadline - Date.now()
        if (ready && remaining <= 0) return []
        await this.#signal.wait(ready ? remaining : REJOIN_RECHECK_MS, seq)
      }
    } finally {
      this.#polling = false
      if (this.#memberId !== null && !this.#closed) coordinator.setActive(groupId, this.#memberId, false)
    }
  }

  /** Runs the group protocol one step at a time until the member is stable (true) or waits for
   *  the others (false). */
  async #ensureActiveGroup (): Promise<boolean> {
    const { coordinator } = this.#context
    const { groupId, listener } = this.#options
    for (;;) {
      if (this.#closed) return false
      const view = this.#memberId === null ? { kind: 'unknown' as const } : coordinator.view(groupId, this.#memberId)
      if (view.kind === 'unknown') {
        if (this.#memberId !== null && this.#assignment.length > 0) {
          // Removed from the group (session or rebalance timeout) while holding partitions.
          const lost = this.#dropAssignment()
          await listener.onPartitionsLost(lost)
          continue
        }
        const userData = await this.#subscriptionUserData()
        if (this.#closed) return false
        this.#memberId = coordinator.join(groupId, {
          clientId: this.#options.clientId,
          topics: this.#options.topics,
          userData,
          assignor: this.#assignor,
          sessionTimeoutMs: this.#options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
          rebalanceTimeoutMs: this.#options.rebalanceTimeoutMs ?? DEFAULT_REBALANCE_TIMEOUT_MS,
          protocol: this.#options.rebalanceProtocol ?? 'eager',
          wake: () => { this.#signal.notify() }
        })
        continue
      }
      if (view.kind === 'rebalancing') {
        // Cooperative: rejoin keeping the partitions, and read them until the round completes.
        if (this.#cooperative) {
          if (!view.rejoined) {
            const userData = await this.#subscriptionUserData()
            if (this.#closed) return false
            coordinator.rejoin(groupId, this.#memberId!, this.#assignment, userData)
          }
          return this.#assignment.length > 0
        }
        if (view.rejoined) return false
        if (this.#assignment.length > 0) {
          const revoked = this.#assignment.map(tp => ({ ...tp }))
          await listener.onPartitionsRevoked(revoked)
          this.#dropAssignment()
          continue
        }
        this.#dropAssignment()
        const userData = await this.#subscriptionUserData()
        if (this.#closed) return false
        coordinator.rejoin(groupId, this.#memberId!, [], userData)
        continue
      }
      if (view.generationId === this.#generationId) return true
      if (this.#cooperative) {
        await this.#applyCooperative(view)
        continue
      }
      if (this.#assignment.length > 0) {
        // Cannot happen (a member rejoins only after revoking), but never keep partitions across
        // generations silently.
        const revoked = this.#assignment.map(tp => ({ ...tp }))
        await listener.onPartitionsRevoked(revoked)
        this.#dropAssignment()
        continue
      }
      if (view.error !== undefined) {
        throw new StreamsError('LOG_REBALANCE_IN_PROGRESS', `The assignor of group ${groupId} failed`, { cause: view.error })
      }
      this.#generationId = view.generationId
      this.#assignment = view.assignment.map(tp => ({ ...tp }))
      for (const tp of this.#assignment) this.#positions.set(tp, this.#startPosition(tp))
      await listener.onPartitionsAssigned(this.#assignment.map(tp => ({ ...tp })), view.userData)
    }
  }

  /** A cooperative round completed: revoke (awaited) what moved away, then ask for the
   *  follow-up round that hands it over; take what was added. */
  async #applyCooperative (view: Extract<MemberView, { kind: 'stable' }>): Promise<void> {
    const { groupId, listener } = this.#options
    if (view.error !== undefined) {
      throw new StreamsError('LOG_REBALANCE_IN_PROGRESS', `The assignor of group ${groupId} failed`, { cause: view.error })
    }
    const { added, removed } = assignmentDelta(this.#assignment, view.assignment)
    if (removed.length > 0) {
      await listener.onPartitionsRevoked(removed.map(tp => ({ ...tp })))
      const gone = new Set(removed.map(tpKey))
      this.#assignment = this.#assignment.filter(tp => !gone.has(tpKey(tp)))
      for (const tp of removed) {
        this.#positions.delete(tp)
        this.#paused.delete(tpKey(tp))
      }
    }
    this.#generationId = view.generationId
    for (const tp of added) this.#positions.set(tp, this.#startPosition(tp))
    this.#assignment.push(...added)
    if (removed.length > 0) this.#context.coordinator.requestRebalance(groupId, this.#memberId!)
    await listener.onPartitionsAssigned(added.map(tp => ({ ...tp })), view.userData)
  }

  /** The generation this member's commits carry. A cooperative member takes part in a round
   *  while it reads, so the group may complete it between two polls: it belongs to that
   *  generation as soon as it is complete (as the Kafka backend, whose SyncGroup answer arrives
   *  in the background), even before poll() applied the new assignment. */
  #currentGenerationId (): number {
    if (!this.#cooperative || this.#memberId === null) return this.#generationId
    const view = this.#context.coordinator.view(this.#options.groupId, this.#memberId)
    return view.kind === 'stable' && this.#generationId !== 0 ? view.generationId : this.#generationId
  }

  /** The subscription's user data as of now (a function is asked at each join). */
  async #subscriptionUserData (): Promise<Buffer | null> {
    const { userData } = this.#options
    return (typeof userData === 'function' ? await userData() : userData) ?? null
  }

  requestRejoin (): void {
    if (this.#closed || this.#memberId === null) return
    this.#context.coordinator.requestRebalance(this.#options.groupId, this.#memberId)
  }

  /** The committed offset, or where the reset policy says (the embedded log has no retention:
   *  it always starts at 0, so only an offset beyond the end is out of range). */
  #startPosition (tp: TopicPartition): bigint {
    const { groupId, offsetReset } = this.#options
    const committed = this.#context.storage.committedOffset(groupId, tp)
    const end = this.#context.storage.endOffset(tp) ?? 0n
    if (committed !== undefined && committed <= end) return committed
    const policy = offsetReset?.policy ?? 'earliest'
    if (policy === 'none') {
      throw new StreamsError('LOG_OFFSET_OUT_OF_RANGE', `group ${groupId} ${committed === undefined ? 'has no committed offset' : `is at offset ${committed}, beyond the end ${end},`} on ${tp.topic}-${tp.partition} and the offset reset policy is none (REWARDS_AUTO_OFFSET_RESET)`)
    }
    const to = policy === 'latest' ? end : 0n
    if (committed !== undefined) offsetReset?.onReset?.({ groupId, topic: tp.topic, partition: tp.partition, policy, from: committed, to })
    return to
  }

  #dropAssignment (): TopicPartition[] {
    const dropped = this.#assignment
    this.#assignment = []
    this.#positions.clear()
    this.#paused.clear()
    return dropped
  }

  assignment (): TopicPartition[] {
    return this.#assignment.map(tp => ({ ...tp }))
  }

  groupMetadata (): GroupMetadata | null {
    if (this.#memberId === null || this.#generationId === 0) return null
    return { groupId: this.#options.groupId, generationId: this.#currentGenerationId(), memberId: this.#memberId }
  }

  pause (partitions: TopicPartition[]): void {
    for (const tp of partitions) if (this.#positions.has(tp)) this.#paused.add(tpKey(tp))
  }

  resume (partitions: TopicPartition[]): void {
    for (const tp of partitions) this.#paused.delete(tpKey(tp))
    this.#signal.notify()
  }

  seek (position: PartitionOffset): void {
    this.#assertOpen()
    if (!this.#positions.has(position)) throw new StreamsError('TASK_MIGRATED', `seek: ${position.topic}-${position.partition} is not assigned to this consumer`)
    if (position.offset < 0n) throw new StreamsError('CONFIG_INVALID', `seek: negative offset ${position.offset}`)
    this.#positions.set(position, position.offset)
    this.#signal.notify()
  }

  endOffset (partition: TopicPartition): bigint | undefined {
    return this.#context.storage.endOffset(partition)
  }

  position (partition: TopicPartition): bigint {
    this.#assertOpen()
    const offset = this.#positions.get(partition)
    if (offset === undefined) throw new StreamsError('TASK_MIGRATED', `position: ${partition.topic}-${partition.partition} is not assigned to this consumer`)
    return offset
  }

  async commitOffsets (offsets: PartitionOffset[]): Promise<void> {
    this.#assertOpen()
    const { groupId } = this.#options
    if (this.#memberId === null || !this.#context.coordinator.isCurrent(groupId, this.#memberId, this.#currentGenerationId())) {
      throw new StreamsError('TASK_MIGRATED', `Offset commit refused: this member is not in the current generation of group ${groupId}`)
    }
    this.#context.storage.append([], { groupId, offsets })
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#memberId !== null) this.#context.coordinator.leave(this.#options.groupId, this.#memberId)
    this.#context.notifier.unwatchAll(this.#signal)
    this.#dropAssignment()
    this.#signal.notify()
    this.#context.onClose(this)
  }

  #assertOpen (): void {
    if (this.#closed) throw new StreamsError('LOG_CLOSED', `Group consumer ${this.#options.clientId} is closed`)
  }
}
