// A repartition topic (docs/engine.md "Repartition topics"): what a key-changing operation needs
// before a stateful operation or a join, so that every record of a key reaches the one task that
// owns the key. As Kafka Streams: a filter dropping null keys, a sink writing the topic
// `<applicationId>-<name>-repartition` (partitioned by the serialized key, murmur2, as the
// producer does), and a new source reading it, which starts a new sub-topology. The sink is an
// ordinary output: under exactly-once it is written in the task's transaction, and the
// downstream sub-topology reads it read_committed like any source.
import type { ProcessorContext } from '../processor/processor.ts'
import type { Serde } from '../serdes.ts'
import type { Topology } from '../topology.ts'

export interface RepartitionOptions<K, V> {
  /** The topic is `<applicationId>-<baseName>-repartition`; its nodes `<that>-filter|sink|source`. */
  readonly baseName: string
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>
  readonly partitions?: number
}

/** Adds the topic and its nodes after `parent`; returns the source node's name. */
export function addRepartition<K, V> (topology: Topology, parent: string, options: RepartitionOptions<K, V>): string {
  const topic = `${options.baseName}-repartition`
  topology.addInternalTopic(topic, options.partitions === undefined ? {} : { partitions: options.partitions })
  const filter = `${topic}-filter`
  const sink = `${topic}-sink`
  const source = `${topic}-source`
  topology.addProcessor(filter, () => {
    let ctx: ProcessorContext<unknown, unknown>
    return {
      init (c) { ctx = c },
      // A record without a key has no partition to go to (Kafka Streams drops it here too).
      process (record) { if (record.key !== null && record.key !== undefined) ctx.forward(record) }
    }
  }, parent)
  topology.addSink(sink, topic, { keySerde: options.keySerde, valueSerde: options.valueSerde }, filter)
  topology.addSource(source, { topics: [topic], keySerde: options.keySerde, valueSerde: options.valueSerde })
  return source
}
