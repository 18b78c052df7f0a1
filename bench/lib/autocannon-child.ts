// bench/api-balance.ts's saturated load: autocannon in a child process (it aggregates its
// histograms only on a main thread: a child process, not a worker), closed loop.
import { spawn } from 'node:child_process'
import type { Load } from './paired-slices.ts'

const LOADER = `
const workerData = JSON.parse(process.env.BENCH_LOAD)
const autocannon = require(${JSON.stringify(new URL('../../node_modules/autocannon/autocannon.js', import.meta.url).pathname)})
autocannon({ url: workerData.url, connections: workerData.connections, duration: workerData.seconds, requests: workerData.requests }, (err, r) => {
  if (err) throw err
  const cpu = process.cpuUsage()
  process.stdout.write(JSON.stringify({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors, total: r.requests.total, loaderCpuUs: cpu.user + cpu.system }))
})`

/** `connections` keep-alive connections sending GETs of `paths` in turn for `seconds`; `pinned`:
 *  the load generator alone on CPU 1 (with taskset). */
export function autocannon (job: { url: string, paths: string[], headers: Record<string, string>, connections: number, seconds: number, pinned: boolean }): Promise<Load> {
  return new Promise((resolve, reject) => {
    const load = { url: job.url, connections: job.connections, seconds: job.seconds, requests: job.paths.map(path => ({ method: 'GET', path, headers: job.headers })) }
    const [command, args] = job.pinned ? ['taskset', ['-c', '1', process.execPath, '-e', LOADER]] : [process.execPath, ['-e', LOADER]]
    const child = spawn(command, args, { env: { ...process.env, BENCH_LOAD: JSON.stringify(load) }, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', c => { out += c })
    child.once('error', reject)
    child.once('close', code => code === 0 ? resolve(JSON.parse(out) as Load) : reject(new Error(`load generator exited ${code}`)))
  })
}
