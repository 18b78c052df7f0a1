// ChangelogReader in standby mode on both log backends: never done, follows its changelog as it
// grows (the pump fetches and writes on its own, step() never waits for it), positions are what is
// written, lag as of the last refreshEnds(), catch-up reports (docs/engine.md "Standby tasks").
import t from 'tap'
import type { TopicPartition } from '../../../log/log-port.ts'
import { ChangelogReader } from '../../../topology/runtime/changelog-reader.ts'
import type { ChangelogEntry, RestoreProgress } from '../../../topology/runtime/changelog-restore.ts'
import { BACKENDS, uniqueName } from '../integration/backends.ts'
import { PARTITIONS, sinkFor, writeChangelog } from './changelog-reader-helpers.ts'

for (const backend of BACKENDS) {
  t.test(`standby mode on the ${backend.name} log: never done, follows the changelog as it grows, lag and positions`, async t => {
    const { log, cleanup } = await backend.open()
    t.teardown(cleanup)
    const growing = uniqueName('changelog-reader-standby')
    const expectedNow = await writeChangelog(log, growing, 50)
    t.teardown(() => log.admin.deleteTopics([growing]).catch(() => {}))
    const gtps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: growing, partition }))
    const partitionReader = log.createPartitionReader({ clientId: 'changelog-reader-standby' })
    t.teardown(() => partitionReader.close())
    const progress: RestoreProgress[] = []
    const reader = new ChangelogReader({ admin: log.admin, reader: partitionReader, standby: true, onProgress: p => progress.push(p) })
    const stores = new Map<number, Map<string, string>>()
    // While a fetch is being written, positions() (what checkpoints claim) and
    // appliedPositions() (what reads of a standby trust, topology/standby-queries.ts) stay at
    // what is written, behind where the fetch got: the pump writes while the loop runs.
    const behindWhileApplying: boolean[] = []
    // Set: writes wait for it (the pump fetches and writes on its own; a lag is seen only while
    // a write is held back).
    const held: { gate?: Promise<void> } = {}
    let openGate = (): void => {}
    await reader.register('0_0', gtps.slice(0, 2).map(tp => {
      const sink = sinkFor(tp, stores)
      return {
        ...sink,
        apply: async (entries: ChangelogEntry[]) => {
          const at = (list: Array<TopicPartition & { offset: bigint }>): bigint => list.find(p => p.partition === tp.partition)!.offset
          if (held.gate === undefined) behindWhileApplying.push(at(reader.appliedPositions('0_0')) === at(reader.positions('0_0')) && at(reader.positions('0_0')) < 50n)
          else await held.gate
          sink.apply(entries)
        }
      }
    }))
    // The catch-up starts at registration: one report per store, and the owner counts as
    // catching up until each store reached the end seen then.
    // (Standby mode asks the ends after the registration: a second report per store follows
    // once they are known, still catching up.)
    t.same(progress.slice(0, 2).map(p => [p.changelog.partition, p.restored, p.caughtUp, p.catchingUp]), [[0, 0, false, true], [1, 0, false, true]], 'a first catch-up report per store')
    t.equal(reader.catchingUp, 1, 'the owner is catching up')
    const endsOf = async (): Promise<Map<number, bigint>> => new Map((await log.admin.listOffsets(gtps, 'latest')).map(o => [o.partition, o.offset]))
    const follow = async (what: string): Promise<void> => {
      const ends = await endsOf()
      const deadline = Date.now() + 30_000
      for (;;) {
        const done = await reader.step(0)
        t.same(done, [], 'a standby owner is never done')
        if (reader.positions('0_0').every(p => p.offset >= ends.get(p.partition)!)) break
        if (Date.now() > deadline) throw new Error(`standby did not reach ${what}`)
        // step() returns at once while its background fetch waits for records.
        await new Promise(resolve => setTimeout(resolve, 10))
      }
    }
    const t0 = Date.now()
    await reader.step(0)
    t.ok(Date.now() - t0 < 400, 'step() does not wait for the background fetch')
    await follow('the first end')
    t.ok(behindWhileApplying.length > 0 && behindWhileApplying.every(Boolean), `positions are the written offsets during each of ${behindWhileApplying.length} writes`)
    t.same(reader.appliedPositions('0_0'), reader.positions('0_0'), 'and equal once written')
    t.equal(reader.catchingUp, 0, 'caught up once the first end is applied')
    const caughtUp = progress.filter(p => p.caughtUp === true && p.catchingUp === true)
    t.same(caughtUp.map(p => [p.changelog.partition, p.restored]).sort(), [[0, 50], [1, 50]], 'the report that ends each store\'s catch-up, with its records')
    t.equal(reader.appliedRecords, 100, 'records applied counted')
    const reportsAtCatchUp = progress.length
    t.same(stores.get(0), expectedNow.get(0), 'partition 0 applied')
    t.same(stores.get(1), expectedNow.get(1), 'partition 1 applied')
    t.notOk(stores.has(2), 'partitions of other owners untouched')
    // The changelog grows: the standby follows (its writes held back until the lag is seen).
    held.gate = new Promise(resolve => { openGate = resolve })
    const producer = await log.createProducer({ clientId: 'changelog-reader-standby-more' })
    await producer.send([{ topic: growing, partition: 0, key: Buffer.from('k1'), value: Buffer.from('later') }, { topic: growing, partition: 1, key: Buffer.from('k2'), value: null }])
    await producer.close()
    await reader.refreshEnds()
    t.ok(reader.lag('0_0') >= 2, `lag seen after the changelog grew (${reader.lag('0_0')})`)
    openGate()
    await follow('the new end')
    t.equal(stores.get(0)!.get('k1'), 'later')
    t.notOk(stores.get(1)!.has('k2'), 'tombstone applied')
    await reader.refreshEnds()
    t.equal(reader.lag('0_0'), 0, 'no lag once caught up')
    const later = progress.slice(reportsAtCatchUp)
    t.ok(later.length > 0 && later.every(p => p.catchingUp === false && p.caughtUp === true), 'reports after the catch-up only follow the changelog')
    t.equal(reader.catchingUp, 0)
    const positions = reader.unregister('0_0')
    const ends = await endsOf()
    t.same(positions.map(p => p.offset), [ends.get(0), ends.get(1)], 'unregister returns where the stores got')
  })
}
