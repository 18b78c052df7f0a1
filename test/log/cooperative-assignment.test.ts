// The leader-side rule of KIP-429 (log/cooperative-assignment.ts): a partition that would change
// owner goes to nobody this round; kept and free partitions are assigned as the assignor wants.
import t from 'tap'
import { assignmentDelta, cooperativeAssignment, type Assignment } from '../../log/cooperative-assignment.ts'
import type { TopicPartition } from '../../log/log-port.ts'

const tp = (partition: number, topic = 't'): TopicPartition => ({ topic, partition })
const names = (assignment: Assignment): Record<string, number[]> =>
  Object.fromEntries([...assignment].map(([id, { partitions }]) => [id, partitions.map(p => p.partition)]))

t.test('a moving partition is withheld; kept and free ones are not', async t => {
  const owned = new Map([['a', [tp(0), tp(1), tp(2)]], ['b', [tp(3)]], ['c', []]])
  const wanted: Assignment = new Map([
    ['a', { partitions: [tp(0), tp(1)], userData: Buffer.from('ua') }],
    ['b', { partitions: [tp(3), tp(4)], userData: null }],
    ['c', { partitions: [tp(2), tp(5)], userData: null }]
  ])
  const out = cooperativeAssignment(owned, wanted)
  t.same(names(out), { a: [0, 1], b: [3, 4], c: [5] }, 'partition 2 (a -> c) goes to nobody; 4 and 5 were free')
  t.equal(out.get('a')!.userData?.toString(), 'ua', 'userData kept')
})

t.test('a partition claimed by a member that left is free; a double claim stays with a claimant', async t => {
  const owned = new Map([['a', [tp(0), tp(1)]], ['b', [tp(1)]]])
  const wanted: Assignment = new Map([
    ['a', { partitions: [tp(1)], userData: null }],
    ['b', { partitions: [tp(0), tp(2)], userData: null }]
  ])
  t.same(names(cooperativeAssignment(owned, wanted)), { a: [1], b: [2] }, '0 moves a -> b: withheld; 1 stays with a (both claim it); 2 owned by nobody still here')
})

t.test('the same input with nothing owned is the assignor\'s target (a first join)', async t => {
  const wanted: Assignment = new Map([['a', { partitions: [tp(0), tp(1, 'u')], userData: null }]])
  t.same(names(cooperativeAssignment(new Map([['a', []]]), wanted)), { a: [0, 1] })
})

t.test('assignmentDelta', async t => {
  t.same(assignmentDelta([tp(0), tp(1)], [tp(1), tp(2)]), { added: [tp(2)], removed: [tp(0)] })
  t.same(assignmentDelta([tp(0, 'x')], [tp(0, 'y')]), { added: [tp(0, 'y')], removed: [tp(0, 'x')] }, 'topics count')
})
