// ChangelogReader on both log backends: several owners' changelog partitions restored together,
// last write per key (tombstones included) applied, the end offsets reported, a restore from a
// checkpoint reads only what follows it, an owner unregistered halfway leaves the others going.
import t from 'tap'
import type { Log, PartitionReader, ProducerRecord, TopicPartition } from '../../../log/log-port.ts'
import { ChangelogReader } from '../../../topology/runtime/changelog-reader.ts'
import type { ChangelogEntry, ChangelogRestore, RestoreProgress } from '../../../topology/runtime/changelog-restore.ts'
import { lastWritePerKey } from '../../../topology/runtime/restore-last-writes.ts'
import { BACKENDS, uniqueName } from '../integration/backends.ts'

const PARTITIONS = 4

/** Each partition: `perPartition` records over 10 keys, every 7th a tombstone. */
async function writeChangelog (log: Log, topic: string, perPartition: number): Promise<Map<number, Map<string, string>>> {
  await log.admin.createTopics([{ name: topic, partitions: PARTITIONS }])
  const producer = await log.createProducer({ clientId: 'changelog-reader-test' })
  const expected = new Map<number, Map<string, string>>()
  const records: ProducerRecord[] = []
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const state = new Map<string, string>()
    for (let i = 0; i < perPartition; i++) {
      const key = `k${i % 10}`
      const value = i % 7 === 6 ? null : `${partition}:${i}`
      records.push({ topic, partition, key: Buffer.from(key), value: value === null ? null : Buffer.from(value) })
      if (value === null) state.delete(key)
      else state.set(key, value)
    }
    expected.set(partition, state)
  }
  await producer.send(records)
  await producer.close()
  return expected
}

function sinkFor (tp: TopicPartition, stores: Map<number, Map<string, string>>, from: bigint | null = null): ChangelogRestore {
  const store = stores.get(tp.partition) ?? new Map<string, string>()
  stores.set(tp.partition, store)
  return {
    changelog: tp,
    store: 'totals',
    from,
    apply: (entries: ChangelogEntry[]) => {
      for (const { key, value } of entries) {
        if (value === null) store.delete(key.toString())
        else store.set(key.toString(), value.toString())
      }
    }
  }
}

async function untilDone (reader: ChangelogReader, owners: number): Promise<Map<string, { records: number, offsets: Array<TopicPartition & { offset: bigint }> }>> {
  const done = new Map<string, { records: number, offsets: Array<TopicPartition & { offset: bigint }> }>()
  const deadline = Date.now() + 60_000
  while (done.size < owners) {
    if (Date.now() > deadline) throw new Error(`restore timed out: ${done.size} of ${owners} owners done`)
    for (const d of await reader.step(100)) done.set(d.owner, d)
  }
  return done
}

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

    t.test('standby mode: never done, follows the changelog as it grows, lag and positions', async t => {
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
  })
}

t.test('lastWritePerKey keeps the last write of each key', async t => {
  const e = (key: string, value: string | null): ChangelogEntry => ({ key: Buffer.from(key), value: value === null ? null : Buffer.from(value) })
  const out = lastWritePerKey([e('a', '1'), e('b', '1'), e('a', '2'), e('b', null), e('c', '1')])
  t.same(out.map(x => [x.key.toString(), x.value?.toString() ?? null]).sort(), [['a', '2'], ['b', null], ['c', '1']])
  const unique = [e('a', '1'), e('b', '2')]
  t.equal(lastWritePerKey(unique), unique, 'no repeated key: the same array')
  // Keys that differ only in bytes invalid as UTF-8 stay apart.
  t.equal(lastWritePerKey([e('x', '1'), { key: Buffer.from([0xff]), value: null }, { key: Buffer.from([0xfe]), value: null }]).length, 3)
})

