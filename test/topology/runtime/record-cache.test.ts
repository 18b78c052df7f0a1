// The DSL aggregations' record cache (topology/runtime/record-cache.ts, docs/engine.md "Record
// cache"): between two commits a key updated n times forwards once, its last value, traced back to
// its last input; a rewind drops what the cache holds; with the cache off, every update.
import t from 'tap'
import type { LogRecord } from '../../../log/log-port.ts'
import { CachingChangelogStore } from '../../../stores/caching-changelogging-store.ts'
import { InMemoryStore } from '../../../stores/in-memory-store.ts'
import { TypedKeyValueStore } from '../../../stores/typed-key-value-store.ts'
import { StreamTask } from '../../../topology/runtime/stream-task.ts'
import type { TaskStore } from '../../../topology/runtime/task-store.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'

async function countTask (recordCache: boolean): Promise<StreamTask> {
  const builder = new StreamsBuilder()
  builder.stream<string, string>('in').groupByKey().count({ storeName: 'counts', kind: 'in-memory' }).toStream().to('out')
  const topology = builder.build()
  const sub = topology.subtopologies()[0]!
  const stores = new Map<string, TaskStore>()
  for (const name of sub.stores) {
    const definition = topology.storeDefinition(name)!
    const bytes = new InMemoryStore(name)
    await bytes.open('')
    const caching = new CachingChangelogStore(bytes)
    stores.set(name, {
      definition,
      store: new TypedKeyValueStore<unknown, unknown>(caching, definition.keySerde, definition.valueSerde),
      flush: () => caching.flush(),
      applyFlushed: () => caching.applyFlushed(),
      discardDirty: () => caching.discardDirty(),
      isFull: () => caching.isFull()
    })
  }
  const task = new StreamTask({ applicationId: 'app', id: { subtopology: sub.id, partition: 0 }, topology, subtopology: sub, inputs: [{ topic: 'in', partition: 0 }], stores, maxTaskIdleMs: 0, maxPendingRecords: 1_000_000, clock: () => 0, recordCache })
  task.initialize()
  return task
}

let offset = 0n
function input (key: string, timestamp: number): LogRecord {
  return { topic: 'in', partition: 0, offset: offset++, timestamp, key: Buffer.from(key), value: Buffer.from('"x"'), headers: {} }
}

const outputsOf = (records: Array<{ topic: string, key: Buffer | null, value: Buffer | null, timestamp?: number }>): string[] =>
  records.filter(r => r.topic === 'out').map(r => `${r.key?.toString()}=${r.value?.toString()}@${r.timestamp}`)

t.test('cache on: one update per key per commit, the last one, traced to its last input', async t => {
  const task = await countTask(true)
  const batch = [input('a', 1), input('b', 2), input('a', 3), input('a', 4), input('b', 5)]
  task.addRecords({ topic: 'in', partition: 0 }, batch)
  while (task.process(0));
  t.same(task.takeOutputsForSend().records, [], 'nothing forwarded before the commit')
  const commit = task.prepareCommit()
  const outs = commit.records.map((r, i) => ({ r, source: commit.sources[i] })).filter(x => x.r.topic === 'out')
  t.same(outputsOf(outs.map(x => x.r)), ['a=3@4', 'b=2@5'], 'the last count of each key, in the order of their last update')
  t.same(outs.map(x => x.source?.offset), [batch[3]!.offset, batch[4]!.offset], 'each traced back to its last input')
  t.equal(commit.records.filter(r => r.topic === 'app-counts-changelog').length, 2, 'one changelog record per key, as before')
  await task.postCommit(commit.offsets)
  task.addRecords({ topic: 'in', partition: 0 }, [input('a', 6)])
  while (task.process(0));
  t.same(outputsOf(task.prepareCommit().records), ['a=4@6'], 'the next commit forwards the next update')
})

t.test('cache on: a rewind drops what the cache holds', async t => {
  const task = await countTask(true)
  task.addRecords({ topic: 'in', partition: 0 }, [input('a', 1), input('a', 2)])
  while (task.process(0));
  task.abortUncommitted()
  t.same(outputsOf(task.prepareCommit().records), [], 'nothing forwarded after the abort')
})

t.test('cache off: every update, at once', async t => {
  const task = await countTask(false)
  task.addRecords({ topic: 'in', partition: 0 }, [input('a', 1), input('b', 2), input('a', 3)])
  while (task.process(0));
  t.same(outputsOf(task.takeOutputsForSend().records), ['a=1@1', 'b=1@2', 'a=2@3'], 'one output per input')
})

t.test('a KTable cache keeps the old value of the first update and the new value of the last', async t => {
  const { ForwardingCache, RECORD_CACHE } = await import('../../../topology/runtime/record-cache.ts')
  const { Change } = await import('../../../topology/dsl/change.ts')
  const forwarded: Array<{ key: string, value: InstanceType<typeof Change<number>> }> = []
  const caches: Array<{ flush (): void }> = []
  const context = {
    forward: (r: { key: string, value: InstanceType<typeof Change<number>> }) => { forwarded.push(r) },
    [RECORD_CACHE]: { currentInput: () => null, forwardAs: <R>(_input: unknown, f: (r: R) => void, r: R) => { f(r) }, register: (c: { flush (): void }) => { caches.push(c) } }
  }
  const cache = new ForwardingCache<string, InstanceType<typeof Change<number>>>(context as never, k => k, (earlier, later) => new Change(later.newValue, earlier.oldValue))
  for (const [n, old] of [[1, null], [2, 1], [3, 2]] as const) cache.put({ key: 'k', value: new Change<number>(n, old), timestamp: n, headers: {} })
  t.same(forwarded, [], 'nothing before the flush')
  caches[0]!.flush()
  t.same(forwarded.map(r => [r.key, r.value.newValue, r.value.oldValue]), [['k', 3, null]], 'the row went from nothing to 3: a subtractor downstream removes nothing')
})
