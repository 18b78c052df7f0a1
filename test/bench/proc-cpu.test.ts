// bench/lib/proc-cpu.ts: the per-process CPU split ha-failover.ts prints over a cold start's span
// (known only once the done lines are in). Linux only (/proc).
import { existsSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import t from 'tap'
import { describeCpu, describeThreads, ENDED_THREADS, findPid, processCpuMs, ProcCpuSampler, threadKind } from '../../bench/lib/proc-cpu.ts'

const skip = existsSync('/proc/self/stat') ? false : 'no /proc'

/** Busy on this thread for `ms` of its own CPU (not wall time: the machine may be loaded). */
function burn (ms: number): void {
  const start = process.threadCpuUsage()
  let x = 0
  while (true) {
    for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + 1)
    const d = process.threadCpuUsage(start)
    if ((d.user + d.system) / 1000 >= ms) break
  }
}

t.test('a process\'s CPU, all threads, and none for a pid that is gone', { skip }, async t => {
  const before = processCpuMs(process.pid)!
  burn(100)
  t.ok(processCpuMs(process.pid)! - before >= 50, 'the busy loop shows')
  t.equal(processCpuMs(2 ** 22 + 12345), undefined, 'no such process')
  t.equal(findPid('kafka.Kafka-no-such-command-line'), undefined, 'no process with that command line')
})

t.test('the window between the samples nearest its ends', { skip }, async t => {
  const sampler = new ProcCpuSampler(() => new Map([['me', [process.pid]], ['gone', [2 ** 22 + 12345]]]), 20)
  await new Promise(resolve => setTimeout(resolve, 100))
  const from = Date.now()
  burn(150)
  await new Promise(resolve => setTimeout(resolve, 60))
  const to = Date.now()
  await new Promise(resolve => setTimeout(resolve, 100))
  sampler.stop()
  const cpu = sampler.window(from, to)!
  t.ok(cpu !== undefined, 'a window')
  t.ok(cpu.byName.get('me')! >= 80, `this process's busy loop inside it (${cpu.byName.get('me')} ms)`)
  t.equal(cpu.byName.get('gone'), 0, 'nothing for a process that is not there')
  t.ok(cpu.machineBusyMs >= cpu.byName.get('me')! - 20 && cpu.machineTotalMs >= cpu.machineBusyMs, 'the machine at least as busy')
  const line = describeCpu(cpu, 1000)
  t.match(line, /^CPU over \d+ ms: me \d+ ms \([\d.]+ µs\/record\), gone 0 ms \(0\.0 µs\/record\); together \d+ ms/, line)
  t.equal(sampler.window(to, from), undefined, 'no window that ends before it starts')
})

t.test('thread kinds by name', async t => {
  t.equal(threadKind(10, 10, 'MainThread'), 'main', 'the thread whose id is the pid')
  t.equal(threadKind(10, 11, 'V8Worker'), 'V8 workers')
  t.equal(threadKind(10, 12, 'libuv-worker'), 'libuv pool')
  t.equal(threadKind(10, 13, 'rocksdb:low'), 'RocksDB background')
  t.equal(threadKind(10, 14, 'node'), 'other threads')
})

t.test('one process split by thread: the main thread, and a thread that ended inside the window', { skip }, async t => {
  const sampler = new ProcCpuSampler(() => new Map([['me', [process.pid]]]), 20, () => process.pid)
  await new Promise(resolve => setTimeout(resolve, 60))
  const from = Date.now()
  burn(120)
  // A worker thread (its own OS thread) busy for ~150 ms of its CPU, then gone before the window ends.
  const code = 'const s = process.threadCpuUsage(); let x = 0; while (true) { for (let i = 0; i < 10000; i++) x += Math.sqrt(x + 1); const d = process.threadCpuUsage(s); if ((d.user + d.system) / 1000 >= 150) break }'
  await new Promise<void>((resolve, reject) => { const w = new Worker(code, { eval: true }); w.on('error', reject); w.on('exit', () => resolve()) })
  await new Promise(resolve => setTimeout(resolve, 60))
  const to = Date.now()
  await new Promise(resolve => setTimeout(resolve, 60))
  sampler.stop()
  const threads = sampler.window(from, to)?.threads
  t.ok(threads !== undefined, 'a split')
  t.ok(threads!.get('main')! >= 80, `the main thread's busy loop (${threads!.get('main')} ms)`)
  t.ok(threads!.get(ENDED_THREADS)! >= 100, `the ended worker's busy loop (${threads!.get(ENDED_THREADS)} ms)`)
  t.match(describeThreads(threads!), /^(main|threads ended in the window) \d+ ms, /, describeThreads(threads!))
})
