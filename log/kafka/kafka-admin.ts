// LogAdmin on Apache Kafka: topics and groups through platformatic's Admin client; offsets through
// the raw ListOffsets (read_committed, so 'latest' is the last stable offset) and OffsetFetch
// (require_stable) APIs, which platformatic's Admin does not expose with those flags.
import { listOffsetsV9, offsetFetchV9, protocolErrorsCodesById } from '@platformatic/kafka'
import type { ConnectionPool } from '@platformatic/kafka'
import { StreamsError } from '../../topology/streams-error.ts'
import type { GroupDescription, LogAdmin, PartitionOffset, TopicDescription, TopicPartition, TopicSpec } from '../log-port.ts'
import type { KafkaClient } from './kafka-client.ts'
import { hasProtocolError, isNetworkError, isRetriable, toStreamsError } from './kafka-errors.ts'
import { kafkaPolicy } from '../../lib/resilience/kafka-policy.ts'
import { withKafkaRetry } from './kafka-retry.ts'

const READ_COMMITTED = 1
const EARLIEST = -2n
const LATEST = -1n
/** How long createTopics waits for the broker's metadata to serve a topic it just created. */
export const TOPIC_VISIBLE_TIMEOUT_MS = 30_000

export class KafkaAdmin implements LogAdmin {
  readonly #client: KafkaClient
  readonly #pool: ConnectionPool
  readonly #topicVisibleTimeoutMs: number

  constructor (client: KafkaClient, options: { topicVisibleTimeoutMs?: number } = {}) {
    this.#client = client
    this.#pool = client.createPool()
    this.#topicVisibleTimeoutMs = options.topicVisibleTimeoutMs ?? TOPIC_VISIBLE_TIMEOUT_MS
  }

