// api/batched-counter.ts: a batched child's increments are in every read of the registry (text,
// JSON, get()), mixed with direct inc() calls, exactly as a prom-client Counter counted directly;
// a reset drops them like the counter's own values. Series may come in another order (a batched
// series is added to the counter at its first read): compared as sets of lines / values.
import t from 'tap'
import { Counter, Registry } from 'prom-client'
import { batchedChild, batchedCounter, pairCounter } from '../../api/batched-counter.ts'

const CONFIG = { name: 'rewards_api_queries_total', help: 'Member queries by kind and where they were answered (local store, forwarded, cache)', labelNames: ['route', 'where'] as const }

t.test('reads see every increment, as a directly counted Counter would', async t => {
  const ours = new Registry()
  const theirs = new Registry()
  const batched = batchedCounter<'route' | 'where'>(ours, { ...CONFIG, labelNames: [...CONFIG.labelNames] })
  const direct = new Counter({ ...CONFIG, labelNames: [...CONFIG.labelNames], registers: [theirs] })
  t.equal(batchedCounter(ours, { ...CONFIG, labelNames: [...CONFIG.labelNames] }), batched, 'the registry\'s counter is reused')
  const local = batchedChild(batched, { route: 'balance', where: 'local' })
  const again = batchedChild(batched, { where: 'local', route: 'balance' })
  const forwarded = batchedChild(batched, { route: 'balance', where: 'forwarded' })
  const lines = async (registry: Registry): Promise<string[]> => (await registry.metrics()).split('\n').sort()
  const json = async (registry: Registry): Promise<unknown> => (await registry.getMetricsAsJSON()).map(m => ({ ...m, values: [...m.values].sort((a, b) => JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1) }))
  const same = async (what: string): Promise<void> => {
    t.same(await lines(ours), await lines(theirs), `${what}: the same text`)
    t.same(await json(ours), await json(theirs), `${what}: the same JSON`)
  }
  await same('nothing counted')
  for (let i = 0; i < 1000; i++) {
    ;(i % 3 === 0 ? forwarded : i % 3 === 1 ? local : again).inc()
    direct.inc({ route: 'balance', where: i % 3 === 0 ? 'forwarded' : 'local' })
    if (i % 100 === 0) { batched.inc({ route: 'balance', where: 'cache' }); direct.inc({ route: 'balance', where: 'cache' }) }
    if (i === 500) await same('midway')
  }
  await same('after 1000')
  t.match(await ours.metrics(), /rewards_api_queries_total\{route="balance",where="local"\} 666/)
  t.same((await batched.get()).values.find(v => v.labels.where === 'forwarded')?.value, 334, 'get() too')
  local.inc()
  ours.resetMetrics()
  theirs.resetMetrics()
  await same('reset, with an increment not yet read')
  local.inc()
  direct.inc({ route: 'balance', where: 'local' })
  await same('after the reset')
})

t.test('a counter registered some other way: its children count directly', async t => {
  const registry = new Registry()
  const plain = new Counter({ ...CONFIG, labelNames: [...CONFIG.labelNames], registers: [registry] })
  t.equal(batchedCounter(registry, { ...CONFIG, labelNames: [...CONFIG.labelNames] }), plain)
  batchedChild(plain, { route: 'points', where: 'local' }).inc()
  t.match(await registry.metrics(), /rewards_api_queries_total\{route="points",where="local"\} 1/)
})

t.test('pairCounter counts each pair of label values in its own series', async t => {
  const registry = new Registry()
  const counter = batchedCounter<'route' | 'where'>(registry, { ...CONFIG, labelNames: [...CONFIG.labelNames] })
  const count = pairCounter(counter, 'route', 'where')
  for (let i = 0; i < 5; i++) count('balance', 'local')
  count('balance', 'forwarded')
  count('activity', 'local')
  const text = await registry.metrics()
  t.match(text, /rewards_api_queries_total\{route="balance",where="local"\} 5/)
  t.match(text, /rewards_api_queries_total\{route="balance",where="forwarded"\} 1/)
  t.match(text, /rewards_api_queries_total\{route="activity",where="local"\} 1/)
  t.notMatch(text, /route="local"/, 'the values go to their own labels')
})
