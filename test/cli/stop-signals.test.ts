// Stopping `rewards start` as people do (docs/cli.md "Stopping"): through `npx rewards start` and
// `npm start` — SIGTERM to the process group as a shell's `kill %1` sends it, and to the npx
// process alone — and with SIGHUP. Each must end in the graceful shutdown ("stopped"), exit 0, and
// leave the port free; npx says nothing about the Node engine. The signal routing itself (early
// signals, repeats, a second signal) is in graceful-stop.test.ts.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { cleanEnv, freePort, portIsFree, ROOT, RunningCli, waitForStatus } from './cli-helpers.ts'

interface Launched {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** `command args…` from the repository, in a process group of its own (as a shell's job). */
function launch (t: Test, command: string, args: string[], port: number): Launched {
  const dataDir = mkdtempSync(join(tmpdir(), 'stop-signals-'))
  const child = spawn(command, args, {
    cwd: ROOT,
    env: cleanEnv({ REWARDS_DATA_DIR: dataDir, REWARDS_HTTP_PORT: String(port), REWARDS_LOG_FORMAT: 'json' }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true
  })
  let output = ''
  child.stdout!.on('data', chunk => { output += chunk })
  child.stderr!.on('data', chunk => { output += chunk })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => child.on('close', (code, signal) => resolve({ code, signal })))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try { process.kill(-child.pid!, 'SIGKILL') } catch { /* gone */ }
      await exited
    }
    rmSync(dataDir, { recursive: true, force: true })
  })
  return { child, output: () => output, exited }
}

async function bounded<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

async function stopsCleanly (t: Test, launched: Launched, port: number, send: () => void): Promise<void> {
  await waitForStatus(`http://127.0.0.1:${port}/health/ready`, 200, 180_000)
  send()
  const exit = await bounded(launched.exited, 40_000, 'exit')
  // The launcher (npm) exits only after the server did: its log already says "stopped".
  t.same(exit, { code: 0, signal: null }, 'exit 0', { output: launched.output().slice(-2000) })
  t.match(launched.output(), /"msg":"stopped"/, 'the graceful shutdown ran to its end')
  t.notMatch(launched.output(), /second SIG/, 'the signal npm forwards is not taken for a second one')
  t.ok(await portIsFree(port), 'the port is free')
}

// Each case starts a real platform (30–60 s on a loaded machine).
t.setTimeout(900_000)

t.test('npx rewards start: SIGTERM to the process group (kill %1)', async t => {
  const port = await freePort()
  const npx = launch(t, 'npx', ['rewards', 'start', '--role', 'processor'], port)
  await stopsCleanly(t, npx, port, () => process.kill(-npx.child.pid!, 'SIGTERM'))
  t.notMatch(npx.output(), /EBADENGINE|engine/i, 'nothing about the Node engine')
})

t.test('npx rewards start: SIGTERM to the npx process alone', async t => {
  const port = await freePort()
  const npx = launch(t, 'npx', ['rewards', 'start', '--role', 'processor'], port)
  await stopsCleanly(t, npx, port, () => npx.child.kill('SIGTERM'))
})

t.test('npm start: Ctrl-C (SIGINT to the process group)', async t => {
  const port = await freePort()
  const npm = launch(t, 'npm', ['start', '--', '--role', 'processor'], port)
  await stopsCleanly(t, npm, port, () => process.kill(-npm.child.pid!, 'SIGINT'))
})

t.test('SIGHUP stops cleanly too', async t => {
  const cli = new RunningCli(['start', '--role', 'processor', '--http-port', '0'], { cwd: t.testdir({}), env: cleanEnv() })
  t.teardown(() => cli.kill())
  await waitForStatus(`http://127.0.0.1:${await cli.httpPort()}/health/ready`, 200)
  cli.child.kill('SIGHUP')
  t.same(await cli.waitForExit(30_000), { code: 0, signal: null })
  t.ok(cli.lines.some(l => l.msg === 'shutting down (SIGHUP): readiness is now false'))
  t.ok(cli.lines.some(l => l.msg === 'stopped'))
})
