// The topics a StreamsApplication checks and creates before it joins its group: the external ones
// must exist, the repartition and changelog topics are created with the partition counts the
// topology needs, and each sub-topology's sources must be co-partitioned.
import type { LogAdmin, TopicSpec } from '../log/log-port.ts'
import { StreamsError } from './streams-error.ts'
import { internalTopicPartitions } from './runtime/internal-topics.ts'
import { changelogTopicName } from './runtime/task-names.ts'
import type { Subtopology, Topology } from './topology.ts'

/** Checks the topics, creates the missing internal ones and fills `partitions` (sub-topology id
 *  → its partition count, hence task count). */
export async function prepareTopics (admin: LogAdmin, topology: Topology, subtopologies: readonly Subtopology[], applicationId: string, partitions: Map<number, number>): Promise<void> {
  const internal = new Set(topology.internalTopics().map(t => t.name))
  const globalTopics = topology.globalStores().map(g => g.topic)
  const external = [...new Set([...topology.sourceTopics(), ...topology.sinkTopics(), ...globalTopics])].filter(t => !internal.has(t))
  const described = new Map((await admin.describeTopics(external)).map(d => [d.name, d.partitions]))
  const missing = external.filter(t => !described.has(t))
  if (missing.length > 0) {
    throw new StreamsError('LOG_TOPIC_NOT_FOUND', `topics missing: ${missing.join(', ')} (create them first, e.g. \`rewards topics create\`)`)
  }
  const repartitionCounts = internalTopicPartitions(topology, subtopologies, described)
  // No time retention, as Kafka Streams: records keep their input's timestamps, and months-old
  // ones would be deleted by the broker's default 7 days before the downstream task read them.
  // Not purged after commit yet (docs/engine.md "Repartition topics").
  const created: TopicSpec[] = [...repartitionCounts].map(([name, partitions]) => ({ name, partitions, config: { 'cleanup.policy': 'delete', 'retention.ms': '-1' } }))
  for (const sub of subtopologies) {
    const counts = sub.sourceTopics.map(t => described.get(t) ?? repartitionCounts.get(t)!)
    if (new Set(counts).size > 1) {
      throw new StreamsError('TOPOLOGY_INVALID', `source topics of sub-topology ${sub.id} are not co-partitioned: ${sub.sourceTopics.map((t, i) => `${t}=${counts[i]}`).join(', ')} partitions (the two sides of a join, and the inputs of a merge feeding a stateful operation, need the same partition count: repartition() one side)`)
    }
    partitions.set(sub.id, counts[0]!)
    for (const store of sub.stores) {
      const definition = topology.storeDefinition(store)!
      if (!definition.changelog) continue
      created.push({ name: changelogTopicName(applicationId, store), partitions: counts[0]!, config: { 'cleanup.policy': 'compact', ...definition.changelogConfig } })
    }
  }
  const existing = new Map((await admin.describeTopics(created.map(c => c.name))).map(d => [d.name, d.partitions]))
  for (const c of created) {
    const n = existing.get(c.name)
    if (n !== undefined && n !== c.partitions) {
      throw new StreamsError('TOPOLOGY_INVALID', internal.has(c.name)
        ? `repartition topic ${c.name} has ${n} partitions but the topology needs ${c.partitions}; delete it (with the application stopped) to recreate it`
        : `changelog ${c.name} has ${n} partitions but its sources have ${c.partitions}; run \`rewards rebuild\` to recreate it`)
    }
  }
  await admin.createTopics(created.filter(c => !existing.has(c.name)))
}
