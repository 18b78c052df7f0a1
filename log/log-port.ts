// The log port: everything the stream engine needs from a partitioned, durable log. The engine
// (topology/runtime) depends only on this file; log/kafka and log/embedded implement it.
//
// Conventions (both backends must honour them; test/log/port-conformance tests them):
// - Offsets are bigint. A committed offset is the offset of the NEXT record to read.
// - Keys are partitioned with Kafka's default murmur2 partitioner (log/murmur2-partitioner.ts)
//   unless a record names its partition.
// - Consumers in a group read committed data only (isolation read_committed): records of an open
//   or aborted transaction are never returned.
// - Rebalance callbacks are awaited inside poll(), as in the Java consumer: a member does not
//   rejoin (and so nobody else gets its partitions) until onPartitionsRevoked has resolved.

export type Headers = Record<string, Buffer>

export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

export interface LogRecord extends TopicPartition {
  readonly offset: bigint
  /** Record timestamp, ms since the epoch (CreateTime). */
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: Headers
}

export interface ProducerRecord {
  readonly topic: string
  /** Omitted: chosen by murmur2(key) like Kafka's default partitioner. */
  readonly partition?: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers?: Headers
  /** Omitted: now. */
  readonly timestamp?: number
}

export interface PartitionOffset extends TopicPartition {
  readonly offset: bigint
}

/** Identity of a group member at a generation: sent with transactional offset commits so a zombie
 *  (an older generation) is fenced (KIP-447). */
export interface GroupMetadata {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
}

export interface TopicSpec {
  readonly name: string
  readonly partitions: number
  /** Broker topic configs, e.g. { 'cleanup.policy': 'compact' }. */
  readonly config?: Record<string, string>
}

export interface TopicDescription {
  readonly name: string
  readonly partitions: number
}

export interface GroupMemberDescription {
  readonly memberId: string
  readonly clientId: string
  /** The member's subscription user data (the engine puts its host:port here). */
  readonly userData: Buffer | null
  readonly assignment: TopicPartition[]
}

export interface GroupDescription {
  readonly groupId: string
  /** 'Empty', 'Stable', 'PreparingRebalance', 'CompletingRebalance', 'Dead'. */
  readonly state: string
  readonly members: GroupMemberDescription[]
}

export interface LogAdmin {
  /** Creates the topics that do not exist; existing ones are left as they are. */
  createTopics (topics: TopicSpec[]): Promise<void>
  /** Deletes the topics that exist; missing ones are ignored. */
  deleteTopics (names: string[]): Promise<void>
  /** Descriptions of the topics that exist (missing ones are left out). */
  describeTopics (names: string[]): Promise<TopicDescription[]>
  listTopics (): Promise<string[]>
  /** 'latest' is the last stable offset (read_committed end), 'earliest' the log start. */
  listOffsets (partitions: TopicPartition[], at: 'earliest' | 'latest'): Promise<PartitionOffset[]>
  /** Committed offsets of a group; partitions with none are left out. Waits for pending
   *  transactional commits to settle (require_stable) so the answer is never about to change. */
  listCommittedOffsets (groupId: string, partitions: TopicPartition[]): Promise<PartitionOffset[]>
  /** Sets a group's committed offsets. Fails with LOG_GROUP_NOT_EMPTY while it has members. */
  alterCommittedOffsets (groupId: string, offsets: PartitionOffset[]): Promise<void>
  describeGroup (groupId: string): Promise<GroupDescription>
  /** Deletes an empty group; a missing group is ignored. */
  deleteGroup (groupId: string): Promise<void>
  /** Deletes each partition's records below `offset` (Kafka's DeleteRecords: the log start moves
   *  up to it; records at or after it stay). Returns the partitions' new log start offsets (low
   *  watermarks) where the backend knows them; the embedded log deletes nothing and returns []
   *  (docs/engine.md "Repartition topics"). */
  deleteRecords (partitions: PartitionOffset[]): Promise<PartitionOffset[]>
}

