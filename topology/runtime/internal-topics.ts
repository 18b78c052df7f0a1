// How many partitions each repartition topic gets (docs/engine.md "Repartition topics"), as Kafka
// Streams' RepartitionTopics and CopartitionedTopicsEnforcer decide it, from the partition counts
// of the topics that exist:
//   1. an explicit count (Repartitioned's `partitions`);
//   2. else, when the sub-topology reading it also reads existing topics (a join's other side, a
//      merge), their count: the two sides of a join must be co-partitioned;
//   3. else the largest count among the source topics of the sub-topology writing it (recursively,
//      when those are repartition topics themselves; topics whose count is being decided, in a
//      cycle of sub-topologies such as a foreign-key join's, left out);
// and the repartition topics of a sub-topology that reads only repartition topics all get the
// largest of theirs. Whether every sub-topology's source topics then agree is checked by the caller
// (StreamsApplication, at start), which names the topics and counts when they do not.
import { StreamsError } from '../streams-error.ts'
import type { Subtopology, Topology } from '../topology.ts'

/** Partition count of every internal topic of `topology` (already named for the application). */
export function internalTopicPartitions (topology: Topology, subtopologies: readonly Subtopology[], existing: ReadonlyMap<string, number>): Map<string, number> {
  const internal = new Map(topology.internalTopics().map(t => [t.name, t]))
  const readerOf = (topic: string): Subtopology | undefined => subtopologies.find(s => s.sourceTopics.includes(topic))
  const writersOf = (topic: string): Subtopology[] => subtopologies.filter(s => s.nodes.some(n => {
    const node = topology.node(n)
    return node?.kind === 'sink' && node.topic === topic
  }))
  const counts = new Map<string, number>()
  const visiting = new Set<string>()

  const countOf = (topic: string): number => {
    const known = existing.get(topic) ?? counts.get(topic)
    if (known !== undefined) return known
    const spec = internal.get(topic)
    if (spec === undefined) throw new StreamsError('LOG_TOPIC_NOT_FOUND', `topic ${topic} does not exist`)
    if (spec.partitions !== undefined) { counts.set(topic, spec.partitions); return spec.partitions }
    if (visiting.has(topic)) throw new StreamsError('TOPOLOGY_INVALID', `cannot decide the partition count of repartition topic ${topic}: its writers depend on it (give it an explicit count with repartition({ partitions }))`)
    visiting.add(topic)
    const coPartitioned = (readerOf(topic)?.sourceTopics ?? []).filter(t => t !== topic && !internal.has(t))
    let n: number
    if (coPartitioned.length > 0) {
      n = Math.max(...coPartitioned.map(t => countOf(t)))
    } else {
      // Skipping the topics being decided: a foreign-key join's response topic is written by the
      // sub-topology that reads it, and the registration topic by one reading the response topic.
      const writers = writersOf(topic)
      if (writers.length === 0) throw new StreamsError('TOPOLOGY_INVALID', `repartition topic ${topic} has no writer`)
      const upstream = writers.flatMap(s => s.sourceTopics).filter(t => t !== topic && !visiting.has(t))
      if (upstream.length === 0) throw new StreamsError('TOPOLOGY_INVALID', `cannot decide the partition count of repartition topic ${topic}: its writers depend on it (give it an explicit count with repartition({ partitions }))`)
      n = Math.max(...upstream.map(t => countOf(t)))
    }
    visiting.delete(topic)
    counts.set(topic, n)
    return n
  }

  for (const topic of internal.keys()) countOf(topic)
  // A sub-topology reading only repartition topics (e.g. a join of two re-keyed tables): the ones
  // without an explicit count follow the largest, so that its tasks see every key.
  for (const sub of subtopologies) {
    if (sub.sourceTopics.length < 2 || !sub.sourceTopics.every(t => internal.has(t))) continue
    const max = Math.max(...sub.sourceTopics.map(t => counts.get(t)!))
    for (const t of sub.sourceTopics) if (internal.get(t)!.partitions === undefined) counts.set(t, max)
  }
  return counts
}
