// CPU and wall time of opening a new embedded database and migrating it (what every embedded
// start on a new data dir pays), in four cases, each in a fresh child process so no case warms
// another: initdb (no template), template cold (built into an empty cache dir, then copied),
// template warm (copied), and reopening an existing data dir. docs/archive.md "Embedded
// PostgreSQL"; figures in docs/benchmarks.md "Embedded start and test suite time".
// Usage: node bench/embedded-db-open.ts [rounds]   (default 3)
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'

type Case = 'initdb' | 'template-cold' | 'template-warm' | 'reopen'

if (process.argv[2] === '--child') {
  const [, , , kind, dataDir, cacheDir] = process.argv as [string, string, string, Case, string, string]
  const { openDatabase } = await import('../lib/db/database.ts')
  const { migrate } = await import('../lib/db/migrate.ts')
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const db = await openDatabase({ dataDir, pgliteCacheDir: kind === 'initdb' ? null : cacheDir })
  const opened = process.cpuUsage(cpu0)
  await migrate(db)
  await db.close()
  const total = process.cpuUsage(cpu0)
  const s = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1e6
  console.log(JSON.stringify({ openCpuS: s(opened), totalCpuS: s(total), wallS: (performance.now() - t0) / 1000 }))
} else {
  const rounds = Number(process.argv[2] ?? 3)
  const root = mkdtempSync(join(tmpdir(), 'embedded-db-open-'))
  const run = (kind: Case, dataDir: string, cacheDir: string): { openCpuS: number, totalCpuS: number, wallS: number } =>
    JSON.parse(execFileSync(process.execPath, [import.meta.filename, '--child', kind, dataDir, cacheDir], { encoding: 'utf8' })) as { openCpuS: number, totalCpuS: number, wallS: number }
  try {
    for (let round = 1; round <= rounds; round++) {
      const cache = join(root, `cache-${round}`)
      const rows: Array<[Case, string, string]> = [
        ['initdb', join(root, `a-${round}`), cache],
        ['template-cold', join(root, `b-${round}`), cache],
        ['template-warm', join(root, `c-${round}`), cache],
        ['reopen', join(root, `c-${round}`), cache]
      ]
      for (const [kind, dir, cacheDir] of rows) {
        const load = loadavg()[0]!.toFixed(1)
        const r = run(kind, dir, cacheDir)
        console.log(`round ${round} ${kind.padEnd(13)} open ${r.openCpuS.toFixed(2)} s CPU, open+migrate+close ${r.totalCpuS.toFixed(2)} s CPU, ${r.wallS.toFixed(2)} s wall (load ${load})`)
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}
