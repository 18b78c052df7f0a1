// The repartition purge's scheduling (topology/runtime/repartition-purger.ts): at most one purge
// in flight, at most one per interval, only repartition topics, up to the latest committed
// offsets, and a failure reported, never thrown (the next purge covers its offsets).
import t from 'tap'
import type { PartitionOffset } from '../../../log/log-port.ts'
import { RepartitionPurger } from '../../../topology/runtime/repartition-purger.ts'

interface Call { offsets: PartitionOffset[], resolve: () => void, reject: (e: unknown) => void }

function setup (): { purger: RepartitionPurger, calls: Call[], results: Array<{ ok: boolean, error?: unknown }>, advance: (ms: number) => void } {
  let now = 1000
  const calls: Call[] = []
  const results: Array<{ ok: boolean, error?: unknown }> = []
  const purger = new RepartitionPurger({
    intervalMs: 100,
    clock: () => now,
    isRepartitionTopic: topic => topic.endsWith('-repartition'),
    deleteRecords: async offsets => await new Promise<void>((resolve, reject) => { calls.push({ offsets, resolve, reject }) }),
    onPurged: r => { results.push(r.error === undefined ? { ok: r.ok } : { ok: r.ok, error: r.error }) }
  })
  return { purger, calls, results, advance: ms => { now += ms } }
}

const off = (topic: string, partition: number, offset: number): PartitionOffset => ({ topic, partition, offset: BigInt(offset) })

t.test('purges only repartition topics, once per interval, one at a time', async t => {
  const { purger, calls, results, advance } = setup()
  purger.committed([off('a-repartition', 0, 5), off('input', 0, 9)])
  t.equal(calls.length, 0, 'not before the interval has passed since the start')
  advance(100)
  purger.committed([off('a-repartition', 0, 7), off('input', 0, 12)])
  t.equal(calls.length, 1, 'due: one purge starts')
  t.same(calls[0]!.offsets, [off('a-repartition', 0, 7)], 'up to the latest committed offset, repartition topics only')
  t.ok(purger.inflight)
  advance(500)
  purger.committed([off('a-repartition', 0, 9), off('a-repartition', 1, 3)])
  t.equal(calls.length, 1, 'never a second one while one is in flight')
  calls[0]!.resolve()
  await purger.idle()
  t.same(results, [{ ok: true }])
  t.notOk(purger.inflight)
  purger.committed([])
  t.equal(calls.length, 2, 'the interval has passed: the next commit purges what came since')
  t.same(calls[1]!.offsets, [off('a-repartition', 0, 9), off('a-repartition', 1, 3)])
  calls[1]!.resolve()
  await purger.idle()
  advance(50)
  purger.committed([off('a-repartition', 0, 20)])
  t.equal(calls.length, 2, 'not twice within the interval')
  advance(50)
  purger.committed([])
  t.equal(calls.length, 3)
  t.same(calls[2]!.offsets, [off('a-repartition', 0, 20)], 'partitions already purged to their committed offset are left out')
  calls[2]!.resolve()
  await purger.idle()
  advance(100)
  purger.committed([])
  t.equal(calls.length, 3, 'nothing new committed: no purge')
})

t.test('a failed purge is reported, not thrown, and the next one covers its offsets', async t => {
  const { purger, calls, results, advance } = setup()
  advance(100)
  purger.committed([off('a-repartition', 0, 5)])
  const error = new Error('broker down')
  calls[0]!.reject(error)
  await purger.idle()
  t.same(results, [{ ok: false, error }])
  t.notOk(purger.inflight)
  advance(100)
  purger.committed([])
  t.same(calls[1]?.offsets, [off('a-repartition', 0, 5)], 'retried after the next commit')
  calls[1]!.resolve()
  await purger.idle()
  t.same(results.map(r => r.ok), [false, true])
})

t.test('a deleteRecords that throws synchronously is a failed purge too', async t => {
  const results: boolean[] = []
  const purger = new RepartitionPurger({
    intervalMs: 0,
    clock: () => 0,
    isRepartitionTopic: () => true,
    deleteRecords: () => { throw new Error('closed') },
    onPurged: r => { results.push(r.ok) }
  })
  t.doesNotThrow(() => { purger.committed([off('x', 0, 1)]) })
  await purger.idle()
  t.same(results, [false])
})
