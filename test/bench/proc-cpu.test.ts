// bench/lib/proc-cpu.ts: the per-process CPU split ha-failover.ts prints over a cold start's span
// (known only once the done lines are in). Linux only (/proc).
import { existsSync } from 'node:fs'
import t from 'tap'
import { describeCpu, findPid, processCpuMs, ProcCpuSampler } from '../../bench/lib/proc-cpu.ts'

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
