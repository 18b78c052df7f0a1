// CI check of the engine and API benchmarks (benchmarks are not timed tests: docs/benchmarks.md):
// each runs on a small input against the real broker and exits 0, which each does only when its
// own checks held — engine-throughput: every key's count in the engine's store and the raw
// consumer's equals the input's; engine-restore: every restored key equals what was written;
// api-balance: its two processor instances and servers start and answer each row, closed and
// open loop. The figures
// they print are not checked, only that the lines the docs quote are there.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

async function runBench (args: string[]): Promise<{ code: number | null, output: string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  return { code, output }
}

t.test('engine-throughput: map + count under both guarantees against the raw consumer', async t => {
  t.setTimeout(240_000)
  const { code, output } = await runBench(['bench/engine-throughput.ts', '--records', '5000', '--keys', '100', '--timeout', '120'])
  t.equal(code, 0, 'exits 0: every count checked', { output })
  for (const guarantee of ['exactly_once_v2', 'at_least_once']) {
    t.match(output, new RegExp(`ratio engine/raw ${guarantee}: \\d+\\.\\d+x`), `${guarantee}: the ratio`)
    t.match(output, new RegExp(`window ratio engine/raw ${guarantee}: \\d+\\.\\d+x`), `${guarantee}: the window ratio`)
  }
})

t.test('engine-restore: a changelog restored through the reader and the engine', async t => {
  t.setTimeout(240_000)
  const { code, output } = await runBench(['bench/engine-restore.ts', '--records', '5000', '--keys', '1000'])
  t.equal(code, 0, 'exits 0: every restored key checked', { output })
  t.match(output, /restore path alone: ChangelogReader into RocksDB .* µs\/record/, 'the restore path line')
  t.match(output, /engine: start\(\) to RUNNING, restoring/, 'the engine line')
})

t.test('api-balance: the bare route, local and forwarded balance reads', async t => {
  t.setTimeout(360_000)
  const { code, output } = await runBench(['bench/api-balance.ts', '--seconds', '1', '--rounds', '1', '--members', '50', '--connections', '4', '--placement', 'shared'])
  t.equal(code, 0, 'exits 0', { output })
  t.match(output, /shared: local\/constant \d+\.\d+× \(saturated closed-loop rows; median of \d+ paired 1 s slices, quartiles /, 'the local ratio, from paired slices')
  t.match(output, /shared: forwarded\/constant \d+\.\d+×; forwarded p99 judged on the saturated closed-loop rows: \d+ ms/, 'the forwarded line')
  t.match(output, /shared: local p99 judged at the fixed offered rate \(open loop, \d+ req\/s\): \d+\.\d+ ms/, 'the open loop\'s local line')
  t.match(output, /shared: forwarded p99 judged at the fixed offered rate \(open loop, \d+ req\/s\): \d+\.\d+ ms/, 'the open loop\'s forwarded line')
})

t.test('api-balance --stallTrace 1: the stalls of the open-loop rows and what each slow request overlapped', async t => {
  t.setTimeout(360_000)
  const { code, output } = await runBench(['bench/api-balance.ts', '--seconds', '1', '--rounds', '1', '--members', '50', '--connections', '4', '--placement', 'shared', '--stallTrace', '1'])
  t.equal(code, 0, 'exits 0', { output })
  for (const row of ['constant \\(bare Fastify\\)', 'local keys \\(\\d+\\)']) {
    t.match(output, new RegExp(`stall trace, shared round 1 ${row}: server \\d+ stalls > 2 ms in \\d+\\.\\d s`), `${row}: the server's stalls`)
    t.match(output, new RegExp(`stall trace, shared round 1 ${row}: loader \\d+ stalls > 2 ms in \\d+\\.\\d s`), `${row}: the loader's stalls`)
    t.match(output, new RegExp(`stall trace, shared round 1 ${row}: \\d+ \\([\\d.]+ %\\) of \\d+ requests over 2 ms; each by the longest stall it overlapped`), `${row}: the slow requests' causes`)
  }
})
