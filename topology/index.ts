// The engine's one public entry (docs/engine.md "Public entry"). Applications — processors/ and
// api/ — import the engine from here and from nowhere else; what is not exported here is the
// engine's internals and may change without notice (the runtime behind StreamsApplication, the
// store layers, the log backends, the assignor's wire format). Only cli/ (the composition root:
// it picks the log backend and state directory), tests and benchmarks may reach deeper.
// An ESLint rule keeps it so (eslint.config.js, "engine boundary").
//
// Exports are types wherever the application only needs the shape: `export type` keeps the
// runtime import graph of an application as small as what it really calls.

// The DSL (Kafka Streams' StreamsBuilder, KStream, KTable).
export { StreamsBuilder } from './streams-builder.ts'
export { KStream } from './dsl/kstream.ts'
export { KGroupedStream } from './dsl/kgrouped-stream.ts'
export { KTable } from './dsl/ktable.ts'
export type { Consumed, Produced, Materialized, KeyValuePair } from './dsl/options.ts'
export { KGroupedTable } from './dsl/kgrouped-table.ts'
export { GlobalKTable } from './dsl/global-table.ts'
export type { GlobalKeySelector, GlobalValueJoiner } from './dsl/global-table-join.ts'
export type { Grouped, Joined, Repartitioned } from './dsl/grouped.ts'
export type { TableJoiner } from './dsl/ktable-join.ts'
export type { TableJoined, ForeignKeyExtractor } from './dsl/foreign-key-join.ts'
export {
  processMerged, processRouted,
  type MergedProcessOptions, type RoutedProcessOptions, type OutputTypes, type OutputNodes, type RoutedStreams
} from './dsl/process-routed.ts'

// The windowed DSL: windows, windowed streams and tables, suppression, windowed serdes.
export { TimeWindows, SlidingWindows, SessionWindows } from './dsl/windows.ts'
export {
  TimeWindowedKStream, SessionWindowedKStream, WindowedKTable, type WindowedMaterialized
} from './dsl/windowed-stream.ts'
export { Suppressed, BufferConfig } from './dsl/suppress.ts'
export { WindowedSerdes } from './dsl/windowed-serdes.ts'
export { JoinWindows, joinStreams, leftJoinStreams, outerJoinStreams, type StreamJoined } from './dsl/windowed-join.ts'

// The low-level topology the DSL compiles to, and its description (text and Mermaid).
export {
  Topology,
  type TimestampExtractor, type TopicNameExtractor, type SourceOptions, type SinkOptions
} from './topology.ts'
export {
  describeTopology, describeAsText, describeAsMermaid,
  type TopologyDescription, type SubtopologyDescription, type NodeDescription, type StoreDescription
} from './describe.ts'

// The Processor API.
export type {
  Processor, ProcessorContext, ProcessorSupplier, PunctuationType, Cancellable, TaskId
} from './processor/processor.ts'
export type { Record, RecordMetadata } from './processor/record.ts'

// Serdes.
export { Serdes, bytesOrNullSerde, type Serde } from './serdes.ts'

// Errors: a stable code per failure, retriable or not (docs/engine.md "Errors and metric names").
export { StreamsError, STREAMS_ERRORS, isStreamsError, type StreamsErrorCode, type StreamsErrorOptions, type ErrorSpec } from './streams-error.ts'

// The runtime: a running application, its configuration and the events it reports.
export {
  StreamsApplication,
  type StreamsApplicationOptions, type KeyQueryMetadata, type LocalTaskLag
} from './streams-application.ts'
export type { ApplicationState, StateListener } from './application-state.ts'
export type { StandbyView } from './standby-queries.ts'
export {
  STREAM_ERROR_POLICIES,
  type StreamsConfig, type StreamsConfigInput, type ProcessingGuarantee, type StreamErrorPolicy
} from './runtime/streams-config.ts'
export {
  failOnProductionException,
  type ProductionExceptionHandler, type ProductionExceptionResponse, type ProductionFailure
} from './runtime/production-exception-handler.ts'
export type { CommitFailure, TaskRestored } from './runtime/stream-thread.ts'
export type { RecoveryEvent } from './runtime/commit-recovery.ts'
export type { RestoreProgressReport } from './runtime/restore-progress.ts'
export { applicationServerOf } from './streams-metadata.ts'

// The consumer runner: one group consumer whose records go to an external side effect (a
// database, webhooks), at least once (docs/engine.md "Consumer runner").
export {
  startConsumerRunner,
  type ConsumerRunner, type ConsumerRunnerOptions, type RecordHandler, type HandleOutcome,
  type ConsumerRetryPolicy, type PartitionLag
} from './runtime/consumer-runner.ts'
export { OffsetTracker } from './runtime/offset-tracker.ts'

// The test driver: runs a topology without a broker.
export {
  TopologyTestDriver, TestInputTopic, TestOutputTopic,
  type TestDriverOptions, type TestRecord
} from './test-driver.ts'

// Store contracts: what a processor writes (KeyValueStore) and what a query reads
// (ReadOnlyKeyValueStore / QueryableKeyValueStore). The stores themselves stay inside.
export type {
  KeyValue, RangeOptions, ReadOnlyKeyValueStore, KeyValueStore, StoreKind, StoreDefinition
} from '../stores/key-value-store.ts'
export type { QueryableKeyValueStore, StoreState } from '../stores/typed-key-value-store.ts'
export type { Window, Windowed, WindowValue, ReadOnlyWindowStore } from '../stores/window-store.ts'
export type { ReadOnlySessionStore } from '../stores/session-store.ts'

// The log port: the types an application sees through a Log (records, producers, group
// consumers, admin), and the default partitioner (a key's partition, as Kafka's producer picks it).
export type {
  Log, LogAdmin, LogProducer, GroupConsumer, GroupConsumerOptions, PartitionReader,
  Headers, LogRecord, ProducerRecord, ProducerOptions, SendOptions,
  TopicPartition, PartitionOffset, TopicSpec, TopicDescription,
  GroupDescription, GroupMemberDescription, OffsetResetPolicy
} from '../log/log-port.ts'
export { partitionForKey } from '../log/murmur2-partitioner.ts'