/** Given every member's subscription, decide each member's partitions. Runs on the group leader
 *  only; `userData` travels back to each member with its assignment (the engine uses it to share
 *  the partition -> host map for interactive queries). Must be deterministic.
 *  `ownedPartitions` is what the member holds as it joins: always empty with the eager protocol
 *  (a member revokes everything before it rejoins), its current assignment with the cooperative
 *  one (both backends set it; callers outside the log may leave it out). An assignor returns the
 *  target it wants, cooperative or not: with the cooperative protocol the backend then withholds,
 *  for this round, every partition that would change owner (log/cooperative-assignment.ts), and
 *  hands it over in the follow-up round, once its owner revoked it. */
export type PartitionAssignor = (input: {
  members: ReadonlyArray<{ memberId: string, userData: Buffer | null, ownedPartitions?: readonly TopicPartition[] }>
  partitionsPerTopic: ReadonlyMap<string, number>
}) => Map<string, { partitions: TopicPartition[], userData: Buffer | null }>

/** Eager (Kafka's classic default): before a member rejoins it revokes all its partitions, so
 *  every partition of the group pauses during a rebalance. Cooperative (KIP-429): a member keeps
 *  its partitions, and poll() keeps returning their records, while the group rebalances; after
 *  the assignment it revokes only the partitions that move away and, if it revoked any, rejoins
 *  at once so that a follow-up round hands them to their new owner. The members of one group must
 *  all use the same protocol: a member joining a group of the other kind fails with
 *  CONFIG_INVALID (on Kafka the broker answers INCONSISTENT_GROUP_PROTOCOL). */
export type RebalanceProtocol = 'eager' | 'cooperative'

export interface RebalanceListener {
  /** Eager: awaited before the member rejoins, with all its partitions. Cooperative: awaited
   *  after an assignment, with only the partitions the member owned and no longer gets, before it
   *  rejoins (and so before anybody gets them). Flush, commit and close their tasks. */
  onPartitionsRevoked (partitions: TopicPartition[]): Promise<void>
  /** Awaited before poll() returns records of these partitions. Cooperative: only the partitions
   *  newly added (kept ones are not repeated; called with [] after a round that added nothing,
   *  so the member always learns the new `userData`). `userData` is what the leader's assignor
   *  returned for this member. */
  onPartitionsAssigned (partitions: TopicPartition[], userData: Buffer | null): Promise<void>
  /** The member lost its partitions without a chance to commit (session timeout, fenced,
   *  unknown member), all of them, with either protocol: close their tasks without committing. */
  onPartitionsLost (partitions: TopicPartition[]): Promise<void>
}

/** Where a group consumer starts on a partition it has no valid position for (Kafka's
 *  auto.offset.reset): no committed offset, or a committed offset outside the log's range
 *  (records deleted by retention, a topic recreated). 'none' fails with LOG_OFFSET_OUT_OF_RANGE. */
export type OffsetResetPolicy = 'earliest' | 'latest' | 'none'

/** A committed (or sought) position that was out of the log's range, and where the consumer went. */
export interface OffsetReset extends TopicPartition {
  readonly groupId: string
  readonly policy: OffsetResetPolicy
  /** The position that was out of range. */
  readonly from: bigint
  /** Where reading continues (earliest or latest offset, per the policy). */
  readonly to: bigint
}

export interface OffsetResetOptions {
  /** Default 'earliest' (what Kafka Streams does). */
  readonly policy?: OffsetResetPolicy
  /** Told of every out-of-range reset (the platform logs and counts them: never silent). */
  readonly onReset?: (reset: OffsetReset) => void
}

export interface GroupConsumerOptions {
  readonly groupId: string
  readonly clientId: string
  readonly topics: string[]
  readonly listener: RebalanceListener
  /** Sent with the subscription (every member's is visible to the assignor and describeGroup). A
   *  function is called before each JoinGroup, so the subscription says what the member holds at
   *  that moment (the engine sends its tasks and their changelog offsets). */
  readonly userData?: Buffer | (() => Buffer | Promise<Buffer>)
  /** Default: range-like assignment per topic. The engine passes its co-partitioning assignor. */
  readonly assignor?: PartitionAssignor
  readonly sessionTimeoutMs?: number
  readonly rebalanceTimeoutMs?: number
  /** How often a member heartbeats (default: a third of the session timeout, at most 3 s). A
   *  member learns that the group rebalances from its heartbeat's answer, so this bounds how long
   *  every partition that moves waits for it (docs/engine.md "Group protocol and rebalancing"). */
  readonly heartbeatIntervalMs?: number
  /** Default 'eager'. See RebalanceProtocol. */
  readonly rebalanceProtocol?: RebalanceProtocol
  /** Upper bound on records one poll() returns. */
  readonly maxPollRecords?: number
  /** Overrides the log connection's reset policy (and listener) for this consumer. */
  readonly offsetReset?: OffsetResetOptions
}

