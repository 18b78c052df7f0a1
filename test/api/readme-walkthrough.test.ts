// Runs the README's walk-through (the ```sh blocks between the walkthrough markers) with bash, as
// written, on the embedded default from the repository. Three things differ from a newcomer's
// run, so that runs never collide with each other or with anything else on the machine: the data
// directory is a temporary one (REWARDS_DATA_DIR), the port a free one (REWARDS_HTTP_PORT, with
// 127.0.0.1:8080 in the text replaced by it) and the log file a temporary one (`rewards.log` in
// the text replaced by its path). The script runs with job control on (`set -m`), as in the
// interactive shell a reader types it into, so `kill %1` stops the whole background job (npx and
// the node process it starts), and `wait %1` must return only once the shutdown is over.
//
// Robust under load (it failed once on a busy machine): the port is taken outside the kernel's
// ephemeral range, so no other test's port-0 listener can take it between the check and the
// platform's bind (and the readiness loop cannot be answered by someone else's server); the log
// file is per run, not ./rewards.log shared by every run in the repository; the whole run may take
// 5 minutes (start-up of the embedded PGlite, the log and 12 tasks on a loaded machine). What it
// checks is unchanged.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { readAdminRunFile } from '../../api/auth/admin-run-file.ts'
import { cleanEnv, portIsFree, ROOT } from '../cli/cli-helpers.ts'

/** A free port below the ephemeral range (32768+ on Linux), where no port-0 listener lands. */
async function quietPort (): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (await portIsFree(port)) return port
  }
  throw new Error('no free port in 20000–31999')
}

export function walkthroughScript (readme: string): string {
  const section = /<!-- walkthrough:start -->([\s\S]*?)<!-- walkthrough:end -->/.exec(readme)?.[1]
  if (section === undefined) throw new Error('README has no walkthrough section')
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map(m => m[1]).join('\n')
}

/** Kills a platform the script left running (it failed or timed out before `kill %1`): the
 *  background job has its own process group, so killing bash does not reach it. */
function stopPlatform (dataDir: string): void {
  const running = readAdminRunFile(dataDir)
  if (running !== undefined) try { process.kill(running.pid, 'SIGKILL') } catch { /* gone */ }
}

t.test('the README walk-through runs as written', async t => {
  const script = walkthroughScript(readFileSync(join(ROOT, 'README.md'), 'utf8'))
  t.match(script, /npx rewards clients create/)
  t.match(script, /> rewards\.log /, 'the platform logs to rewards.log')
  const port = await quietPort()
  const dataDir = mkdtempSync(join(tmpdir(), 'walkthrough-'))
  const logFile = join(dataDir, 'rewards.log')
  t.teardown(() => { stopPlatform(dataDir); rmSync(dataDir, { recursive: true, force: true }) })
  const text = `set -euo pipefail -m\n${script.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`).replaceAll('rewards.log', logFile)}`
  const result = await new Promise<{ code: number | null, stdout: string, stderr: string }>((resolve, reject) => {
    const child = spawn('bash', ['-c', text], { cwd: ROOT, env: cleanEnv({ REWARDS_DATA_DIR: dataDir, REWARDS_HTTP_PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', c => { stdout += c })
    child.stderr.on('data', c => { stderr += c })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      stopPlatform(dataDir)
      let log = ''
      try { log = readFileSync(logFile, 'utf8').slice(-3000) } catch { /* not written yet */ }
      reject(new Error(`walk-through did not finish in 300 s\n${stdout}\n${stderr}\n--- log tail ---\n${log}`))
    }, 300_000)
    child.on('close', code => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
  t.equal(result.code, 0, `the walk-through exits 0\n${result.stderr.slice(-2000)}`)
  t.match(result.stdout, '{"accepted":2,"eventIds":["stay-1001","dinner-1002"]}', 'events accepted')
  t.match(result.stdout, /"redemptionId":"redeem-2001".*"status":"CONFIRMED"/, 'the redemption is confirmed over HTTP')
  t.match(result.stdout, '{"memberId":"M-1001","earned":5490,"reversed":0,"redeemed":2500,"available":2990,"qualifyingPoints":5490,"tier":"MEMBER"', 'the balance is as the README says')
  t.match(result.stdout, /"items":\[\{"seq":3,"kind":"REDEMPTION"/, 'activity newest first')
  // curl prints no newline: the last answer (GET by id) follows the activity page directly.
  t.match(result.stdout.trim(), /"nextCursor":null\}\{"redemptionId":"redeem-2001","memberId":"M-1001",[^{]*"status":"CONFIRMED",.*\}$/s, 'the decision again by id alone (GET /v1/redemptions/redeem-2001)')
  // `wait %1` returned only once the shutdown was over: the log already ends with it.
  const log = readFileSync(logFile, 'utf8')
  t.match(log, /"msg":"stopped"/, `the platform had stopped cleanly when the script ended\n${log.slice(-1500)}`)
  t.ok(await portIsFree(port), 'and its port is free')
  t.same(log.split('\n').filter(line => /"level":"(error|fatal)"/.test(line)), [], 'no error in the log')
})