  async createTopics (topics: TopicSpec[]): Promise<void> {
    this.#client.assertOpen()
    const existing = new Set(await this.listTopics())
    for (const spec of topics) {
      if (existing.has(spec.name)) continue
      const configs = Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value }))
      try {
        await withKafkaRetry(() => this.#client.admin.createTopics({ topics: [spec.name], partitions: spec.partitions, replicas: -1, configs }))
      } catch (error) {
        if (hasProtocolError(error, 'TOPIC_ALREADY_EXISTS')) continue
        throw toStreamsError(error, 'LOG_CONNECTION', `createTopics ${spec.name}`)
      }
    }
    await this.#untilServed(topics.map(t => t.name))
  }

  /** The controller has the topics; waits until the broker's metadata serves each of them with a
   *  leader for every partition. The client reports a topic its metadata does not know yet as a
   *  plain "Unknown topic" error, which no retry rule cures: that is retried here, up to
   *  the timeout (30 s by default), then reported as retriable (LOG_CONNECTION). Proceeding earlier
   *  would make the first producer or reader of the topic fail with LOG_TOPIC_NOT_FOUND, which
   *  stops the instance (docs/engine.md "Faults and recovery"). */
  async #untilServed (names: string[]): Promise<void> {
    if (names.length === 0) return
    const deadline = Date.now() + this.#topicVisibleTimeoutMs
    let missing = names
    for (let backoff = kafkaPolicy.topicVisibleBackoff.next(); ; backoff = backoff.next(undefined)) {
      try {
        const metadata = await this.#client.admin.metadata({ topics: [...missing], forceUpdate: true })
        missing = missing.filter(name => {
          const topic = metadata.topics.get(name)
          return topic === undefined || topic.partitions.some(p => p === undefined || p.leader < 0)
        })
      } catch (error) {
        if (!(error instanceof Error && /Unknown topic/.test(error.message)) && !isRetriable(error)) throw toStreamsError(error, 'LOG_CONNECTION', 'metadata of created topics')
      }
      if (missing.length === 0) return
      if (Date.now() + backoff.duration > deadline) throw new StreamsError('LOG_CONNECTION', `topics created but not served by the broker's metadata after ${this.#topicVisibleTimeoutMs / 1000} s: ${missing.join(', ')}`)
      await new Promise(resolve => setTimeout(resolve, backoff.duration))
    }
  }

  async deleteTopics (names: string[]): Promise<void> {
    this.#client.assertOpen()
    const existing = new Set(await this.listTopics())
    const present = names.filter(name => existing.has(name))
    if (present.length === 0) return
    try {
      await withKafkaRetry(() => this.#client.admin.deleteTopics({ topics: present }))
    } catch (error) {
      if (hasProtocolError(error, 'UNKNOWN_TOPIC_OR_PARTITION') || hasProtocolError(error, 'UNKNOWN_TOPIC_ID')) return
      throw toStreamsError(error, 'LOG_CONNECTION', 'deleteTopics')
    }
    this.#client.admin.clearMetadata()
    await this.#untilGone(present)
  }

  /** The controller has deleted the topics; the broker's metadata drops them a moment later, and
   *  until then listTopics still names them and a re-create fails with TOPIC_ALREADY_EXISTS. Waits
   *  for the metadata to stop listing them (same backoff and timeout as #untilServed). */
  async #untilGone (names: string[]): Promise<void> {
    const deadline = Date.now() + this.#topicVisibleTimeoutMs
    let listed = names
    for (let backoff = kafkaPolicy.topicVisibleBackoff.next(); ; backoff = backoff.next(undefined)) {
      const existing = new Set(await this.listTopics())
      listed = listed.filter(name => existing.has(name))
      if (listed.length === 0) return
      if (Date.now() + backoff.duration > deadline) throw new StreamsError('LOG_CONNECTION', `topics deleted but still listed by the broker's metadata after ${this.#topicVisibleTimeoutMs / 1000} s: ${listed.join(', ')}`)
      await new Promise(resolve => setTimeout(resolve, backoff.duration))
    }
  }

  async describeTopics (names: string[]): Promise<TopicDescription[]> {
    const existing = new Set(await this.listTopics())
    const present = names.filter(name => existing.has(name))
    if (present.length === 0) return []
    const metadata = await this.#client.metadata(present, true)
    const out: TopicDescription[] = []
    for (const name of present) {
      const topic = metadata.topics.get(name)
      if (topic !== undefined) out.push({ name, partitions: topic.partitionsCount })
    }
    return out
  }

  async listTopics (): Promise<string[]> {
    this.#client.assertOpen()
    try {
      return await withKafkaRetry(() => this.#client.admin.listTopics({ includeInternals: false }))
    } catch (error) {
      throw toStreamsError(error, 'LOG_CONNECTION', 'listTopics')
    }
  }

  async listOffsets (partitions: TopicPartition[], at: 'earliest' | 'latest'): Promise<PartitionOffset[]> {
    this.#client.assertOpen()
    if (partitions.length === 0) return []
    try {
      return await withKafkaRetry(async () => {
        const metadata = await this.#client.metadata([...new Set(partitions.map(p => p.topic))])
        const byLeader = new Map<number, Map<string, listOffsetsV9.ListOffsetsRequestTopic>>()
        for (const tp of partitions) {
          const topic = metadata.topics.get(tp.topic)
          const partition = topic?.partitions[tp.partition]
          if (topic === undefined || partition === undefined) throw new StreamsError('LOG_TOPIC_NOT_FOUND', `No partition ${tp.topic}/${tp.partition}`)
          let topics = byLeader.get(partition.leader)
          if (topics === undefined) byLeader.set(partition.leader, topics = new Map())
          let request = topics.get(tp.topic)
          if (request === undefined) topics.set(tp.topic, request = { name: tp.topic, partitions: [] })
          request.partitions.push({ partitionIndex: tp.partition, currentLeaderEpoch: -1, timestamp: at === 'earliest' ? EARLIEST : LATEST })
        }
        const responses = await Promise.all([...byLeader].map(async ([leader, topics]) => {
          const connection = await this.#client.connectionToNode(this.#pool, leader, metadata)
          return await listOffsetsV9.api.async(connection, -1, READ_COMMITTED, [...topics.values()])
        }))
        const found = new Map<string, bigint>()
        for (const response of responses) {
          for (const topic of response.topics) {
            for (const p of topic.partitions) found.set(`${topic.name}:${p.partitionIndex}`, p.offset)
          }
        }
        return partitions.map(tp => {
          const offset = found.get(`${tp.topic}:${tp.partition}`)
          if (offset === undefined) throw new StreamsError('LOG_TOPIC_NOT_FOUND', `No offset for ${tp.topic}/${tp.partition}`)
          return { topic: tp.topic, partition: tp.partition, offset }
        })
      }, { onRetry: error => { if (!isNetworkError(error)) this.#client.admin.clearMetadata() } })
    } catch (error) {
      throw toStreamsError(error, 'LOG_CONNECTION', 'listOffsets')
    }
  }

  async listCommittedOffsets (groupId: string, partitions: TopicPartition[]): Promise<PartitionOffset[]> {
    this.#client.assertOpen()
    return await fetchCommittedOffsets(this.#client, this.#pool, groupId, partitions)
  }

  async alterCommittedOffsets (groupId: string, offsets: PartitionOffset[]): Promise<void> {
    this.#client.assertOpen()
    const topics = new Map<string, Array<{ partitionIndex: number, committedOffset: bigint, committedLeaderEpoch: number, committedMetadata: null }>>()
    for (const o of offsets) {
      let list = topics.get(o.topic)
      if (list === undefined) topics.set(o.topic, list = [])
      list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: null })
    }
    const described = await this.describeGroup(groupId)
    if (described.members.length > 0) throw new StreamsError('LOG_GROUP_NOT_EMPTY', `Group ${groupId} has ${described.members.length} member(s)`)
    try {
      await withKafkaRetry(() => this.#client.admin.alterConsumerGroupOffsets({ groupId, topics: [...topics].map(([name, partitionOffsets]) => ({ name, partitionOffsets: partitionOffsets.map(p => ({ partition: p.partitionIndex, offset: p.committedOffset })) })) }))
    } catch (error) {
      if (hasProtocolError(error, 'UNKNOWN_MEMBER_ID') || hasProtocolError(error, 'ILLEGAL_GENERATION') || hasProtocolError(error, 'REBALANCE_IN_PROGRESS')) {
        throw new StreamsError('LOG_GROUP_NOT_EMPTY', `Group ${groupId} is not empty`, { cause: error })
      }
      throw toStreamsError(error, 'LOG_CONNECTION', 'alterCommittedOffsets')
    }
  }

  async describeGroup (groupId: string): Promise<GroupDescription> {
    this.#client.assertOpen()
    let groups
    try {
      groups = await withKafkaRetry(() => this.#client.admin.describeGroups({ groups: [groupId] }))
    } catch (error) {
      if (hasProtocolError(error, 'GROUP_ID_NOT_FOUND')) return { groupId, state: 'Dead', members: [] }
      throw toStreamsError(error, 'LOG_CONNECTION', 'describeGroup')
    }
    const group = groups.get(groupId)
    if (group === undefined) return { groupId, state: 'Dead', members: [] }
    return {
      groupId,
      state: normaliseState(String(group.state)),
      members: [...group.members.values()].map(member => {
        const userData = member.metadata?.metadata
        const assignment: TopicPartition[] = []
        for (const a of member.assignments?.values() ?? []) for (const partition of a.partitions) assignment.push({ topic: a.topic, partition })
        return {
          memberId: member.id,
          clientId: member.clientId,
          userData: userData === undefined || userData === null || userData.length === 0 ? null : Buffer.from(userData),
          assignment
        }
      })
    }
  }

  async deleteGroup (groupId: string): Promise<void> {
    this.#client.assertOpen()
    try {
      await withKafkaRetry(() => this.#client.admin.deleteGroups({ groups: [groupId] }))
    } catch (error) {
      if (hasProtocolError(error, 'GROUP_ID_NOT_FOUND')) return
      throw toStreamsError(error, 'LOG_CONNECTION', 'deleteGroup')
    }
  }

  async deleteRecords (partitions: PartitionOffset[]): Promise<PartitionOffset[]> {
    this.#client.assertOpen()
    if (partitions.length === 0) return []
    const topics = new Map<string, Array<{ partition: number, offset: bigint }>>()
    for (const p of partitions) {
      let list = topics.get(p.topic)
      if (list === undefined) topics.set(p.topic, list = [])
      list.push({ partition: p.partition, offset: p.offset })
    }
    try {
      // platformatic routes each partition to its leader and retries retriable failures itself.
      const deleted = await this.#client.admin.deleteRecords({ topics: [...topics].map(([name, list]) => ({ name, partitions: list })) })
      return deleted.flatMap(t => t.partitions.map(p => ({ topic: t.name, partition: p.partition, offset: p.lowWatermark })))
    } catch (error) {
      throw toStreamsError(error, 'LOG_CONNECTION', 'deleteRecords')
    }
  }

  async close (): Promise<void> {
    await this.#client.closePool(this.#pool)
  }
}

function normaliseState (state: string): string {
  const known = ['Empty', 'Stable', 'PreparingRebalance', 'CompletingRebalance', 'Dead']
  const found = known.find(k => k.toLowerCase() === state.replace(/[_\s]/g, '').toLowerCase())
  return found ?? state
}

/** OffsetFetch with require_stable: the broker answers UNSTABLE_OFFSET_COMMIT while a transaction
 *  with offsets for the partition is pending; we retry (with backoff) until it settles. */
export async function fetchCommittedOffsets (client: KafkaClient, pool: ConnectionPool, groupId: string, partitions: TopicPartition[]): Promise<PartitionOffset[]> {
  if (partitions.length === 0) return []
  const topics = new Map<string, number[]>()
  for (const tp of partitions) {
    let list = topics.get(tp.topic)
    if (list === undefined) topics.set(tp.topic, list = [])
    list.push(tp.partition)
  }
  try {
    return await client.withCoordinator('group', groupId, pool, async connection => {
      let response: offsetFetchV9.OffsetFetchResponse
      try {
        response = await offsetFetchV9.api.async(connection, [{ groupId, memberId: null, memberEpoch: -1, topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })) }], true)
      } catch (error) {
        // A missing group is not an error: no offsets.
        if (hasProtocolError(error, 'GROUP_ID_NOT_FOUND')) return []
        throw error
      }
      const out: PartitionOffset[] = []
      for (const group of response.groups) {
        if (group.errorCode !== 0) throw new StreamsError('LOG_CONNECTION', `OffsetFetch ${protocolErrorsCodesById[group.errorCode] ?? group.errorCode}`)
        for (const topic of group.topics) {
          for (const p of topic.partitions) {
            if (p.errorCode !== 0) throw new StreamsError('LOG_CONNECTION', `OffsetFetch ${protocolErrorsCodesById[p.errorCode] ?? p.errorCode}`)
            if (p.committedOffset >= 0n) out.push({ topic: topic.name, partition: p.partitionIndex, offset: p.committedOffset })
          }
        }
      }
      return out
    }, 40)
  } catch (error) {
    throw toStreamsError(error, 'LOG_CONNECTION', 'listCommittedOffsets')
  }
}
