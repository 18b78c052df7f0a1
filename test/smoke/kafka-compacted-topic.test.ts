// A compacted topic (what changelog topics are) can be created, and the broker reports the
// policy through describe configs, as a topic-level override. A default topic, for contrast,
// reports the broker default "delete".
import t from 'tap'
import { ConfigResourceTypes, ConfigSources } from '@platformatic/kafka'
import { adminFor, createTopic } from './kafka-helpers.ts'

t.test('create a compacted topic and read its cleanup.policy back', async t => {
  const admin = adminFor(t)
  const compacted = await createTopic(t, admin, {
    partitions: 2,
    configs: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.compaction.lag.ms', value: '0' }]
  })
  const plain = await createTopic(t, admin, { partitions: 1 })

  const described = await admin.describeConfigs({
    resources: [compacted, plain].map(resourceName => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName, configurationKeys: ['cleanup.policy'] }))
  })
  const policy = (name: string): { value: string | null | undefined, source: number | undefined } => {
    const config = described.find(d => d.resourceName === name)?.configs.find(c => c.name === 'cleanup.policy')
    return { value: config?.value, source: config?.configSource }
  }
  t.same(policy(compacted), { value: 'compact', source: ConfigSources.DYNAMIC_TOPIC_CONFIG }, 'compacted topic: cleanup.policy=compact, set on the topic')
  t.equal(policy(plain).value, 'delete', 'default topic: cleanup.policy=delete')
  t.not(policy(plain).source, ConfigSources.DYNAMIC_TOPIC_CONFIG, 'default topic: the policy is not a topic override')

  const metadata = await admin.metadata({ topics: [compacted] })
  t.equal(metadata.topics.get(compacted)?.partitionsCount, 2, 'the topic has the partitions asked for')
})
