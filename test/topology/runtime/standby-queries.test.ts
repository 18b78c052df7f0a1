// Reads from standby copies (topology/standby-queries.ts): the lag is the committed end asked
// for the read − what the copy's stores hold; a copy further behind than the bound, or none, is
// STORE_NOT_READY; a copy that closed refuses reads; concurrent reads share one listOffsets that
// was sent after they arrived, never an older one.
import t from 'tap'
import type { LogAdmin, PartitionOffset, TopicPartition } from '../../../log/log-port.ts'
import { lagOf, StandbyQueries } from '../../../topology/standby-queries.ts'
import type { StandbyCopy } from '../../../topology/runtime/stream-thread.ts'
import type { TaskStateManager } from '../../../topology/runtime/task-state-manager.ts'

const TP = { topic: 'app-balances-changelog', partition: 3 }

/** An admin whose listOffsets answers `ends` (changeable), counting and optionally holding calls. */
function fakeAdmin (ends: Map<string, bigint>): { admin: LogAdmin, calls: () => number, hold: () => () => void } {
  let calls = 0
  let gate: Promise<void> | undefined
  const admin = {
    listOffsets: async (partitions: TopicPartition[]): Promise<PartitionOffset[]> => {
      calls++
      // The end as it is when the broker answers (after a held call is released).
      await gate
      return partitions.map(p => ({ ...p, offset: ends.get(`${p.topic}:${p.partition}`) ?? 0n }))
    }
  } as unknown as LogAdmin
  return {
    admin,
    calls: () => calls,
    hold: () => {
      let release!: () => void
      gate = new Promise(resolve => { release = resolve })
      return () => { gate = undefined; release() }
    }
  }
}

function fakeState (values: Record<string, unknown>): TaskStateManager {
  return {
    standbyReadView: (name: string) => name !== 'balances'
      ? undefined
      : { get: (key: string) => values[key], range: () => [], prefixScan: () => [], approximateNumEntries: () => Object.keys(values).length }
  } as unknown as TaskStateManager
}

t.test('lag 0: the view reads the copy; behind: refused at bound 0, served within a larger bound', async t => {
  const ends = new Map([[`${TP.topic}:${TP.partition}`, 10n]])
  const { admin } = fakeAdmin(ends)
  let copy: StandbyCopy | undefined = { state: fakeState({ m1: { available: 300 } }), applied: [{ ...TP, offset: 10n }] }
  const queries = new StandbyQueries({ admin: () => admin, copy: task => task === '0_3' ? copy : undefined })

  const view = await queries.view('0_3', 0)
  t.equal(view.lagRecords, 0, 'caught up: lag 0')
  t.same(view.store('balances').get('m1'), { available: 300 }, 'reads the copy')

  ends.set(`${TP.topic}:${TP.partition}`, 13n)
  await t.rejects(queries.view('0_3', 0), { code: 'STORE_NOT_READY', details: { lagRecords: 3 } }, '3 records behind, bound 0: refused')
  t.equal((await queries.view('0_3', 5)).lagRecords, 3, 'within a bound of 5: served, lag 3')
  t.equal(await queries.lag('0_3'), 3, 'lag() says the same')

  await t.rejects(queries.view('0_1', 1000), { code: 'STORE_NOT_READY', details: { lagRecords: null } }, 'no copy here: refused')
  t.equal(await queries.lag('0_1'), null, 'no copy: lag null')

  // The copy closes (it moved): a view taken before refuses reads.
  const held = await queries.view('0_3', 5)
  const store = held.store('balances')
  copy = undefined
  t.throws(() => store.get('m1'), { code: 'STORE_NOT_READY' }, 'a closed copy refuses reads')
  t.throws(() => view.store('balances').get('m1'), { code: 'STORE_NOT_READY' })
})

t.test('the end is asked after the read arrived: reads arriving while one is in flight share the next', async t => {
  const ends = new Map([[`${TP.topic}:${TP.partition}`, 5n]])
  const { admin, calls, hold } = fakeAdmin(ends)
  const copy: StandbyCopy = { state: fakeState({}), applied: [{ ...TP, offset: 5n }] }
  const queries = new StandbyQueries({ admin: () => admin, copy: () => copy })
  const release = hold()
  const first = queries.lag('0_3')
  const second = queries.lag('0_3')
  await new Promise(resolve => setImmediate(resolve))
  // A record committed while the first listOffsets is in flight: a read arriving now must see it.
  ends.set(`${TP.topic}:${TP.partition}`, 6n)
  const third = queries.lag('0_3')
  release()
  t.same(await Promise.all([first, second, third]), [1, 1, 1], 'each sees the end as the broker answers it')
  t.equal(calls(), 2, 'the reads arriving after the first listOffsets was sent shared a second one')
  t.equal(await queries.lag('0_3'), 1, 'a read after all that asks again')
  t.equal(calls(), 3)
})

t.test('lagOf: summed over partitions; an unknown or receded end refuses every bound', async t => {
  const applied = [{ topic: 'a', partition: 0, offset: 4n }, { topic: 'b', partition: 0, offset: 9n }]
  t.equal(lagOf(applied, new Map([['a:0', 6n], ['b:0', 9n]])), 2)
  t.equal(lagOf(applied, new Map([['a:0', 3n], ['b:0', 9n]])), Number.POSITIVE_INFINITY, 'an end behind the copy (changelog recreated): unknown, refused')
  t.equal(lagOf(applied, new Map([['a:0', 6n]])), Number.POSITIVE_INFINITY)
  t.equal(lagOf([], new Map()), 0, 'a task without changelogs')
})
