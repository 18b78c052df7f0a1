// How the changelog reader writes what a fetch brought (topology/runtime/changelog-reader.ts), on
// fake logs: in slices of at most 5000 records, decoded on demand a slice at a time, as offsets
// into the fetched bytes where the store can, and as the last write per key while that drops
// entries (topology/runtime/restore-last-writes.ts).
import t from 'tap'
import type { Log, TopicPartition } from '../../../log/log-port.ts'
import { ChangelogReader } from '../../../topology/runtime/changelog-reader.ts'
import type { ChangelogEntry } from '../../../topology/runtime/changelog-restore.ts'
import { lastWritePerKey } from '../../../topology/runtime/restore-last-writes.ts'
import { untilDone } from './changelog-reader-helpers.ts'


t.test('lastWritePerKey keeps the last write of each key', async t => {
  const e = (key: string, value: string | null): ChangelogEntry => ({ key: Buffer.from(key), value: value === null ? null : Buffer.from(value) })
  const out = lastWritePerKey([e('a', '1'), e('b', '1'), e('a', '2'), e('b', null), e('c', '1')])
  t.same(out.map(x => [x.key.toString(), x.value?.toString() ?? null]).sort(), [['a', '2'], ['b', null], ['c', '1']])
  const unique = [e('a', '1'), e('b', '2')]
  t.equal(lastWritePerKey(unique), unique, 'no repeated key: the same array')
  // Keys that differ only in bytes invalid as UTF-8 stay apart.
  t.equal(lastWritePerKey([e('x', '1'), { key: Buffer.from([0xff]), value: null }, { key: Buffer.from([0xfe]), value: null }]).length, 3)
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

t.test('a fetch is released to the log once written, only when no store keeps views of it', async t => {
  // Two partitions, one fetch each round; the log is told which answers it may reuse.
  const e = (key: string, value: string): ChangelogEntry => ({ key: Buffer.from(key), value: Buffer.from(value) })
  for (const keeps of [false, true]) {
    const answers = [[{ topic: 'c', partition: 0, entries: [e('a', '1')] }, { topic: 'c', partition: 1, entries: [e('b', '1')] }]]
    const served: unknown[] = []
    const released: unknown[] = []
    const writtenWhenReleased: number[] = []
    let written = 0
    const position = new Map([[0, 0n], [1, 0n]])
    const partitionReader = {
      assign () {},
      unassign () {},
      async poll () { return [] },
      async pollEntries () {
        const runs = answers.shift() ?? []
        for (const r of runs) position.set(r.partition, 1n)
        served.push(runs)
        return runs
      },
      releaseEntries (runs: unknown) { released.push(runs); writtenWhenReleased.push(written) },
      position (tp: TopicPartition) { return position.get(tp.partition)! },
      async close () {}
    }
    const admin = { async listOffsets (tps: TopicPartition[], which: string) { return tps.map(tp => ({ ...tp, offset: which === 'latest' ? 1n : 0n })) } } as unknown as Log['admin']
    const reader = new ChangelogReader({ admin, reader: partitionReader })
    const sink = (partition: number, keepsNoViews: boolean) => ({
      changelog: { topic: 'c', partition },
      store: 's',
      from: null,
      apply: (entries: ChangelogEntry[]) => { written += entries.length },
      ...(keepsNoViews ? { keepsNoViews } : {})
    })
    // One store keeping views (keepsNoViews unset) is enough to keep the answer.
    await reader.register('0_0', [sink(0, true), sink(1, keeps)])
    await untilDone(reader, 1)
    t.equal(written, 2)
    if (keeps) {
      t.equal(released.length, 1, 'every store copies: the answer is released')
      t.equal(released[0], served[0], 'the very array pollEntries() returned')
      t.same(writtenWhenReleased, [2], 'after both runs were written')
    } else {
      t.equal(released.length, 0, 'a store may keep views: never released')
    }
  }
})
