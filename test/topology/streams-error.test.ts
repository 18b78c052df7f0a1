// The engine's errors are its own (StreamsError); the platform's RewardsError extends them with
// its codes, and the platform's isRewardsError() recognises both (docs/engine.md "Errors and
// metric names").
import t from 'tap'
import { Registry } from 'prom-client'
import { isStreamsError, Serdes, StreamsError, Topology } from '../../topology/index.ts'
import { EngineMetrics } from '../../topology/runtime/engine-metrics.ts'
import { isRewardsError, RewardsError } from '../../lib/errors.ts'

t.test('an invalid topology fails with the engine\'s error and code', async t => {
  const error = t.throws(() => {
    new Topology().addSource('in', { topics: ['a'], keySerde: Serdes.string(), valueSerde: Serdes.string() }).addProcessor('p', () => ({ process () {} }), 'nowhere').validate()
  }) as unknown
  t.ok(error instanceof StreamsError, 'a StreamsError')
  t.equal((error as StreamsError).name, 'StreamsError')
  t.equal((error as StreamsError).code, 'TOPOLOGY_INVALID')
  t.equal((error as StreamsError).retriable, false)
  t.ok(isStreamsError(error, 'TOPOLOGY_INVALID'))
  t.notOk(isStreamsError(error, 'CONFIG_INVALID'))
  t.ok(isRewardsError(error, 'TOPOLOGY_INVALID'), 'the platform recognises engine errors')
  t.notOk(error instanceof RewardsError, 'but an engine error is not the platform\'s class')
})

t.test('the platform error is a StreamsError with a wider catalogue', async t => {
  const error = new RewardsError('DATABASE_UNAVAILABLE', undefined, { details: { host: 'db' } })
  t.ok(error instanceof StreamsError)
  t.equal(error.name, 'RewardsError')
  t.equal(error.retriable, true, 'retriable from the platform catalogue')
  t.match(error.message, /PostgreSQL/)
  t.same(error.details, { host: 'db' })
  t.ok(isRewardsError(error, 'DATABASE_UNAVAILABLE'))
  t.notOk(isRewardsError(new Error('plain')), 'a plain error is not coded')
  const engine = new StreamsError('STORE_NOT_READY', 'restoring', { cause: new Error('why') })
  t.equal(engine.retriable, true)
  t.equal((engine.cause as Error).message, 'why')
})

t.test('engine metrics carry the engine\'s prefix', async t => {
  const registry = new Registry()
  const metrics = new EngineMetrics(registry)
  metrics.activeTasks.set(1)
  const text = await registry.metrics()
  t.match(text, /^# HELP streams_active_tasks /m)
  t.notMatch(text, /^# HELP rewards_/m, 'no engine metric carries the platform\'s prefix')
})