export interface GroupConsumer {
  /** Joins (or rejoins) the group when needed, running the listener callbacks, then returns the
   *  records available from assigned, unpaused partitions, waiting at most maxWaitMs for some.
   *  Positions advance past returned records. */
  poll (maxWaitMs: number): Promise<LogRecord[]>
  assignment (): TopicPartition[]
  /** Current member identity; null before the first successful join. */
  groupMetadata (): GroupMetadata | null
  pause (partitions: TopicPartition[]): void
  resume (partitions: TopicPartition[]): void
  /** Sets the next offset poll() reads from for an assigned partition. */
  seek (position: PartitionOffset): void
  /** Next offset poll() would read for an assigned partition (committed offset, or earliest
   *  when the group has none, until records are returned). */
  position (partition: TopicPartition): bigint
  /** The end (last stable offset) of an assigned partition as last seen by a fetch, or undefined
   *  before any: with position() it tells whether records are still to come (the engine waits
   *  for them to keep event-time order across partitions, as Kafka Streams' KIP-695). */
  endOffset (partition: TopicPartition): bigint | undefined
  /** Rejoins the group at the next poll() (a rebalance, with the listener callbacks as for any
   *  other): the engine's probing rebalance (docs/engine.md "Rebalancing"). */
  requestRejoin (): void
  /** At-least-once commit of consumed offsets (offset = next to read), outside any transaction. */
  commitOffsets (offsets: PartitionOffset[]): Promise<void>
  /** Leaves the group (fast hand-over to the others) and closes. */
  close (): Promise<void>
}

/** Reads chosen partitions from chosen offsets, without a group: used to restore state stores
 *  from changelogs. Reads committed data only. */
/** A record as a restore applies it (PartitionReader.pollEntries). */
export interface PartitionEntry {
  readonly key: Buffer
  readonly value: Buffer | null
}

/** One partition's entries of a PartitionReader.pollEntries(). */
export interface PartitionEntries extends TopicPartition {
  readonly entries: PartitionEntry[]
  /** Optional, where the backend decodes on demand: the next up to `max` entries (none left:
   *  empty), decoded only now. A reader takes the entries either this way or through `entries`
   *  (which then decodes whatever was not taken yet), not both. */
  readonly take?: (max: number) => PartitionEntry[]
  /** With take(): the records of the run counted from the log's batch headers, before any is
   *  decoded (records without a key included). */
  readonly records?: number
  /** Optional, with take(): the bytes takeColumns() points into, where the run can be decoded
   *  so (undefined: take() only). */
  readonly columnBuffer?: Buffer
  /** take() as offsets into columnBuffer (stores/restore-columns.ts): fills `at` with the next up
   *  to `max` records, returns how many (0: none left). May alternate with take(). */
  readonly takeColumns?: (max: number, at: Int32Array) => number
}

export interface PartitionReader {
  assign (positions: PartitionOffset[]): void
  unassign (partitions: TopicPartition[]): void
  poll (maxWaitMs: number): Promise<LogRecord[]>
  /** Optional: poll() for a reader that needs only keys and values (a restore), grouped by
   *  partition in fetch order, records without a key left out. Backends that can decode so
   *  spare the per-record offset, timestamp and headers (log/kafka/kafka-entry-fetch.ts). */
  pollEntries? (maxWaitMs: number): Promise<PartitionEntries[]>
  /** Optional, with pollEntries(): that answer (the same array) is written and no view of its
   *  entries is kept; the backend may reuse their bytes. Never called: they stay valid. */
  releaseEntries? (runs: PartitionEntries[]): void
  /** Next offset to read (after control records too: may pass the last returned record). */
  position (partition: TopicPartition): bigint
  close (): Promise<void>
}

