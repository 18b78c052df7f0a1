// A second `rewards start` on the data directory of a running instance (a misconfigured second
// replica on a shared volume): it must stop at once, naming the holder, and touch nothing. Tried
// in the holder's PID namespace and in another one (`unshare --pid`, as a second container sees
// it), while the holder is mid-transaction under traffic.
import { freePort, RunningCli } from '../cli/cli-helpers.ts'
import type { FaultCheck } from './outage-faults.ts'
import type { PlatformSupervisor } from './platform-supervisor.ts'

const FAIL_FAST_MS = 30_000

export async function sharedDirectoryFault (o: { supervisor: PlatformSupervisor, env: Record<string, string>, holder: number, namespace: 'same' | 'pid', log: (line: string) => void }): Promise<FaultCheck> {
  const holder = o.supervisor.instances[o.holder]!
  const holderPid = holder.cli?.child.pid
  const port = await freePort()
  o.log(`shared-dir: a second process on instance ${o.holder}'s data directory (${o.namespace === 'pid' ? 'another PID namespace' : 'same PID namespace'})`)
  const started = Date.now()
  const second = new RunningCli(['start', '--role', 'all'], {
    cwd: holder.spec.dataDir,
    env: { ...o.env, REWARDS_DATA_DIR: holder.spec.dataDir, REWARDS_HTTP_PORT: String(port) },
    detached: true,
    prefix: o.namespace === 'pid' ? ['unshare', '--pid', '--fork', '--mount-proc'] : []
  })
  const name = `a second process on a held data directory (${o.namespace === 'pid' ? 'other PID namespace' : 'same PID namespace'}) fails fast naming the holder`
  let exit: { code: number | null, signal: NodeJS.Signals | null }
  try {
    exit = await second.waitForExit(FAIL_FAST_MS)
  } catch {
    second.signalGroup('SIGKILL')
    await second.exited
    return { name, ok: false, detail: `still running after ${FAIL_FAST_MS / 1000} s (killed): both processes ran on one state directory` }
  }
  const tookMs = Date.now() - started
  // The line that refuses the directory (a JSON log line or the CLI's one-line error).
  const refusal = second.stderr.split('\n').find(l => /lock/i.test(l)) ?? second.stderrTail(2)
  const namesHolder = /lock/i.test(refusal) && holderPid !== undefined && refusal.includes(String(holderPid))
  return {
    name,
    ok: exit.code !== 0 && exit.code !== null && namesHolder,
    detail: `exit ${exit.code ?? exit.signal} after ${tookMs} ms; ${namesHolder ? 'names' : 'does not name'} the holder (pid ${holderPid}): ${refusal.trim().slice(0, 300)}`
  }
}
