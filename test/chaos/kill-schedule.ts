// SIGKILLs at random moments spread over the production: the victim is a random live instance
// (restoring, rebalancing or mid-transaction, whatever it is doing), restarted at once, every Nth
// time on a wiped data directory so that some kills also land in full restores. Each kill's time
// to recover is measured in the background.
import type { PlatformSupervisor } from './platform-supervisor.ts'
import type { RecoveryTimer } from './recovery-timer.ts'
import { seededRandom } from './traffic-generator.ts'

export interface KillRecord {
  readonly instance: number
  readonly atMs: number
  readonly wiped: boolean
  /** Until every input partition is processed again (RecoveryTimer.resumed). */
  recoveryMs: number | null | undefined
  /** Until everything in the inputs at the kill is committed (RecoveryTimer.measure): includes
   *  the backlog that built up while the group recovered. */
  drainedMs: number | null | undefined
}

export async function runKillSchedule (options: {
  supervisor: PlatformSupervisor
  timer: RecoveryTimer
  kills: number
  windowMs: number
  wipeEvery: number
  seed: number
  log: (line: string) => void
}): Promise<{ kills: KillRecord[], recoveries: Promise<void> }> {
  const random = seededRandom(options.seed + 1)
  const kills: KillRecord[] = []
  const measuring: Array<Promise<void>> = []
  const started = Date.now()
  const slot = options.windowMs / (options.kills + 1)
  for (let k = 1; k <= options.kills; k++) {
    // Evenly spread, each jittered inside its slot.
    const at = started + slot * k + (random() - 0.5) * slot * 0.8
    const wait = at - Date.now()
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait)) // the moment of the kill, chosen at random
    const live = options.supervisor.instances.filter(i => i.alive)
    if (live.length === 0) continue
    const victim = live[Math.floor(random() * live.length)]!
    const atMs = Date.now()
    await options.supervisor.kill(victim.index)
    const wiped = options.wipeEvery > 0 && k % options.wipeEvery === 0
    const record: KillRecord = { instance: victim.index, atMs, wiped, recoveryMs: undefined, drainedMs: undefined }
    kills.push(record)
    options.log(`kill ${k}/${options.kills}: instance ${victim.index} (SIGKILL to its process group)${wiped ? ', restarted on a wiped data directory' : ''}`)
    options.supervisor.start(victim.index, { wipe: wiped })
    measuring.push(options.timer.resumed(atMs).then(ms => { record.recoveryMs = ms }))
    measuring.push(options.timer.measure(atMs).then(ms => { record.drainedMs = ms }))
  }
  return { kills, recoveries: Promise.all(measuring).then(() => undefined) }
}
