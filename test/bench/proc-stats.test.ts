// bench/lib/proc-stats.ts threadCpuByName(): the per-thread CPU split the engine throughput bench
// prints (main thread against V8's worker threads). Linux only (/proc).
import { existsSync } from 'node:fs'
import t from 'tap'
import { threadCpuByName, threadCpuSince } from '../../bench/lib/proc-stats.ts'

t.test('the main thread is named and its CPU grows with work done on it', { skip: existsSync('/proc/self/task') ? false : 'no /proc' }, async t => {
  const before = threadCpuByName()
  const names = [...before.keys()]
  // The main thread's comm is the process's name (node, or MainThread on newer Node).
  t.ok(names.some(n => n === 'node' || n === 'MainThread'), `a main thread among ${names.join(', ')}`)
  // 100 ms of the main thread's own CPU (not wall time: the machine may be loaded).
  const start = process.threadCpuUsage()
  const cpuMs = (): number => { const d = process.threadCpuUsage(start); return (d.user + d.system) / 1000 }
  let x = 0
  while (cpuMs() < 100) for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + 1)
  t.ok(x > 0)
  const used = new Map(threadCpuSince(before))
  const main = (used.get('MainThread') ?? 0) + (used.get('node') ?? 0)
  t.ok(main >= 50, `the busy loop shows on the main thread (${main} ms)`)
  const sorted = threadCpuSince(before).map(([, ms]) => ms)
  t.same(sorted, [...sorted].sort((a, b) => b - a), 'largest first')
  t.ok(sorted.every(ms => ms > 0), 'only threads that used CPU')
})
