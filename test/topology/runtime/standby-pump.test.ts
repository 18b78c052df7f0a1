// The standby reader's registrations and pump (topology/runtime/standby-pump.ts, a
// ChangelogReader in standby mode) on fake logs: reading starts at registration, without a step()
// of the loop; the ends are asked after it, one request for the registrations waiting (a failed
// one is set by refreshEnds()); no long poll while more owners are about to register; partitions
// registered during a write or while an answer waits are fetched at once; an answer fetched for a
// registration that ended is not written.
import t from 'tap'
import type { Log, PartitionReader, TopicPartition } from '../../../log/log-port.ts'
import { ChangelogReader } from '../../../topology/runtime/changelog-reader.ts'
import type { ChangelogRestore, RestoreProgress } from '../../../topology/runtime/changelog-restore.ts'


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


t.test('standby mode: reading starts at registration, the ends asked after it, one request for the registrations waiting', async t => {
  const assigned: Array<TopicPartition & { offset: bigint }> = []
  // Every fetch is held until the test ends: an empty answer written meanwhile would report the
  // partitions' progress once more, at a moment set by the machine's load.
  let endPolls: () => void = () => {}
  const pollsHeld = new Promise<void>(resolve => { endPolls = resolve })
  const partitionReader = {
    assign (list: Array<TopicPartition & { offset: bigint }>) { assigned.push(...list) },
    unassign () {},
    async poll () { await pollsHeld; return [] },
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
  endPolls()
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
