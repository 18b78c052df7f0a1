// Runs the README's walk-through (the ```sh blocks between the walkthrough markers) with bash, as
// written, on the embedded default from the repository. Two things differ from a newcomer's run,
// both through the platform's own configuration: the data directory is a temporary one
// (REWARDS_DATA_DIR) and the port a free one (REWARDS_HTTP_PORT, with 127.0.0.1:8080 in the text
// replaced by it), so the test never touches ./data or collides with anything on 8080. The
// script runs with job control on (`set -m`), as in the interactive shell a reader types it into,
// so `kill %1` stops the whole background job (npx and the node process it starts).
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { cleanEnv, freePort, ROOT } from '../cli/cli-helpers.ts'

export function walkthroughScript (readme: string): string {
  const section = /<!-- walkthrough:start -->([\s\S]*?)<!-- walkthrough:end -->/.exec(readme)?.[1]
  if (section === undefined) throw new Error('README has no walkthrough section')
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map(m => m[1]).join('\n')
}

t.test('the README walk-through runs as written', async t => {
  const script = walkthroughScript(readFileSync(join(ROOT, 'README.md'), 'utf8'))
  t.match(script, /npx rewards clients create/)
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'walkthrough-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const text = `set -euo pipefail -m\n${script.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`)}`
  const result = await new Promise<{ code: number | null, stdout: string, stderr: string }>((resolve, reject) => {
    const child = spawn('bash', ['-c', text], { cwd: ROOT, env: cleanEnv({ REWARDS_DATA_DIR: dataDir, REWARDS_HTTP_PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', c => { stdout += c })
    child.stderr.on('data', c => { stderr += c })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`walk-through did not finish in 150 s\n${stdout}\n${stderr}`)) }, 150_000)
    child.on('close', code => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
  t.equal(result.code, 0, `the walk-through exits 0\n${result.stderr.slice(-2000)}`)
  t.match(result.stdout, '{"accepted":2,"eventIds":["stay-1001","dinner-1002"]}', 'events accepted')
  t.match(result.stdout, /"redemptionId":"redeem-2001".*"status":"CONFIRMED"/, 'the redemption is confirmed over HTTP')
  t.match(result.stdout, '{"memberId":"M-1001","earned":5490,"reversed":0,"redeemed":2500,"available":2990,"qualifyingPoints":5490,"tier":"MEMBER"', 'the balance is as the README says')
  t.match(result.stdout, /"items":\[\{"seq":3,"kind":"REDEMPTION"/, 'activity newest first')
  let log = ''
  for (let i = 0; i < 300 && !log.includes('"msg":"stopped"'); i++) {
    log = readFileSync(join(ROOT, 'rewards.log'), 'utf8')
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  t.match(log, /"msg":"stopped"/, `the platform stopped cleanly\n${log.slice(-1500)}`)
  t.same(log.split('\n').filter(line => /"level":"(error|fatal)"/.test(line)), [], 'no error in the log')
  rmSync(join(ROOT, 'rewards.log'), { force: true })
})
