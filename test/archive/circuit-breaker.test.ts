// The circuit breaker: backoff grows per consecutive failure (with jitter, bounded), opens after
// the threshold, lets one trial through after openMs, closes on success, reopens on a failed trial.
import t from 'tap'
import { CircuitBreaker, type BreakerState } from '../../processors/archive/circuit-breaker.ts'

t.test('backoff, open, half-open, close', async t => {
  let now = 0
  const states: BreakerState[] = []
  const b = new CircuitBreaker({ failureThreshold: 3, baseBackoffMs: 100, maxBackoffMs: 1000, openMs: 5000, clock: () => now, random: () => 1, onStateChange: s => states.push(s) })
  t.ok(b.canAttempt())
  b.recordFailure()
  t.equal(b.nextAttemptInMs(), 100, 'first retry after the base backoff')
  t.notOk(b.canAttempt())
  now += 100
  t.ok(b.canAttempt())
  b.recordFailure()
  t.equal(b.nextAttemptInMs(), 200, 'doubles')
  now += 200
  b.recordFailure()
  t.equal(b.state, 'OPEN', 'opens at the threshold')
  t.equal(b.nextAttemptInMs(), 5000)
  now += 4999
  t.notOk(b.canAttempt(), 'stays open for openMs')
  now += 1
  t.ok(b.canAttempt())
  t.equal(b.state, 'HALF_OPEN', 'one trial')
  b.recordFailure()
  t.equal(b.state, 'OPEN', 'a failed trial reopens')
  now += 5000
  t.ok(b.canAttempt())
  b.recordSuccess()
  t.equal(b.state, 'CLOSED')
  t.equal(b.consecutiveFailures, 0)
  t.same(states, ['OPEN', 'HALF_OPEN', 'OPEN', 'HALF_OPEN', 'CLOSED'])
})

t.test('backoff is bounded and jittered within [ceiling/2, ceiling]', async t => {
  let now = 0
  const b = new CircuitBreaker({ failureThreshold: 100, baseBackoffMs: 100, maxBackoffMs: 1000, clock: () => now, random: () => 0 })
  for (let i = 0; i < 10; i++) {
    b.recordFailure()
    const wait = b.nextAttemptInMs()
    t.ok(wait >= 50 && wait <= 1000, `failure ${i + 1}: ${wait} ms`)
    now += wait
  }
  t.equal(b.nextAttemptInMs(), 0)
  b.recordFailure()
  t.equal(b.nextAttemptInMs(), 500, 'capped at maxBackoffMs (half with zero jitter)')
})
