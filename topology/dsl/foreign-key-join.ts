// KTable-KTable foreign-key join and left join (docs/engine.md "Foreign-key table joins"; Kafka
// Streams' KTableImpl.doJoinOnForeignKey, KIP-213). Each left row (K → V) joins the right row
// (KO → VO) of the foreign key its value names. The two tables need not be co-partitioned: the
// left side sends subscriptions keyed by foreign key through
// `<applicationId>-<name>-subscription-registration-topic` (so they reach the task owning the
// right row), the right side keeps them in `<name>-subscription-store` and answers through
// `<applicationId>-<name>-subscription-response-topic` keyed by the left key (back to the task
// owning the left row), which joins the answer with the row's current value. Each answer carries
// the hash of the left value it was computed for: one for an older value is dropped.
// The topics are created at start like repartition topics, each with the partition count of the
// side that reads it (runtime/internal-topics.ts).
import { Serdes, type Serde } from '../serdes.ts'
import { KTable } from './ktable.ts'
import type { Materialized } from './options.ts'
import type { StreamsBuilder } from '../streams-builder.ts'
import { combinedKeySerde, responseSerde, subscriptionSerde } from './foreign-key-join-serdes.ts'
import { foreignTableProcessor, receiveProcessor, resolverProcessor, sendProcessor, type ForeignKeyJoinKind } from './foreign-key-join-processors.ts'
import type { TableJoiner } from './ktable-join.ts'
import { storeValueGetter, type KTableValueGetter } from './value-getter.ts'

/** Options of a foreign-key join (Kafka Streams' TableJoined, plus the serdes its internal
 *  topics and stores need: Kafka Streams takes them from the tables). */
export interface TableJoined<K, V, KO, VO> {
  /** Names the join's nodes, topics and subscription store (`<name>-…`); default a generated
   *  KTABLE-FK-JOIN name. Give one to keep the internal topics' names across topology versions. */
  readonly name?: string
  /** This (left) table's keys: the response topic's keys. Default string. */
  readonly keySerde?: Serde<K>
  /** This table's values, hashed to recognize stale answers; must serialize one value to the
   *  same bytes every time. Default JSON. */
  readonly valueSerde?: Serde<V>
  /** The other table's keys: the subscription topic's keys, as in the other table's topic (the
   *  partition of a subscription is its bytes' murmur2 hash). Default string. */
  readonly foreignKeySerde?: Serde<KO>
  /** The other table's values, sent back on the response topic. Default JSON. */
  readonly otherValueSerde?: Serde<VO>
}

/** Returns the foreign key of a left row; null or undefined: the row references no right row. */
export type ForeignKeyExtractor<K, V, KO> = (value: V, key: K) => KO | null | undefined

