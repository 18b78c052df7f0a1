// CI check of bench/rewards-vs-kafka-streams.ts (benchmarks are not timed tests: docs/benchmarks.md):
// on a small input, against the real broker, the project's processor role and the Kafka Streams
// reference of the rewards topology (built with Maven if needed) both drain the input under
// exactly-once and at-least-once, their outputs are equal record by record, and both equal the
// reference model. The figures it prints are not checked.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

t.test('the project and Kafka Streams produce equal outputs on the same input (EOS and ALOS)', async t => {
  t.setTimeout(420_000)
  const child = spawn(process.execPath, ['bench/rewards-vs-kafka-streams.ts', '--records', '2000', '--members', '200', '--partitions', '3', '--timeout', '240'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  t.equal(code, 0, 'the bench exits 0', { output })
  for (const guarantee of ['exactly_once_v2', 'at_least_once']) {
    t.match(output, `${guarantee}: outputs equal: yes`, `${guarantee}: outputs equal`)
    t.match(output, new RegExp(`${guarantee}: project / Kafka Streams = \\d+\\.\\d+x`), `${guarantee}: the ratio is printed`)
    t.match(output, new RegExp(`${guarantee}, project \\((\\d+) records\\) vs Kafka Streams \\(\\1 records\\): equal`), `${guarantee}: the same number of output records, equal`)
  }
})
