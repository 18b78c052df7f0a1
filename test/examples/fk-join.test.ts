// examples/fk-join.ts runs and gives the right answers, on the embedded log and on Kafka (the
// broker of REWARDS_KAFKA_BROKERS, default the local one), and runs as a script.
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { fkJoin } from '../../examples/fk-join.ts'
import { BACKENDS, brokers } from '../topology/integration/backends.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

for (const backend of BACKENDS) {
  t.test(`fk-join on the ${backend.name} log`, async t => {
    const rows = await fkJoin({ brokers: backend.name === 'kafka' ? brokers : [] })
    t.same(Object.fromEntries(rows), {
      m1: 'Ana @ Lisboa Grand', // the hotel's rename reached her
      m2: 'Ben @ -', // moved to Porto, which then closed
      m3: null, // deleted: tombstone
      m4: 'Dan @ Faro Beach' // his hotel opened after him
    })
  })
}

t.test('fk-join runs as a script', async t => {
  const env = { ...process.env }
  delete env.REWARDS_KAFKA_BROKERS
  const { stdout } = await promisify(execFile)(process.execPath, ['examples/fk-join.ts'], { cwd: root, env, timeout: 120_000 })
  t.match(stdout, /^ {2}m1\tAna @ Lisboa Grand$/m)
  t.match(stdout, /^ {2}m3\t\(deleted\)$/m)
})
