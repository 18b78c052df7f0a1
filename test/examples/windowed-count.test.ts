// Runs examples/windowed-count.ts as a user would, on the embedded log and on Kafka, and checks
// the final counts it prints.
import t from 'tap'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { brokers } from '../topology/integration/backends.ts'

const run = promisify(execFile)
const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'windowed-count.ts')

const EXPECTED = [
  '  /cart [12:00:00, 12:01:00) 1 views',
  '  /cart [12:01:00, 12:02:00) 1 views',
  '  /cart [12:02:00, 12:03:00) 1 views',
  '  /home [12:00:00, 12:01:00) 4 views',
  '  /home [12:01:00, 12:02:00) 1 views',
  '  /home [12:02:00, 12:03:00) 1 views',
  'window store, /home by minute: 12:00:00=4 12:01:00=1 12:02:00=1 12:05:00=1'
]

for (const backend of ['embedded', 'kafka'] as const) {
  if (process.env.TEST_BACKENDS && !process.env.TEST_BACKENDS.split(',').includes(backend)) continue
  t.test(`examples/windowed-count.ts on the ${backend} log`, async t => {
    const env: NodeJS.ProcessEnv = { ...process.env }
    if (backend === 'kafka') env.REWARDS_KAFKA_BROKERS = brokers.join(',')
    else delete env.REWARDS_KAFKA_BROKERS
    const { stdout } = await run(process.execPath, [EXAMPLE], { env, timeout: 120_000 })
    const lines = stdout.trim().split('\n')
    t.equal(lines[0], `on the ${backend} log, final counts:`)
    t.same(lines.slice(1), EXPECTED, 'one final count per page and minute; the late view inside the grace counted')
  })
}

t.test('--help explains the example', async t => {
  const { stdout } = await run(process.execPath, [EXAMPLE, '--help'])
  t.match(stdout, /usage: node examples\/windowed-count\.ts/)
  t.match(stdout, /REWARDS_KAFKA_BROKERS/)
})
