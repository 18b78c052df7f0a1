// runPlatform (what `rewards start` runs) in-process with a role table of our own: roles that are
// not built are reported and never faked (explicitly requested: readiness stays 503; with `all`:
// skipped), shutdown runs readiness-false → roles close → HTTP close, and a role's fatal error
// ends the run with exit status 1.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import t, { type Test } from 'tap'
import { loadConfig } from '../../lib/config.ts'
import { createLogger } from '../../lib/logger.ts'
import { rewardsPlatform } from '../../cli/rewards-platform.ts'
import { runPlatform } from '../../cli/run-platform.ts'
import type { RoleContext, RoleEntry, RoleName } from '../../cli/roles/role.ts'
import { inProcessSignals } from './in-process-signals.ts'

interface Harness {
  readonly events: string[]
  readonly lines: Array<{ level: string, msg: string, port?: number }>
  port (): Promise<number>
  context (): RoleContext
}

function harness (): { h: Harness, table: Record<RoleName, RoleEntry>, stream: PassThrough } {
  const events: string[] = []
  const lines: Array<{ level: string, msg: string, port?: number }> = []
  let ctx: RoleContext | undefined
  let portSeen: (port: number) => void = () => {}
  const portPromise = new Promise<number>(resolve => { portSeen = resolve })
  const table: Record<RoleName, RoleEntry> = {
    processor: {
      summary: 'fake processor',
      factory: context => {
        ctx = context
        let started = false
        context.readiness.add('processor', () => ({ ready: started, detail: started ? 'fake running' : 'fake starting' }))
        return {
          name: 'processor',
          async start () { started = true; events.push('start processor') },
          async close () { events.push(`close processor (ready=${String(context.readiness.report().ready)})`) }
        }
      }
    },
    api: { factory: null, summary: 'fake api, not built' },
    archiver: { factory: null, summary: 'fake archiver, not built' },
    auth: { factory: null, summary: 'fake auth, not built' },
    notifications: { factory: null, summary: 'fake notifications, not built' }
  }
  const stream = new PassThrough()
  stream.on('data', chunk => {
    for (const line of String(chunk).split('\n').filter(Boolean)) {
      const parsed = JSON.parse(line) as { level: string, msg: string, port?: number }
      lines.push(parsed)
      if (parsed.msg.startsWith('HTTP listening')) portSeen(parsed.port!)
    }
  })
  return { h: { events, lines, port: () => portPromise, context: () => ctx! }, table, stream }
}

async function run (t: Test, requested: RoleName[] | 'all') {
  const dir = mkdtempSync(join(tmpdir(), 'rewards-run-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const config = loadConfig({ env: {}, flags: { httpPort: '0', dataDir: dir }, cwd: dir })
  const { h, table, stream } = harness()
  const logger = createLogger({ level: 'info', destination: stream })
  const signals = inProcessSignals()
  t.teardown(() => signals.release())
  const done = runPlatform({ config, logger, platform: rewardsPlatform(config), requested, createTopics: false, signals, roles: table })
  return { h, done, base: `http://127.0.0.1:${await h.port()}` }
}

async function until (condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

t.test('an explicitly requested role that is not built: said so, and never ready', async t => {
  const { h, done, base } = await run(t, ['processor', 'api'])
  await until(() => h.events.includes('start processor'))
  t.ok(h.lines.some(l => l.level === 'warn' && l.msg === 'role api is not available yet in this build: fake api, not built'))
  t.notOk(h.lines.some(l => /role archiver/.test(l.msg)), 'roles not asked for are not mentioned')
  const ready = await fetch(`${base}/health/ready`)
  t.equal(ready.status, 503)
  t.match(await ready.json(), { error: { code: 'NOT_READY', message: 'not ready: api: role not available in this build' } })
  process.kill(process.pid, 'SIGTERM')
  t.equal(await done, 0)
  t.same(h.events, ['start processor', 'close processor (ready=false)'], 'readiness was false before the role closed')
  await t.rejects(fetch(`${base}/health/live`), 'the listener is closed after the roles')
})

t.test('--role all skips what is not built and is ready with the rest', async t => {
  const { h, done, base } = await run(t, 'all')
  await until(async () => (await fetch(`${base}/health/ready`)).status === 200)
  for (const name of ['api', 'archiver', 'auth', 'notifications']) {
    t.ok(h.lines.some(l => l.level === 'warn' && l.msg.startsWith(`role ${name} is not available yet in this build (skipped)`)), `${name} skipped`)
  }
  process.kill(process.pid, 'SIGINT')
  t.equal(await done, 0)
})

t.test('a role reporting a fatal error shuts the process down with exit status 1', async t => {
  const { h, done } = await run(t, ['processor'])
  await until(() => h.events.includes('start processor'))
  h.context().fatal(new Error('stream application failed'))
  t.equal(await done, 1)
  t.ok(h.lines.some(l => l.level === 'error' && l.msg === 'fatal: stream application failed'))
  t.same(h.events, ['start processor', 'close processor (ready=false)'])
})