t.test('standby mode: no long poll while more owners are about to register (expectRegistrations)', async t => {
  // A fake log: records the wait of each background fetch, which returns nothing at once.
  const waits: number[] = []
  const positions = new Map<string, bigint>()
  const partitionReader = {
    assign (list: Array<TopicPartition & { offset: bigint }>) { for (const p of list) positions.set(`${p.topic}/${p.partition}`, p.offset) },
    unassign (list: TopicPartition[]) { for (const p of list) positions.delete(`${p.topic}/${p.partition}`) },
    async poll (maxWaitMs: number) { waits.push(maxWaitMs); await new Promise(resolve => setTimeout(resolve, 1)); return [] },
    position (tp: TopicPartition) { return positions.get(`${tp.topic}/${tp.partition}`) ?? 0n },
    async close () {}
  }
  const admin = { async listOffsets (tps: TopicPartition[]) { return tps.map(tp => ({ ...tp, offset: 0n })) } } as unknown as Log['admin']
  const reader = new ChangelogReader({ admin, reader: partitionReader, standby: true })
  const restore = (partition: number): ChangelogRestore => ({ changelog: { topic: 'c', partition }, store: 's', from: null, apply: () => {} })
  reader.expectRegistrations(true)
  await reader.register('0_0', [restore(0)])
  await reader.step(0)
  await new Promise(resolve => setTimeout(resolve, 20))
  t.ok(waits.length > 0 && waits.every(w => w <= 10), `short waits while owners are about to register: ${waits.slice(0, 5).join(',')}`)
  reader.expectRegistrations(false)
  await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(waits.at(-1), 500, 'long polls again once they have')
  reader.unregister('0_0')
  await new Promise(resolve => setTimeout(resolve, 20))
})

/** A standby reader over a fake log where every changelog partition holds one record (offset 0,
 *  end 1): a poll answers the partitions assigned and not read yet (each poll's list in `polled`). */
function oneRecordLog (): { reader: ChangelogReader, polled: number[][] } {
  const positions = new Map<number, bigint>()
  const polled: number[][] = []
  const partitionReader = {
    assign (list: Array<TopicPartition & { offset: bigint }>) { for (const p of list) positions.set(p.partition, p.offset) },
    unassign (list: TopicPartition[]) { for (const p of list) positions.delete(p.partition) },
    async poll (maxWaitMs: number) {
      await new Promise(resolve => setTimeout(resolve, Math.min(maxWaitMs, 5)))
      const fresh = [...positions].filter(([, offset]) => offset === 0n).map(([partition]) => partition)
      polled.push(fresh)
      for (const partition of fresh) positions.set(partition, 1n)
      return fresh.map(partition => ({ topic: 'c', partition, offset: 0n, key: Buffer.from(`k${partition}`), value: Buffer.from('v'), timestamp: 0, headers: [] }))
    },
    position (tp: TopicPartition) { return positions.get(tp.partition) ?? 0n },
    async close () {}
  }
  const admin = { async listOffsets (tps: TopicPartition[]) { return tps.map(tp => ({ ...tp, offset: 1n })) } } as unknown as Log['admin']
  return { reader: new ChangelogReader({ admin, reader: partitionReader as unknown as PartitionReader, standby: true }), polled }
}

t.test('standby mode: reading starts at registration, without a step() of the loop', async t => {
  // The stream thread's loop calls step() between polls of its group consumer; a rebalance under
  // way holds that poll, and a cold start's standbys registered meanwhile waited for its end.
  const { reader } = oneRecordLog()
  const written: number[] = []
  const restore = (partition: number): ChangelogRestore => ({ changelog: { topic: 'c', partition }, store: 's', from: null, apply: () => { written.push(partition) } })
  await reader.register('0_0', [restore(0)])
  await reader.register('0_1', [restore(1)])
  const deadline = Date.now() + 5000
  while (reader.catchingUp > 0) { if (Date.now() > deadline) throw new Error(`not caught up, written: ${written.join(',')}`); await new Promise(resolve => setTimeout(resolve, 5)) }
  t.same(written.sort(), [0, 1], 'both written with no step() called')
  t.same(reader.positions('0_1'), [{ topic: 'c', partition: 1, offset: 1n }], 'positions applied')
  reader.unregister('0_0')
  reader.unregister('0_1')
  await reader.step(0)
  t.pass('a step() after the pump stopped throws nothing')
  await new Promise(resolve => setTimeout(resolve, 20))
})

