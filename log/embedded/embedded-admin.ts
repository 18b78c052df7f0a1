// Admin operations of the embedded log (topics, offsets, groups).
import { StreamsError } from '../../topology/streams-error.ts'
import type { GroupDescription, LogAdmin, PartitionOffset, TopicDescription, TopicPartition, TopicSpec } from '../log-port.ts'
import type { GroupCoordinator } from './group-coordinator.ts'
import type { LogStorage } from './log-storage.ts'

export class EmbeddedAdmin implements LogAdmin {
  readonly #storage: LogStorage
  readonly #coordinator: GroupCoordinator
  readonly #assertOpen: () => void

  constructor (storage: LogStorage, coordinator: GroupCoordinator, assertOpen: () => void) {
    this.#storage = storage
    this.#coordinator = coordinator
    this.#assertOpen = assertOpen
  }

  async createTopics (topics: TopicSpec[]): Promise<void> {
    this.#assertOpen()
    const created = this.#storage.createTopics(topics)
    if (created.length > 0) this.#coordinator.topicsChanged(created)
  }

  async deleteTopics (names: string[]): Promise<void> {
    this.#assertOpen()
    const deleted = await this.#storage.deleteTopics(names)
    if (deleted.length > 0) this.#coordinator.topicsChanged(deleted)
  }

  async describeTopics (names: string[]): Promise<TopicDescription[]> {
    this.#assertOpen()
    const out: TopicDescription[] = []
    for (const name of names) {
      const topic = this.#storage.topic(name)
      if (topic !== undefined) out.push({ name, partitions: topic.partitions })
    }
    return out
  }

  async listTopics (): Promise<string[]> {
    this.#assertOpen()
    return this.#storage.topicNames()
  }

  async listOffsets (partitions: TopicPartition[], at: 'earliest' | 'latest'): Promise<PartitionOffset[]> {
    this.#assertOpen()
    return partitions.map(tp => {
      const end = this.#storage.endOffset(tp)
      if (end === undefined) throw new StreamsError('LOG_TOPIC_NOT_FOUND', `${tp.topic}-${tp.partition} does not exist`, { details: { topic: tp.topic, partition: tp.partition } })
      // No retention and no compaction: the log always starts at 0.
      return { topic: tp.topic, partition: tp.partition, offset: at === 'latest' ? end : 0n }
    })
  }

  async listCommittedOffsets (groupId: string, partitions: TopicPartition[]): Promise<PartitionOffset[]> {
    this.#assertOpen()
    // Commits are synchronous writes: none is ever pending (require_stable holds trivially).
    const out: PartitionOffset[] = []
    for (const tp of partitions) {
      const offset = this.#storage.committedOffset(groupId, tp)
      if (offset !== undefined) out.push({ topic: tp.topic, partition: tp.partition, offset })
    }
    return out
  }

  async alterCommittedOffsets (groupId: string, offsets: PartitionOffset[]): Promise<void> {
    this.#assertOpen()
    if (this.#coordinator.hasMembers(groupId)) {
      throw new StreamsError('LOG_GROUP_NOT_EMPTY', `Cannot alter the offsets of group ${groupId}: it still has members`, { details: { groupId } })
    }
    this.#storage.append([], { groupId, offsets })
  }

  async describeGroup (groupId: string): Promise<GroupDescription> {
    this.#assertOpen()
    return this.#coordinator.describe(groupId, this.#storage.hasCommittedOffsets(groupId))
  }

  async deleteGroup (groupId: string): Promise<void> {
    this.#assertOpen()
    this.#coordinator.deleteGroup(groupId)
    this.#storage.deleteGroupOffsets(groupId)
  }

  /** A no-op: the embedded log is single-process and keeps every record (no retention), so its
   *  repartition topics are not purged (docs/engine.md "Repartition topics"). */
  async deleteRecords (_partitions: PartitionOffset[]): Promise<PartitionOffset[]> {
    this.#assertOpen()
    return []
  }
}