export function foreignKeyJoin<K, V, KO, VO, VR> (builder: StreamsBuilder, left: KTable<K, V>, right: KTable<KO, VO>,
  foreignKeyExtractor: ForeignKeyExtractor<K, V, KO>, joiner: TableJoiner<K, V, VO | undefined, VR>, kind: ForeignKeyJoinKind,
  tableJoined: TableJoined<K, V, KO, VO> = {}, materialized?: Materialized<K, VR>): KTable<K, VR> {
  const topology = builder.topology
  const base = tableJoined.name ?? builder.nextName(kind === 'inner' ? 'FK-JOIN' : 'FK-LEFTJOIN', 'KTABLE')
  const keySerde = tableJoined.keySerde ?? materialized?.keySerde ?? (Serdes.string() as unknown as Serde<K>)
  const valueSerde = tableJoined.valueSerde ?? Serdes.json<V>()
  const foreignKeySerde = tableJoined.foreignKeySerde ?? (Serdes.string() as unknown as Serde<KO>)
  const otherValueSerde = tableJoined.otherValueSerde ?? Serdes.json<VO>()

  const subscriptionTopic = `${base}-subscription-registration-topic`
  const responseTopic = `${base}-subscription-response-topic`
  const subscriptionStore = `${base}-subscription-store`
  const names = {
    send: `${base}-subscription-send`,
    subscriptionSink: `${subscriptionTopic}-sink`,
    subscriptionSource: `${subscriptionTopic}-source`,
    receive: `${base}-subscription-receive`,
    foreign: `${base}-foreign-table-join`,
    // Two sinks of the response topic: one sink with parents on both sides would join the two
    // sides into one sub-topology.
    responseSink: `${responseTopic}-sink`,
    directResponseSink: `${responseTopic}-direct-sink`,
    responseSource: `${responseTopic}-source`
  }
  const subscriptionValues = subscriptionSerde(keySerde)
  const responses = responseSerde(otherValueSerde)
  topology.addInternalTopic(subscriptionTopic)
  topology.addInternalTopic(responseTopic)

  // Left side: subscribe.
  topology.addProcessor(names.send, sendProcessor<K, V, KO>({
    kind,
    foreignKeyOf: (value, key) => foreignKeyExtractor(value, key) ?? null,
    foreignKeySerde,
    valueSerde,
    subscriptionSink: names.subscriptionSink,
    responseSink: names.directResponseSink
  }), left.nodeName)
  topology.addSink(names.subscriptionSink, subscriptionTopic, { keySerde: foreignKeySerde, valueSerde: subscriptionValues }, names.send)
  topology.addSink(names.directResponseSink, responseTopic, { keySerde, valueSerde: responses }, names.send)

  // Right side: remember the subscriptions, answer them now and on every right update.
  topology.addSource(names.subscriptionSource, { topics: [subscriptionTopic], keySerde: foreignKeySerde, valueSerde: subscriptionValues })
  topology.addProcessor(names.receive, receiveProcessor<K, KO, VO>({ storeName: subscriptionStore, rightGetter: right.valueGetter }), names.subscriptionSource)
  topology.addStateStore({
    name: subscriptionStore,
    kind: 'rocksdb',
    keySerde: combinedKeySerde<KO, K>(foreignKeySerde, keySerde),
    valueSerde: subscriptionValues,
    changelog: true
  }, names.receive)
  topology.connectProcessorAndStateStores(names.receive, ...right.valueGetter.stores)
  topology.addProcessor(names.foreign, foreignTableProcessor<K, KO, VO>({ storeName: subscriptionStore }), right.nodeName)
  topology.connectProcessorAndStateStores(names.foreign, subscriptionStore)
  topology.addSink(names.responseSink, responseTopic, { keySerde, valueSerde: responses }, names.receive, names.foreign)

  // Left side: join the answers.
  topology.addSource(names.responseSource, { topics: [responseTopic], keySerde, valueSerde: responses })
  return addResolver<K, V, VO, VR>(builder, names.responseSource, {
    name: `${base}-resolver`, kind, left: left.valueGetter, valueSerde, keySerde, joiner, materialized, outputStore: `${base}-output-store`
  })
}

/** The resolver after `parent` (a source of responses), its result store and the KTable it makes.
 *  @internal exported for tests that feed it responses directly. */
export function addResolver<K, V, VO, VR> (builder: StreamsBuilder, parent: string, options: {
  name: string
  kind: ForeignKeyJoinKind
  left: KTableValueGetter<K, V>
  valueSerde: Serde<V>
  keySerde: Serde<K>
  joiner: TableJoiner<K, V, VO | undefined, VR>
  materialized: Materialized<K, VR> | undefined
  /** The result's store when not materialized (a foreign-key join's result is always kept: the
   *  left value and the right row of its key are in different tasks, so no getter can compute it). */
  outputStore: string
}): KTable<K, VR> {
  const storeName = options.materialized?.storeName ?? options.outputStore
  builder.topology.addProcessor(options.name, resolverProcessor<K, V, VO, VR>({
    kind: options.kind, leftGetter: options.left, valueSerde: options.valueSerde, joiner: options.joiner, storeName
  }), parent)
  builder.topology.connectProcessorAndStateStores(options.name, ...options.left.stores)
  builder.addStoreFor<K, VR>(options.materialized ?? { storeName }, options.materialized?.keySerde ?? options.keySerde, options.materialized?.valueSerde ?? Serdes.json<VR>(), options.name)
  return new KTable<K, VR>(builder, options.name, options.materialized === undefined ? null : storeName, storeValueGetter(storeName))
}