t.test('standby mode: a partition registered while a fetch is written is fetched during that write', async t => {
  // A fake log: partition 0 has one record at first; later polls answer what is assigned and
  // not read yet (partition 1 once registered). The write of partition 0 is held until released.
  const { reader, polled } = oneRecordLog()
  let release!: () => void
  const held = new Promise<void>(resolve => { release = resolve })
  const written: number[] = []
  const restore = (partition: number, gate?: Promise<void>): ChangelogRestore => ({
    changelog: { topic: 'c', partition },
    store: 's',
    from: null,
    apply: async () => { if (gate !== undefined) await gate; written.push(partition) }
  })
  reader.expectRegistrations(true)
  await reader.register('0_0', [restore(0, held)])
  await reader.step(0)
  const deadline = Date.now() + 5000
  while (!polled.some(p => p.includes(0))) { if (Date.now() > deadline) throw new Error('partition 0 never fetched'); await new Promise(resolve => setTimeout(resolve, 5)) }
  // Partition 0 is being written (held); the fetch sent meanwhile came back empty.
  await new Promise(resolve => setTimeout(resolve, 30))
  await reader.register('0_1', [restore(1)])
  while (!polled.some(p => p.includes(1))) { if (Date.now() > deadline) throw new Error('partition 1 not fetched while partition 0 is written'); await new Promise(resolve => setTimeout(resolve, 5)) }
  t.same(written, [], 'partition 1 fetched while the write of partition 0 still runs')
  release()
  while (written.length < 2) { if (Date.now() > deadline) throw new Error(`written: ${written.join(',')}`); await new Promise(resolve => setTimeout(resolve, 5)) }
  t.same(written, [0, 1], 'both written, in fetch order')
  while (reader.catchingUp > 0) { if (Date.now() > deadline) throw new Error('not caught up'); await new Promise(resolve => setTimeout(resolve, 5)) }
  t.same(reader.positions('0_1'), [{ topic: 'c', partition: 1, offset: 1n }], 'the later partition\'s position applied')
  t.equal(reader.catchingUp, 0, 'both caught up')
  reader.unregister('0_0')
  reader.unregister('0_1')
  await new Promise(resolve => setTimeout(resolve, 20))
})

t.test('standby mode: a partition registered while an answer waits to be written is fetched at once', async t => {
  // A fake log: partition 0 holds 3 records, one per fetch; partition 1 one record. The first
  // write is held, so the second answer (partition 0's next record) waits for the pump.
  const positions = new Map<number, bigint>()
  const ends = new Map([[0, 3n], [1, 1n]])
  const polled: number[][] = []
  const partitionReader = {
    assign (list: Array<TopicPartition & { offset: bigint }>) { for (const p of list) positions.set(p.partition, p.offset) },
    unassign (list: TopicPartition[]) { for (const p of list) positions.delete(p.partition) },
    async poll (maxWaitMs: number) {
      await new Promise(resolve => setTimeout(resolve, Math.min(maxWaitMs, 5)))
      const behind = [...positions].filter(([partition, offset]) => offset < ends.get(partition)!)
      polled.push(behind.map(([partition]) => partition))
      for (const [partition, offset] of behind) positions.set(partition, offset + 1n)
      return behind.map(([partition, offset]) => ({ topic: 'c', partition, offset, key: Buffer.from(`k${partition}`), value: Buffer.from(String(offset)), timestamp: 0, headers: [] }))
    },
    position (tp: TopicPartition) { return positions.get(tp.partition) ?? 0n },
    async close () {}
  }
  const admin = { async listOffsets (tps: TopicPartition[]) { return tps.map(tp => ({ ...tp, offset: ends.get(tp.partition)! })) } } as unknown as Log['admin']
  const reader = new ChangelogReader({ admin, reader: partitionReader as unknown as PartitionReader, standby: true })
  let release!: () => void
  const held = new Promise<void>(resolve => { release = resolve })
  const written: string[] = []
  const restore = (partition: number): ChangelogRestore => ({
    changelog: { topic: 'c', partition },
    store: 's',
    from: null,
    apply: async entries => { if (written.length === 0) await held; for (const e of entries) written.push(`${partition}:${e.value!.toString()}`) }
  })
  await reader.register('0_0', [restore(0)])
  await reader.step(0)
  const deadline = Date.now() + 5000
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    while (!ok()) { if (Date.now() > deadline) throw new Error(what); await new Promise(resolve => setTimeout(resolve, 5)) }
  }
  await until('two fetches of partition 0', () => polled.filter(p => p.includes(0)).length >= 2)
  await new Promise(resolve => setTimeout(resolve, 30))
  t.equal(polled.length, 2, 'one answer written (held), one waiting: no third fetch without a new partition')
  await reader.register('0_1', [restore(1)])
  await until('partition 1 fetched while an answer waits', () => polled.some(p => p.includes(1)))
  t.same(written, [], 'fetched while the first write still runs')
  await new Promise(resolve => setTimeout(resolve, 30))
  t.equal(polled.length, 3, 'two answers waiting at most')
  release()
  await until('all written', () => written.length === 4 && reader.catchingUp === 0)
  t.same(written, ['0:0', '0:1', '0:2', '1:0'], 'written in fetch order')
  t.same(reader.positions('0_0'), [{ topic: 'c', partition: 0, offset: 3n }])
  t.same(reader.positions('0_1'), [{ topic: 'c', partition: 1, offset: 1n }])
  reader.unregister('0_0')
  reader.unregister('0_1')
  await new Promise(resolve => setTimeout(resolve, 20))
})

