// A group member's heartbeats (classic protocol), on a timer and their own connection pool so they
// go on while the engine is busy between polls. What an answer means for the member is the
// member's: REBALANCE_IN_PROGRESS asks it to rejoin, ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID /
// FENCED_INSTANCE_ID mean its partitions are lost.
import { heartbeatV4 } from '@platformatic/kafka'
import type { ConnectionPool } from '@platformatic/kafka'
import { rtrace } from '../../topology/runtime/rebalance-trace.ts'
import type { KafkaClient } from './kafka-client.ts'
import { describeError, hasProtocolError, isCoordinatorError, isNetworkError, protocolErrorOf } from './kafka-errors.ts'

export const GENERATION_FENCING = ['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID'] as const

/** The member a GroupHeartbeat beats for. */
export interface HeartbeatMember {
  isClosed (): boolean
  /** undefined while not in a generation (no heartbeat is sent). */
  generation (): { readonly generationId: number, readonly memberId: string } | undefined
  /** The member's generation is still `generationId` (an answer about an older one is ignored). */
  isGeneration (generationId: number): boolean
  rebalanceInProgress (): void
  fenced (unknownMember: boolean): void
}

export class GroupHeartbeat {
  readonly #client: KafkaClient
  readonly #pool: ConnectionPool
  readonly #groupId: string
  readonly #clientId: string
  readonly #intervalMs: number
  readonly #member: HeartbeatMember
  #timer: NodeJS.Timeout | undefined
  #inFlight = false
  #chain = 0

  constructor (client: KafkaClient, pool: ConnectionPool, groupId: string, clientId: string, intervalMs: number, member: HeartbeatMember) {
    this.#client = client
    this.#pool = pool
    this.#groupId = groupId
    this.#clientId = clientId
    this.#intervalMs = intervalMs
    this.#member = member
  }

  start (): void {
    this.stop()
    // Each start opens a new chain; a heartbeat still in flight from an older chain (stopped for
    // a rejoin) must not reschedule itself next to the new one.
    const chain = ++this.#chain
    const beat = (): void => {
      this.#timer = setTimeout(() => {
        void this.#heartbeat().finally(() => { if (chain === this.#chain && !this.#member.isClosed()) beat() })
      }, this.#intervalMs)
      this.#timer.unref()
    }
    beat()
  }

  stop (): void {
    this.#chain++
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  async #heartbeat (): Promise<void> {
    if (this.#inFlight || this.#member.isClosed()) return
    const generation = this.#member.generation()
    if (generation === undefined) return
    this.#inFlight = true
    const { generationId, memberId } = generation
    try {
      const connection = await this.#client.coordinatorConnection('group', this.#groupId, this.#pool)
      await heartbeatV4.api.async(connection, this.#groupId, generationId, memberId, null)
    } catch (error) {
      if (!this.#member.isGeneration(generationId)) return
      if (hasProtocolError(error, 'REBALANCE_IN_PROGRESS')) {
        rtrace(this.#clientId + ' ' + 'heartbeat.rebalance')
        this.#member.rebalanceInProgress()
      } else if (protocolErrorOf(error, GENERATION_FENCING) !== null) {
        rtrace(this.#clientId + ' ' + 'heartbeat.fenced', { error: describeError(error) })
        this.#member.fenced(hasProtocolError(error, 'UNKNOWN_MEMBER_ID'))
      } else if (isCoordinatorError(error) || isNetworkError(error)) {
        this.#client.forgetCoordinator('group', this.#groupId)
      }
    } finally {
      this.#inFlight = false
    }
  }
}
