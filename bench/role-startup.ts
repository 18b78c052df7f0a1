// How long `rewards start --role <roles>` takes to start, and the CPU it spends doing it: the
// process is spawned as an operator would (cli/rewards.ts), on a fresh data directory, and timed
// from spawn to
//   ready line   the CLI's "ready on …" log line (every role set up and started)
//   ready        GET /health/ready answers 200 (processor: RUNNING, every task restored)
// with the CPU time (user + system, /proc/<pid>/stat) the process had used by then. Then SIGTERM.
// (No input is produced: with nothing to process, ready is the point from which the first
// transaction can commit.) Each row is one fresh process; --runs repeats them.
//
//   node bench/role-startup.ts [--role processor] [--backend kafka|embedded] [--runs 3]
// On Kafka it uses REWARDS_KAFKA_BROKERS (infra/local/services.sh env); REWARDS_DATABASE_URL and
// REWARDS_REDIS_URL are passed through when set (unset: embedded PostgreSQL, in-process cache).
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { backendOf, parseArgs } from './lib/cli.ts'

const opts = parseArgs({ role: 'processor', backend: 'kafka', runs: 3 })
const backend = backendOf(opts.backend)
const CLOCK_TICKS = 100 // USER_HZ on Linux

interface Run { readyLine: number, ready: number, cpuMs: number }

function cpuMsOf (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1000 / CLOCK_TICKS // utime, stime
}

async function once (index: number): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'role-startup-'))
  const env: Record<string, string> = { ...process.env as Record<string, string>, REWARDS_LOG_FORMAT: 'json', REWARDS_HTTP_PORT: '0', REWARDS_DATA_DIR: dataDir, REWARDS_APPLICATION_ID: `startup-${process.pid}-${index}`, REWARDS_TOPIC_PREFIX: `startup-${process.pid}-${index}-` }
  if (backend === 'embedded') delete env.REWARDS_KAFKA_BROKERS
  else if (env.REWARDS_KAFKA_BROKERS === undefined) throw new Error('REWARDS_KAFKA_BROKERS is not set: eval "$(bash infra/local/services.sh env)"')
  const started = performance.now()
  const child = spawn(process.execPath, [new URL('../cli/rewards.ts', import.meta.url).pathname, 'start', '--role', opts.role, '--create-topics'], { env, stdio: ['ignore', 'ignore', 'pipe'] }) // the log goes to stderr
  let out = ''
  let base: string | undefined
  let readyLine = NaN
  child.stderr.on('data', (chunk: Buffer) => {
    out += chunk.toString()
    const m = /"msg":"ready on (http:\/\/[^ ]+)/.exec(out)
    if (m !== null && base === undefined) { base = m[1]!; readyLine = performance.now() - started }
  })
  const exited = new Promise<number | null>(resolve => child.once('exit', resolve))
  let ready = NaN
  let cpuMs = NaN
  try {
    const deadline = Date.now() + 180_000
    while (Number.isNaN(ready)) {
      if (Date.now() > deadline) throw new Error(`not ready within 180 s:\n${out.slice(-2000)}`)
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${out.slice(-2000)}`)
      const host = base ?? /"address":"(http:\/\/[^"]+)"/.exec(out)?.[1]
      if (host !== undefined && (await fetch(`${host}/health/ready`).catch(() => undefined))?.status === 200) {
        ready = performance.now() - started
        cpuMs = cpuMsOf(child.pid!)
      }
      await sleep(50)
    }
  } finally {
    child.kill('SIGTERM')
    await exited
    rmSync(dataDir, { recursive: true, force: true })
  }
  return { readyLine, ready, cpuMs }
}

const runs: Run[] = []
for (let i = 0; i < opts.runs; i++) runs.push(await once(i))
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
console.log(`\nrewards start --role ${opts.role}, ${backend} log, database ${process.env.REWARDS_DATABASE_URL !== undefined ? 'PostgreSQL' : 'embedded'}, redis ${process.env.REWARDS_REDIS_URL !== undefined ? 'on' : 'off'}, ${opts.runs} run(s), node ${process.version}`)
console.log('| run | "ready on" line s | /health/ready 200 s | CPU to ready s |')
console.log('|---|---:|---:|---:|')
const s = (ms: number): string => (ms / 1000).toFixed(2)
runs.forEach((r, i) => { console.log(`| ${i + 1} | ${s(r.readyLine)} | ${s(r.ready)} | ${s(r.cpuMs)} |`) })
console.log(`| median | ${s(median(runs.map(r => r.readyLine)))} | ${s(median(runs.map(r => r.ready)))} | ${s(median(runs.map(r => r.cpuMs)))} |`)