t.test('standby mode: an answer fetched for a registration that ended is not written; the new one reads it again', async t => {
  // A fake log: partition 0 holds 3 records, all in one fetch; the first fetch is held on the
  // wire while its owner unregisters and another registers the partition at the same offset, so
  // the reader takes that answer (its asked offset is the current one) and moves on.
  const positions = new Map<number, bigint>()
  let openGate!: () => void
  let gate: Promise<void> | undefined = new Promise<void>(resolve => { openGate = resolve })
  const partitionReader = {
    assign (list: Array<TopicPartition & { offset: bigint }>) { for (const p of list) positions.set(p.partition, p.offset) },
    unassign (list: TopicPartition[]) { for (const p of list) positions.delete(p.partition) },
    async poll (maxWaitMs: number) {
      const asked = positions.get(0)
      if (gate !== undefined) { const held = gate; gate = undefined; await held } else await new Promise(resolve => setTimeout(resolve, Math.min(maxWaitMs, 5)))
      if (asked === undefined || positions.get(0) !== asked || asked >= 3n) return []
      positions.set(0, 3n)
      return [0n, 1n, 2n].filter(o => o >= asked).map(offset => ({ topic: 'c', partition: 0, offset, key: Buffer.from(`k${offset}`), value: Buffer.from('v'), timestamp: 0, headers: [] }))
    },
    position (tp: TopicPartition) { return positions.get(tp.partition) ?? 0n },
    async close () {}
  }
  const admin = { async listOffsets (tps: TopicPartition[]) { return tps.map(tp => ({ ...tp, offset: 3n })) } } as unknown as Log['admin']
  const reader = new ChangelogReader({ admin, reader: partitionReader as unknown as PartitionReader, standby: true })
  const written = new Map<string, string[]>()
  const restore = (owner: string): ChangelogRestore => ({
    changelog: { topic: 'c', partition: 0 },
    store: 's',
    from: null,
    apply: entries => { written.set(owner, [...written.get(owner) ?? [], ...entries.map(e => e.key.toString())]) }
  })
  await reader.register('old', [restore('old')])
  await reader.step(0)
  await new Promise(resolve => setTimeout(resolve, 10))
  reader.unregister('old')
  await reader.register('new', [restore('new')])
  openGate()
  const deadline = Date.now() + 5000
  while (reader.catchingUp > 0 || (written.get('new')?.length ?? 0) < 3) {
    if (Date.now() > deadline) throw new Error(`new: ${JSON.stringify(written.get('new'))}, positions ${JSON.stringify(reader.positions('new'), (_k, v: unknown) => typeof v === 'bigint' ? String(v) : v)}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  t.notOk(written.has('old'), 'nothing written for the registration that ended')
  t.same(written.get('new'), ['k0', 'k1', 'k2'], 'the new registration got every record, read again')
  t.same(reader.positions('new'), [{ topic: 'c', partition: 0, offset: 3n }])
  reader.unregister('new')
  await new Promise(resolve => setTimeout(resolve, 20))
})

t.test('runs decoded on demand are written a slice at a time; last write per key only while it drops entries', async t => {
  // A fake log: one run per fetch, handed out through take(), until `runs` is empty.
  const e = (key: string, value: string): ChangelogEntry => ({ key: Buffer.from(key), value: Buffer.from(value) })
  const distinct = Array.from({ length: 12_000 }, (_, i) => e(`m${i}`, String(i)))
  const repeated = Array.from({ length: 12_000 }, (_, i) => e(`k${i % 10}`, String(i)))
  const runs = [distinct, distinct.map(x => e(x.key.toString(), 'again')), repeated]
  let position = 0n
  const decodedAtTake: number[] = []
  const partitionReader = {
    assign () {},
    unassign () {},
    async poll () { return [] },
    async pollEntries () {
      const entries = runs.shift()
      if (entries === undefined) return []
      position += BigInt(entries.length)
      let at = 0
      return [{
        topic: 'c',
        partition: 0,
        records: entries.length,
        take: (max: number) => { const out = entries.slice(at, at + max); at += out.length; decodedAtTake.push(out.length); return out },
        get entries (): ChangelogEntry[] { throw new Error('a run that decodes on demand is taken, never read whole') }
      }]
    },
    position () { return position },
    async close () {}
  }
  const admin = { async listOffsets (tps: TopicPartition[], which: string) { return tps.map(tp => ({ ...tp, offset: which === 'latest' ? 36_000n : 0n })) } } as unknown as Log['admin']
  const reader = new ChangelogReader({ admin, reader: partitionReader })
  const writes: ChangelogEntry[][] = []
  const store = new Map<string, string>()
  await reader.register('0_0', [{
    changelog: { topic: 'c', partition: 0 },
    store: 's',
    from: null,
    apply: entries => { writes.push(entries); for (const { key, value } of entries) store.set(key.toString(), value!.toString()) }
  }])
  const done = await untilDone(reader, 1)
  t.equal(done.get('0_0')?.records, 36_000, 'every record counted')
  t.ok(decodedAtTake.every(n => n <= 5000), 'taken 5000 at most at a time')
  t.ok(writes.every(w => w.length <= 5000), 'written a slice at a time')
  // Distinct keys: the first slice is checked (nothing to drop), the next 50k records are written
  // as they come (the third run's repeated keys included: the pause is by records).
  t.same(writes.map(w => w.length), [5000, 5000, 2000, 5000, 5000, 2000, 5000, 5000, 2000])
  t.equal(store.get('m0'), 'again')
  t.equal(store.get('k3'), '11993', 'the last write of a repeated key wins, deduplicated or not')
  t.equal(store.size, 12_010)
})

t.test('last write per key goes on while a partition repeats keys', async t => {
  const e = (key: string, value: string): ChangelogEntry => ({ key: Buffer.from(key), value: Buffer.from(value) })
  const repeated = Array.from({ length: 12_000 }, (_, i) => e(`k${i % 10}`, String(i)))
  let served = false
  const partitionReader = {
    assign () {},
    unassign () {},
    async poll () { return [] },
    async pollEntries () {
      if (served) return []
      served = true
      let at = 0
      return [{ topic: 'c', partition: 0, records: repeated.length, take: (max: number) => { const out = repeated.slice(at, at + max); at += out.length; return out }, entries: repeated }]
    },
    position () { return served ? 12_000n : 0n },
    async close () {}
  }
  const admin = { async listOffsets (tps: TopicPartition[], which: string) { return tps.map(tp => ({ ...tp, offset: which === 'latest' ? 12_000n : 0n })) } } as unknown as Log['admin']
  const reader = new ChangelogReader({ admin, reader: partitionReader })
  const writes: number[] = []
  await reader.register('0_0', [{ changelog: { topic: 'c', partition: 0 }, store: 's', from: null, apply: entries => { writes.push(entries.length) } }])
  await untilDone(reader, 1)
  t.same(writes, [10, 10, 10], 'every slice deduplicated: 10 keys each')
})

t.test('runs offered as offsets (takeColumns) are written so, unless the slice\'s last write per key is taken', async t => {
  // A fake log whose runs are keys and values in one buffer, taken as offsets or as entries.
  const run = (records: Array<[string, string | null]>): { buf: Buffer, at: number[] } => {
    const parts: Buffer[] = []
    const at: number[] = []
    let p = 0
    for (const [key, value] of records) {
      parts.push(Buffer.from(key))
      at.push(p, key.length)
      p += key.length
      at.push(p, value === null ? -1 : value.length)
      if (value !== null) { parts.push(Buffer.from(value)); p += value.length }
    }
    return { buf: Buffer.concat(parts), at }
  }
  const distinct = Array.from({ length: 12_000 }, (_, i): [string, string | null] => [`m${i}`, i % 1000 === 7 ? null : String(i)])
  const repeated = Array.from({ length: 3000 }, (_, i): [string, string | null] => [`k${i % 10}`, String(i)])
  for (const [name, runs, columnWrites, entryWrites] of [
    ['distinct keys', [distinct, distinct.map(([k, v]): [string, string | null] => [k, v === null ? 'back' : null])], [5000, 5000, 2000, 5000, 5000, 2000], []],
    ['repeated keys', [repeated, repeated], [], [10, 10]]
  ] as const) {
    const queue = runs.map(r => run(r))
    const total = runs.reduce((n, r) => n + r.length, 0)
    let position = 0n
    const partitionReader = {
      assign () {},
      unassign () {},
      async poll () { return [] },
      async pollEntries () {
        const next = queue.shift()
        if (next === undefined) return []
        const { buf, at } = next
        const count = at.length / 4
        position += BigInt(count)
        let i = 0
        return [{
          topic: 'c',
          partition: 0,
          records: count,
          columnBuffer: buf,
          takeColumns: (max: number, out: Int32Array) => { const n = Math.min(max, count - i); out.set(at.slice(i * 4, (i + n) * 4)); i += n; return n },
          take: (max: number) => { const out: ChangelogEntry[] = []; for (; out.length < max && i < count; i++) out.push({ key: buf.subarray(at[i * 4]!, at[i * 4]! + at[i * 4 + 1]!), value: at[i * 4 + 3]! < 0 ? null : buf.subarray(at[i * 4 + 2]!, at[i * 4 + 2]! + at[i * 4 + 3]!) }); return out },
          get entries (): ChangelogEntry[] { throw new Error('taken, never read whole') }
        }]
      },
      position () { return position },
      async close () {}
    }
    const admin = { async listOffsets (tps: TopicPartition[], which: string) { return tps.map(tp => ({ ...tp, offset: which === 'latest' ? BigInt(total) : 0n })) } } as unknown as Log['admin']
    const reader = new ChangelogReader({ admin, reader: partitionReader })
    const store = new Map<string, string>()
    const written = { columns: [] as number[], entries: [] as number[] }
    const set = (key: Buffer, value: Buffer | null): void => { if (value === null) store.delete(key.toString()); else store.set(key.toString(), value.toString()) }
    await reader.register('0_0', [{
      changelog: { topic: 'c', partition: 0 },
      store: 's',
      from: null,
      apply: entries => { written.entries.push(entries.length); for (const { key, value } of entries) set(key, value) },
      applyColumns: ({ buf, at, count }) => {
        written.columns.push(count)
        for (let i = 0; i < count * 4; i += 4) set(buf.subarray(at[i]!, at[i]! + at[i + 1]!), at[i + 3]! < 0 ? null : buf.subarray(at[i + 2]!, at[i + 2]! + at[i + 3]!))
      }
    }])
    const done = await untilDone(reader, 1)
    t.equal(done.get('0_0')?.records, total, `${name}: every record counted`)
    t.same(written.columns, columnWrites, `${name}: written as offsets`)
    t.same(written.entries, entryWrites, `${name}: written as entries (deduplicated)`)
    const expected = new Map<string, string>()
    for (const r of runs) for (const [k, v] of r) { if (v === null) expected.delete(k); else expected.set(k, v) }
    t.same(store, expected, `${name}: the store holds the last write of every key`)
  }
})

t.test('standby mode: reading starts at registration, the ends asked after it, one request for the registrations waiting', async t => {
  const assigned: Array<TopicPartition & { offset: bigint }> = []
  const partitionReader = {
    assign (list: Array<TopicPartition & { offset: bigint }>) { assigned.push(...list) },
    unassign () {},
    async poll () { await new Promise(resolve => setTimeout(resolve, 5)); return [] },
    position (tp: TopicPartition) { return assigned.find(a => a.partition === tp.partition)?.offset ?? 0n },
    async close () {}
  }
  const asked: Array<{ which: string, partitions: number[] }> = []
  let answer: () => void = () => {}
  const admin = {
    async listOffsets (tps: TopicPartition[], which: string) {
      asked.push({ which, partitions: tps.map(tp => tp.partition) })
      await new Promise<void>(resolve => { answer = resolve })
      return tps.map(tp => ({ ...tp, offset: tp.partition === 2 ? 7n : 0n }))
    }
  } as unknown as Log['admin']
  const progress: RestoreProgress[] = []
  const reader = new ChangelogReader({ admin, reader: partitionReader, standby: true, onProgress: p => progress.push(p) })
  const restore = (partition: number, from: bigint | null = null): ChangelogRestore => ({ changelog: { topic: 'c', partition }, store: 's', from, apply: () => {} })
  await reader.register('0_0', [restore(0)])
  t.same(assigned, [{ topic: 'c', partition: 0, offset: 0n }], 'assigned at once, from the log start (no checkpoint)')
  await reader.register('0_1', [restore(1, 5n)])
  await reader.register('0_2', [restore(2, 3n)])
  t.same(assigned.map(a => [a.partition, a.offset]), [[0, 0n], [1, 5n], [2, 3n]], 'from their checkpoints, without waiting for the ends')
  t.equal(reader.catchingUp, 3, 'catching up until the ends are known')
  t.same(asked, [{ which: 'latest', partitions: [0] }], 'one end asked; the registrations meanwhile wait for it')
  answer()
  await new Promise(resolve => setTimeout(resolve, 0))
  t.same(asked.slice(1), [{ which: 'latest', partitions: [1, 2] }], 'then one request for both')
  answer()
  await new Promise(resolve => setTimeout(resolve, 0))
  // 0_0 at 0 of 0, 0_1 at 5 past an end of 0: caught up; 0_2 at 3 of 7: not yet.
  t.equal(reader.catchingUp, 1)
  t.same(progress.filter(p => p.owner === '0_2').map(p => [p.remaining, p.caughtUp]), [[0, false], [4, false]], 'the target known, what is left reported')
  t.equal(reader.lag('0_2'), 4)
  reader.unregister('0_0'); reader.unregister('0_1'); reader.unregister('0_2')
})

t.test('standby mode: an end the registration could not ask is set by the next refreshEnds()', async t => {
  let fail = true
  const partitionReader = { assign () {}, unassign () {}, async poll () { await new Promise(resolve => setTimeout(resolve, 5)); return [] }, position () { return 0n }, async close () {} }
  const admin = { async listOffsets (tps: TopicPartition[]) { if (fail) throw new Error('broker away'); return tps.map(tp => ({ ...tp, offset: 0n })) } } as unknown as Log['admin']
  const reader = new ChangelogReader({ admin, reader: partitionReader, standby: true })
  await reader.register('0_0', [{ changelog: { topic: 'c', partition: 0 }, store: 's', from: null, apply: () => {} }])
  await new Promise(resolve => setTimeout(resolve, 0))
  t.equal(reader.catchingUp, 1, 'the end unknown: still catching up')
  fail = false
  await reader.refreshEnds()
  t.equal(reader.catchingUp, 0, 'known now: caught up at 0 of 0')
  reader.unregister('0_0')
})

t.test('a long slice is measured on its first 512 entries', async t => {
  const e = (key: string, value: string): ChangelogEntry => ({ key: Buffer.from(key), value: Buffer.from(value) })
  // Distinct keys first, then one key over and over: the sample sees no repeat, the slice is
  // written whole (correct either way: the batch applies in order).
  const slice = [...Array.from({ length: 512 }, (_, i) => e(`m${i}`, 'x')), ...Array.from({ length: 1000 }, (_, i) => e('hot', String(i)))]
  let served = false
  const partitionReader = {
    assign () {},
    unassign () {},
    async poll () { return [] },
    async pollEntries () { if (served) return []; served = true; return [{ topic: 'c', partition: 0, entries: slice }] },
    position () { return served ? BigInt(slice.length) : 0n },
    async close () {}
  }
  const admin = { async listOffsets (tps: TopicPartition[], which: string) { return tps.map(tp => ({ ...tp, offset: which === 'latest' ? BigInt(slice.length) : 0n })) } } as unknown as Log['admin']
  const reader = new ChangelogReader({ admin, reader: partitionReader })
  const writes: ChangelogEntry[][] = []
  await reader.register('0_0', [{ changelog: { topic: 'c', partition: 0 }, store: 's', from: null, apply: entries => { writes.push(entries) } }])
  await untilDone(reader, 1)
  t.same(writes.map(w => w.length), [1512], 'written whole')
  t.equal(writes[0]!.at(-1)!.value!.toString(), '999', 'the last write of the repeated key last')
})