export interface ProducerOptions {
  readonly clientId: string
  /** Set: a transactional producer (exactly-once). Starting it fences any older producer with the
   *  same id and aborts that producer's open transaction. */
  readonly transactionalId?: string
  /** Transactional producers: the broker aborts a transaction left open this long. */
  readonly transactionTimeoutMs?: number
}

export interface SendOptions {
  /** Records of these partitions go one per produce request: a refusal then names exactly one
   *  record (a broker answers per partition batch; see LOG_RECORD_REFUSED below). */
  readonly isolate?: readonly TopicPartition[]
}

/** Failures every backend reports the same way (docs/engine.md "Faults and recovery"):
 *  - LOG_PRODUCER_FENCED: a newer producer or group generation exists, or the broker lost this
 *    producer's sequence state; nothing of the transaction committed. Replace the producer.
 *  - LOG_RECORD_REFUSED: the broker refused records themselves (timestamp out of range, too
 *    large, corrupt). `details.refused` is `[{ index, topic, partition, code, message }]` (index
 *    into the batch's records, partition as chosen by the producer); `details.exact` is false when the broker named only a partition batch, then every
 *    record of it is listed (send them again with `isolate` to learn which). Nothing of the
 *    transaction committed. Replace the producer.
 *  - LOG_TRANSACTION_UNKNOWN: the transaction may or may not have committed. Replace the producer
 *    and read the state again from the log.
 *  - LOG_AUTHORIZATION: not allowed (ACLs). Fatal.
 *  - LOG_TRANSACTION_ABORTED (transactional) / LOG_CONNECTION: aborted or not sent; retriable with
 *    the same producer. */
export interface LogProducer {
  /** Non-transactional producers: appends the records (acks=all, idempotent) and resolves when
   *  all are durable, in order per partition. Returns each record's partition and offset.
   *  Transactional producers: appends the records to the open transaction, begun by the first
   *  send after a commit or an abort (Kafka Streams sends as it processes); nothing is visible
   *  until commitTransaction. Offsets may be -1n (not known before the commit). A failure here
   *  fails the transaction: commitTransaction then aborts it and rejects with that failure, a
   *  refusal's indexes counting every record of the transaction (these sends', then its own). */
  send (records: ProducerRecord[], options?: SendOptions): Promise<PartitionOffset[]>
  /** Transactional producers: drops the open transaction (records sent since the last commit);
   *  nothing if none is open. Rejects with LOG_TRANSACTION_UNKNOWN when the abort fails (replace
   *  the producer). Non-transactional producers: nothing to do. */
  abortTransaction (): Promise<void>
  /** Transactional producers: in one transaction, appends the records (after those already sent
   *  into it) and (if given) commits the consumer offsets for the group member; all or nothing.
   *  Returns the offsets of `records` only. Rejects with
   *  LOG_PRODUCER_FENCED if a newer producer with the same id exists, or if the group
   *  generation is stale; the caller must then close this producer. Other failures abort the
   *  transaction and reject with LOG_TRANSACTION_ABORTED. */
  commitTransaction (batch: { records: ProducerRecord[], offsets?: { group: GroupMetadata, offsets: PartitionOffset[] }, isolate?: readonly TopicPartition[] }): Promise<PartitionOffset[]>
  /** Optional, best effort, never rejects: looks up ahead of the first send what it will need
   *  (the topics' partitions and leaders, the group's coordinator), so that the first commit does
   *  not pay for it. */
  prepare?: (topics: readonly string[], groupId?: string) => Promise<void>
  close (): Promise<void>
}

/** A connection to one log backend. */
export interface Log {
  /** 'kafka' or 'embedded': for logs and the topology description only. */
  readonly kind: string
  readonly admin: LogAdmin
  createGroupConsumer (options: GroupConsumerOptions): GroupConsumer
  createPartitionReader (options: { clientId: string }): PartitionReader
  createProducer (options: ProducerOptions): Promise<LogProducer>
  close (): Promise<void>
}
