// `rewards start --role processor` runs within its memory budget without any flag: the launcher
// replaced the process (same pid) by one with MALLOC_ARENA_MAX and a V8 old-space cap, and the
// processor reports the budget and RocksDB's memory on /metrics (docs/engine.md "Memory budget").
// Its malloc asks for transparent huge pages (GLIBC_TUNABLES glibc.malloc.hugetlb=1): its mappings
// carry the kernel's huge-page advice.
import { existsSync, readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { cleanEnv, RunningCli, waitForStatus } from './cli-helpers.ts'

const MIB = 1024 * 1024

function environOf (pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)
  return new Map(entries.map(e => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]))
}

function metric (text: string, pattern: RegExp): number {
  const match = pattern.exec(text)
  return match === null ? Number.NaN : Number(match[1])
}

const start = async (t: Test, env: Record<string, string>): Promise<{ cli: RunningCli, metrics: string }> => {
  const cwd = t.testdir({})
  const cli = new RunningCli(['start', '--role', 'processor', '--http-port', '0'], { cwd, env })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${await cli.httpPort()}`
  await waitForStatus(`${base}/health/ready`, 200)
  return { cli, metrics: await (await fetch(`${base}/metrics`)).text() }
}

t.test('default: MALLOC_ARENA_MAX=2, huge pages for malloc, a 256 MiB old space and 8 MiB semi-spaces, in the same process', async t => {
  const env = cleanEnv()
  delete env.MALLOC_ARENA_MAX
  delete env.NODE_OPTIONS
  delete env.GLIBC_TUNABLES
  const { cli, metrics } = await start(t, env)
  const pid = cli.child.pid!
  const environ = environOf(pid)
  t.equal(environ.get('MALLOC_ARENA_MAX'), '2')
  t.equal(environ.get('REWARDS_MEMORY_CAPS_APPLIED'), '512')
  t.equal(environ.get('GLIBC_TUNABLES'), 'glibc.malloc.hugetlb=1')
  if (existsSync('/sys/kernel/mm/transparent_hugepage/enabled')) {
    // malloc madvise()s what it maps (VmFlags "hg"); whether the kernel then grants huge pages
    // depends on its setting and free memory, so that is only reported.
    const advised = readFileSync(`/proc/${pid}/smaps`, 'utf8').match(/^VmFlags:.* hg\b/gm)?.length ?? 0
    const hugeKib = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1]
    t.ok(advised > 0, `malloc asked for huge pages on ${advised} mappings (AnonHugePages ${hugeKib} KiB)`)
  }
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  t.ok(cmdline.includes('--max-old-space-size=256') && cmdline.includes('--max-semi-space-size=8'), 'node flags in the new image')
  t.ok(cmdline.includes('--initial-old-space-size=128'), 'the initial old space: half the cap')
  t.equal(metric(metrics, /rewards_memory_budget_bytes\{part="total"\} (\d+)/), 512 * MIB)
  const heapLimit = metric(metrics, /rewards_memory_budget_bytes\{part="v8_heap_limit"\} (\d+)/)
  // V8's own default on this machine is several GiB; capped: 256 MiB old space + the young
  // generation's reserve (3 × the 8 MiB semi-space: budget / 64).
  t.equal(heapLimit, (256 + 3 * 8) * MIB, `V8 heap limit ${heapLimit / MIB} MiB`)
  t.equal(metric(metrics, /rewards_memory_budget_bytes\{part="cache"\} (\d+)/), 32 * MIB)
  t.ok(metric(metrics, /rewards_rocksdb_memory_bytes\{store="[^"]+",kind="memtables"\} (\d+)/) > 0, 'RocksDB memtables per store')
  t.ok(metric(metrics, /rewards_rocksdb_open_instances\{store="[^"]+"\} (\d+)/) >= 1, 'open instances per store')
  t.ok(metric(metrics, /process_resident_memory_bytes (\d+)/) > 0, 'process RSS (prom-client default)')
  const line = cli.lines.find(l => (l as { event?: string }).event === 'memory.budget')
  t.match(line, { budgetMib: 512, cacheMib: 32, rocksDbBlockCacheKibPerStore: 512, rocksDbMemtableKibPerStore: 1024 })
})

t.test('caps the user set are kept; the budget scales the rest', async t => {
  const { cli, metrics } = await start(t, cleanEnv({ MALLOC_ARENA_MAX: '4', NODE_OPTIONS: '--max-old-space-size=300', REWARDS_MEMORY_BUDGET_MIB: '1024' }))
  const pid = cli.child.pid!
  t.equal(environOf(pid).get('MALLOC_ARENA_MAX'), '4')
  t.notOk(readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--max-old-space-size'), 'no old-space flag added')
  const heapLimit = metric(metrics, /rewards_memory_budget_bytes\{part="v8_heap_limit"\} (\d+)/)
  // NODE_OPTIONS' 300 MiB + the young generation's reserve at the 1024 MiB budget (3 × 16 MiB).
  t.equal(heapLimit, (300 + 3 * 16) * MIB, `NODE_OPTIONS' 300 MiB kept (V8 heap limit ${heapLimit / MIB} MiB)`)
  t.equal(metric(metrics, /rewards_memory_budget_bytes\{part="cache"\} (\d+)/), 64 * MIB)
})
