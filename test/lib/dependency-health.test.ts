// The dependency registry turns up/down reports into one log line when an outage starts and one
// when it ends (with its duration), the rewards_dependency_* metrics, and a snapshot for readiness.
import { Writable } from 'node:stream'
import { Registry } from 'prom-client'
import t from 'tap'
import { DependencyHealth } from '../../lib/dependency-health.ts'
import { createLogger } from '../../lib/logger.ts'

t.test('an outage is logged once when it starts and once when it ends, and counted', async t => {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk)) as Record<string, unknown>); done() } })
  const registry = new Registry()
  let now = 1_000_000
  const health = new DependencyHealth({ registry, logger: createLogger({ level: 'info', destination }), clock: () => now })
  health.declare('database', { required: false, impact: 'degraded' })
  t.match(health.snapshot(), { database: { state: 'unknown', required: false } }, 'unknown until first reported')

  health.markUp('database')
  t.equal(lines.length, 0, 'a first "up" is not an event')
  health.markDown('database', 'Connection terminated unexpectedly')
  now += 500
  health.markDown('database', 'connect ECONNREFUSED')
  now += 20_000
  health.markUp('database')
  health.markUp('database')

  const events = lines.filter(l => typeof l.event === 'string')
  t.same(events.map(l => l.event), ['dependency.down', 'dependency.up'], 'one line at the start, one at the end')
  t.match(events[0], { level: 'warn', dependency: 'database', reason: 'Connection terminated unexpectedly', msg: /^dependency database is down/ })
  t.match(events[1], { level: 'info', dependency: 'database', downMs: 20_500, msg: 'dependency database is back after 20.5 s' })
  const text = await registry.metrics()
  t.match(text, /rewards_dependency_up\{dependency="database"\} 1/)
  t.match(text, /rewards_dependency_outages_total\{dependency="database"\} 1/)
  t.match(text, /rewards_dependency_outage_seconds_total\{dependency="database"\} 20\.5/)
})

t.test('down at the first report: the outage starts then', async t => {
  const registry = new Registry()
  const health = new DependencyHealth({ registry })
  health.declare('kafka', { required: true, impact: 'not ready' })
  health.markDown('kafka', 'connect ECONNREFUSED 127.0.0.1:1')
  t.match(health.status('kafka'), { state: 'down', required: true, detail: 'connect ECONNREFUSED 127.0.0.1:1' })
  t.match(await registry.metrics(), /rewards_dependency_up\{dependency="kafka"\} 0/)
  t.match(await registry.metrics(), /rewards_dependency_outages_total\{dependency="kafka"\} 1/)
})
