// The leader-side rule of incremental cooperative rebalancing (KIP-429), for any assignor: a
// partition that the assignor gives to a member other than the one that owns it now is assigned
// to nobody in this round. Its owner sees it missing from its new assignment, revokes it (its
// onPartitionsRevoked is awaited) and rejoins at once; in that follow-up round nobody owns it any
// more and the assignor's choice stands. So a partition is never owned by two members at once,
// and partitions that stay where they are never stop. Both backends apply it when the group's
// protocol is cooperative (docs/engine.md "Group protocol and rebalancing"), so an assignor
// needs only to compute the target it wants (stickiness helps: what stays never pauses).
import type { TopicPartition } from './log-port.ts'

export type Assignment = Map<string, { partitions: TopicPartition[], userData: Buffer | null }>

function key (tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`
}

/** `wanted` (the assignor's output) without the partitions that would change owner this round.
 *  `owned` is each member's owned partitions from its subscription (members of this round only:
 *  a partition claimed by a member that left is free). A partition claimed by several members
 *  (a zombie's stale claim) stays with the wanted member if it is one of them, else waits. */
export function cooperativeAssignment (owned: ReadonlyMap<string, readonly TopicPartition[]>, wanted: Assignment): Assignment {
  const ownersOf = new Map<string, Set<string>>()
  for (const [memberId, partitions] of owned) {
    for (const tp of partitions) {
      let owners = ownersOf.get(key(tp))
      if (owners === undefined) ownersOf.set(key(tp), owners = new Set())
      owners.add(memberId)
    }
  }
  const result: Assignment = new Map()
  for (const [memberId, { partitions, userData }] of wanted) {
    const kept = partitions.filter(tp => {
      const owners = ownersOf.get(key(tp))
      return owners === undefined || owners.has(memberId)
    })
    result.set(memberId, { partitions: kept, userData })
  }
  return result
}

/** Partitions of `after` not in `before`, and of `before` not in `after`. */
export function assignmentDelta (before: readonly TopicPartition[], after: readonly TopicPartition[]): { added: TopicPartition[], removed: TopicPartition[] } {
  const beforeKeys = new Set(before.map(key))
  const afterKeys = new Set(after.map(key))
  return {
    added: after.filter(tp => !beforeKeys.has(key(tp))).map(tp => ({ topic: tp.topic, partition: tp.partition })),
    removed: before.filter(tp => !afterKeys.has(key(tp))).map(tp => ({ topic: tp.topic, partition: tp.partition }))
  }
}
