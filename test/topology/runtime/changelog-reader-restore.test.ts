// ChangelogReader on both log backends: several owners' changelog partitions restored together,
// last write per key (tombstones included) applied, the end offsets reported, a restore from a
// checkpoint reads only what follows it, an owner unregistered halfway leaves the others going.
// Standby mode on a real log: changelog-reader-standby-log.test.ts; writes in slices:
// changelog-reader-slices.test.ts; the standby pump on fake logs: standby-pump.test.ts.
import t from 'tap'
import { ChangelogReader } from '../../../topology/runtime/changelog-reader.ts'
import type { RestoreProgress } from '../../../topology/runtime/changelog-restore.ts'
import { BACKENDS, uniqueName } from '../integration/backends.ts'
import { PARTITIONS, sinkFor, untilDone, writeChangelog } from './changelog-reader-helpers.ts'

for (const backend of BACKENDS) {
  t.test(`changelog reader on the ${backend.name} log`, async t => {
    const { log, cleanup } = await backend.open()
    const topic = uniqueName('changelog-reader')
    t.teardown(async () => { await log.admin.deleteTopics([topic]).catch(() => {}); await cleanup() })
    const expected = await writeChangelog(log, topic, 300)
    const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }))
    const ends = await log.admin.listOffsets(tps, 'latest')

    t.test('two owners restore together; last write per key; end offsets', async t => {
      const partitionReader = log.createPartitionReader({ clientId: 'changelog-reader-a' })
      t.teardown(() => partitionReader.close())
      const progress: RestoreProgress[] = []
      const reader = new ChangelogReader({ admin: log.admin, reader: partitionReader, onProgress: p => progress.push(p) })
      const stores = new Map<number, Map<string, string>>()
      await reader.register('0_0', tps.slice(0, 2).map(tp => sinkFor(tp, stores)))
      await reader.register('0_1', tps.slice(2).map(tp => sinkFor(tp, stores)))
      t.same([...reader.owners].sort(), ['0_0', '0_1'])
      const done = await untilDone(reader, 2)
      t.notOk(reader.restoring, 'nothing left to restore')
      for (let partition = 0; partition < PARTITIONS; partition++) {
        t.same(Object.fromEntries(stores.get(partition)!), Object.fromEntries(expected.get(partition)!), `partition ${partition} holds the last value of every key`)
      }
      t.equal(done.get('0_0')!.records + done.get('0_1')!.records, 300 * PARTITIONS, 'every record counted')
      const offsets = [...done.values()].flatMap(d => d.offsets).sort((a, b) => a.partition - b.partition)
      t.same(offsets.map(o => o.offset), ends.map(e => e.offset), 'each store holds its changelog up to the end')
      const last = progress.filter(p => p.changelog.partition === 3).at(-1)
      t.equal(last?.remaining, 0, 'progress ends with nothing remaining')
      t.equal(last?.restored, 300, 'and every record of the partition restored')
    })

    t.test('from a checkpoint: only what follows it', async t => {
      const partitionReader = log.createPartitionReader({ clientId: 'changelog-reader-b' })
      t.teardown(() => partitionReader.close())
      const reader = new ChangelogReader({ admin: log.admin, reader: partitionReader })
      const stores = new Map<number, Map<string, string>>()
      await reader.register('0_0', [sinkFor(tps[0]!, stores, 290n)])
      const done = await untilDone(reader, 1)
      t.equal(done.get('0_0')!.records, 10, 'the 10 records after offset 290')
      t.equal(stores.get(0)!.get('k9'), '0:299', 'the last write of k9')
    })

    t.test('an owner unregistered halfway: its offsets so far, the other finishes', async t => {
      const partitionReader = log.createPartitionReader({ clientId: 'changelog-reader-c' })
      t.teardown(() => partitionReader.close())
      const reader = new ChangelogReader({ admin: log.admin, reader: partitionReader })
      const stores = new Map<number, Map<string, string>>()
      await reader.register('0_0', [sinkFor(tps[0]!, stores)])
      await reader.register('0_1', [sinkFor(tps[1]!, stores)])
      const stopped = reader.unregister('0_0')
      t.equal(stopped.length, 1)
      t.ok(stopped[0]!.offset >= 0n && stopped[0]!.offset <= ends[0]!.offset, 'a position within the changelog')
      const done = await untilDone(reader, 1)
      t.same([...done.keys()], ['0_1'], 'only the registered owner completes')
      t.same(reader.unregister('0_0'), [], 'unregistering again is a no-op')
      t.same(Object.fromEntries(stores.get(1)!), Object.fromEntries(expected.get(1)!))
    })

    t.test('an owner without changelogs is done at the first step', async t => {
      const partitionReader = log.createPartitionReader({ clientId: 'changelog-reader-e' })
      t.teardown(() => partitionReader.close())
      const reader = new ChangelogReader({ admin: log.admin, reader: partitionReader })
      await reader.register('1_0', [])
      const done = await reader.step(100)
      t.same(done.map(d => [d.owner, d.records, d.offsets]), [['1_0', 0, []]])
    })

    t.test('an empty changelog is restored at once', async t => {
      const empty = uniqueName('changelog-reader-empty')
      await log.admin.createTopics([{ name: empty, partitions: 1 }])
      t.teardown(() => log.admin.deleteTopics([empty]).catch(() => {}))
      const partitionReader = log.createPartitionReader({ clientId: 'changelog-reader-d' })
      t.teardown(() => partitionReader.close())
      const reader = new ChangelogReader({ admin: log.admin, reader: partitionReader })
      await reader.register('0_0', [sinkFor({ topic: empty, partition: 0 }, new Map())])
      const done = await reader.step(100)
      t.equal(done.length, 1, 'done in one step')
      t.equal(done[0]!.records, 0)
      t.same(done[0]!.offsets.map(o => o.offset), [0n])
    })
  })
}
