// ChangeCache (topology/dsl/change-cache.ts): an aggregation's updates, one per key until the
// flush, forwarded as Change(last new value, first old value) with the last update's timestamp,
// headers and input, in the order of the last updates; with no host (cache off), at once.
import t from 'tap'
import type { LogRecord } from '../../../log/log-port.ts'
import type { ProcessorContext } from '../../../topology/processor/processor.ts'
import type { Record } from '../../../topology/processor/record.ts'
import { ChangeCache } from '../../../topology/dsl/change-cache.ts'
import type { Change } from '../../../topology/dsl/change.ts'
import { RECORD_CACHE, type RecordCacheHost } from '../../../topology/runtime/record-cache.ts'

function harness (withHost: boolean): { cache: ChangeCache<string, number>, out: Array<{ record: Record<string, Change<number>>, input: LogRecord | null }>, host: { input: LogRecord | null, caches: Array<{ flush (): void, clear (): void }> } } {
  const out: Array<{ record: Record<string, Change<number>>, input: LogRecord | null }> = []
  const state = { input: null as LogRecord | null, caches: [] as Array<{ flush (): void, clear (): void }>, forwarding: null as LogRecord | null }
  const host: RecordCacheHost = {
    currentInput: () => state.input,
    forwardAs: (input, forward, record) => { state.forwarding = input; forward(record); state.forwarding = null },
    register: cache => { state.caches.push(cache) }
  }
  const context = {
    forward: (record: Record<string, Change<number>>) => { out.push({ record, input: withHost ? state.forwarding : state.input }) },
    ...(withHost ? { [RECORD_CACHE]: host } : {})
  } as unknown as ProcessorContext<string, Change<number>>
  return { cache: new ChangeCache<string, number>(context, k => k), out, host: state }
}

const rec = (offset: number): LogRecord => ({ topic: 'in', partition: 0, offset: BigInt(offset), timestamp: offset, key: null, value: null, headers: {} })

t.test('with a host: one Change per key at the flush, last new value, first old value', async t => {
  const { cache, out, host } = harness(true)
  host.input = rec(1); cache.put('a', 1, undefined, 10, {})
  host.input = rec(2); cache.put('b', 5, 4, 20, {})
  host.input = rec(3); cache.put('a', 2, 1, 30, { h: Buffer.from('x') })
  t.same(out, [], 'nothing before the flush')
  t.equal(host.caches.length, 1, 'registered with the host')
  host.caches[0]!.flush()
  t.same(out.map(o => [o.record.key, o.record.value.newValue, o.record.value.oldValue, o.record.timestamp, Object.keys(o.record.headers), Number(o.input?.offset)]),
    [['b', 5, 4, 20, [], 2], ['a', 2, null, 30, ['h'], 3]], 'order of the last updates; a keeps its first old value (none)')
  out.length = 0
  host.caches[0]!.flush()
  t.same(out, [], 'a flush empties it')
  cache.put('c', 1, undefined, 40, {})
  host.caches[0]!.clear()
  host.caches[0]!.flush()
  t.same(out, [], 'clear drops what it holds')
})

t.test('without a host: every update at once', async t => {
  const { cache, out } = harness(false)
  cache.put('a', 1, undefined, 10, {})
  cache.put('a', 2, 1, 20, {})
  t.same(out.map(o => [o.record.key, o.record.value.newValue, o.record.value.oldValue, o.record.timestamp]), [['a', 1, null, 10], ['a', 2, 1, 20]])
})
