// The group leader's part of a rebalance (classic protocol): decode every member's subscription,
// learn the subscribed topics' partition counts, run the PartitionAssignor and encode each
// member's SyncGroup assignment. With the cooperative protocol, partitions that change owner are
// held back until their old owner released them (log/cooperative-assignment.ts).
import { decodeConsumerProtocolSubscription, encodeConsumerProtocolAssignment } from '@platformatic/kafka'
import type { joinGroupV9, syncGroupV5 } from '@platformatic/kafka'
import type { PartitionAssignor, TopicPartition } from '../log-port.ts'
import { cooperativeAssignment } from '../cooperative-assignment.ts'
import type { KafkaAdmin } from './kafka-admin.ts'
import type { KafkaClient } from './kafka-client.ts'

/** Each member's assignment for the leader's SyncGroup. */
export async function leaderAssignment (client: KafkaClient, admin: KafkaAdmin, assignor: PartitionAssignor, cooperative: boolean, members: joinGroupV9.JoinGroupResponseMember[]): Promise<syncGroupV5.SyncGroupRequestAssignment[]> {
  const decoded = members.map(member => {
    const subscription = decodeConsumerProtocolSubscription(member.metadata)
    const userData = subscription.userData
    const ownedPartitions = subscription.ownedPartitions.flatMap(({ topic, partitions }) => partitions.map(partition => ({ topic, partition })))
    return { memberId: member.memberId, topics: subscription.topics, ownedPartitions, userData: userData === null || userData === undefined || userData.length === 0 ? null : Buffer.from(userData) }
  })
  // Subscribed topics that do not exist (yet) get no partitions, as with the Java leader.
  const existing = new Set(await admin.listTopics())
  const topics = [...new Set(decoded.flatMap(m => m.topics))].filter(topic => existing.has(topic)).sort()
  const metadata = await client.metadata(topics, true)
  const partitionsPerTopic = new Map<string, number>()
  for (const topic of topics) {
    const found = metadata.topics.get(topic)
    if (found !== undefined) partitionsPerTopic.set(topic, found.partitionsCount)
  }
  const wanted = assignor({ members: decoded.map(m => ({ memberId: m.memberId, userData: m.userData, ownedPartitions: m.ownedPartitions })), partitionsPerTopic })
  const result = cooperative ? cooperativeAssignment(new Map(decoded.map(m => [m.memberId, m.ownedPartitions])), wanted) : wanted
  return decoded.map(member => {
    const assigned = result.get(member.memberId) ?? { partitions: [], userData: null }
    const byTopic = new Map<string, number[]>()
    for (const tp of assigned.partitions) {
      let list = byTopic.get(tp.topic)
      if (list === undefined) byTopic.set(tp.topic, list = [])
      list.push(tp.partition)
    }
    const assignment = encodeConsumerProtocolAssignment({ version: 0, assignedPartitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })), userData: assigned.userData ?? null } as Parameters<typeof encodeConsumerProtocolAssignment>[0])
    return { memberId: member.memberId, assignment }
  })
}

/** Partitions grouped by topic, as the consumer protocol's owned_partitions carries them. */
export function toGroupAssignments (partitions: TopicPartition[]): Array<{ topic: string, partitions: number[] }> {
  const byTopic = new Map<string, number[]>()
  for (const tp of partitions) {
    let list = byTopic.get(tp.topic)
    if (list === undefined) byTopic.set(tp.topic, list = [])
    list.push(tp.partition)
  }
  return [...byTopic].map(([topic, list]) => ({ topic, partitions: list }))
}
