// The runnable examples under examples/ run and give the right answers, on the embedded log and
// on Kafka (the broker of REWARDS_KAFKA_BROKERS, default the local one), and word-count runs as
// a script (its default: the embedded log).
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { wordCount } from '../../examples/word-count.ts'
import { tableTableJoin } from '../../examples/table-table-join.ts'
import { BACKENDS, brokers } from '../topology/integration/backends.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

for (const backend of BACKENDS) {
  const options = { brokers: backend.name === 'kafka' ? brokers : [] }
  t.test(`word-count on the ${backend.name} log`, async t => {
    const counts = await wordCount(options)
    t.equal(counts.get('the'), 3)
    t.equal(counts.get('dog'), 3)
    t.equal(counts.get('barks'), 1)
    t.equal(counts.size, 12, 'twelve distinct words')
  })
  t.test(`table-table-join on the ${backend.name} log`, async t => {
    const { statements, perHotel } = await tableTableJoin(options)
    t.same(Object.fromEntries(statements), { m1: 'Ana: 150', m2: 'Ben: 40', m3: null }, 'updated, kept, and deleted (tombstone)')
    t.same(Object.fromEntries(perHotel), { lisbon: 1, porto: 1 }, 'Ben moved from lisbon to porto, Caro left porto')
  })
}

t.test('word-count runs as a script', async t => {
  const env = { ...process.env }
  delete env.REWARDS_KAFKA_BROKERS
  const { stdout } = await promisify(execFile)(process.execPath, ['examples/word-count.ts'], { cwd: root, env, timeout: 120_000 })
  t.match(stdout, /^the\t3$/m)
  t.match(stdout, /^barks\t1$/m)
})
