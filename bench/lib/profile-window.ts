// A V8 CPU profile (`node --cpu-prof`'s .cpuprofile) cut to a window of wall time, summed two
// ways: self time per function, and per "cause" — the deepest frame of the project's own code
// (not node_modules, not node's internals) on each sample's stack, so undici's or the Kafka
// client's time counts under the project function that called it. Used by bench/ha-failover.ts
// (--cpu-prof, --cpu-prof-others) to say where each process's CPU went during a cold start's span
// (docs/benchmarks.md "Cold start, twelfth pass: the other parties").
//
// The profile's times are µs of the machine's monotonic clock (V8's TimeTicks: CLOCK_MONOTONIC on
// Linux, as process.hrtime), moved to wall time by `monotonicToWallMs()` taken in any process of
// the same machine. V8's samples count wall time (a thread waiting for a core included): the sums
// are shares of the window, not CPU.
import { readFileSync } from 'node:fs'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string, readonly url: string, readonly lineNumber: number }
  readonly children?: number[]
}
interface CpuProfile {
  readonly nodes: ProfileNode[]
  readonly samples: number[]
  readonly timeDeltas: number[]
  readonly startTime: number
}

/** Epoch ms minus monotonic ms, now: add it to a profile's monotonic ms to get epoch ms. */
export function monotonicToWallMs (): number {
  return Date.now() - Number(process.hrtime.bigint()) / 1e6
}

export interface WindowSummary {
  readonly sampledMs: number
  readonly self: Array<[string, number]>
  readonly causes: Array<[string, number]>
}

const ROOT = process.cwd() + '/'

function frameName (frame: ProfileNode['callFrame']): string {
  const file = frame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '~/').replace(ROOT, '')
  return `${frame.functionName || '(anonymous)'}${file !== '' ? ` ${file}:${frame.lineNumber + 1}` : ''}`
}

function ownCode (url: string): boolean {
  return url.startsWith('file://') && !url.includes('/node_modules/')
}

/** The samples of `file` between fromMs and toMs (epoch), summed by self function and by cause. */
export function summarizeWindow (file: string, fromMs: number, toMs: number, wallOffsetMs: number): WindowSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const causeOf = new Map<number, string>()
  const cause = (id: number): string => {
    const known = causeOf.get(id)
    if (known !== undefined) return known
    let at: number | undefined = id
    let found: string | undefined
    while (at !== undefined) {
      const node = byId.get(at)!
      if (ownCode(node.callFrame.url)) { found = frameName(node.callFrame); break }
      at = parent.get(at)
    }
    // No own frame: the leaf's name ((garbage collector), (idle), (program), a node: internal).
    const name = found ?? frameName(byId.get(id)!.callFrame)
    causeOf.set(id, name)
    return name
  }
  const self = new Map<string, number>()
  const causes = new Map<string, number>()
  let sampled = 0
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0
    const wall = t / 1000 + wallOffsetMs
    if (wall < fromMs || wall > toMs) continue
    // A sample's weight: the time to the next one (the last: its own delta).
    const weight = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000
    sampled += weight
    const id = profile.samples[i]!
    const name = frameName(byId.get(id)!.callFrame)
    self.set(name, (self.get(name) ?? 0) + weight)
    const c = cause(id)
    causes.set(c, (causes.get(c) ?? 0) + weight)
  }
  const sorted = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1])
  return { sampledMs: sampled, self: sorted(self), causes: sorted(causes) }
}

/** Lines for a summary: the top `top` of each sum, ms and share of the sampled window. */
export function describeWindow (summary: WindowSummary, top = 25): string[] {
  const row = ([name, ms]: [string, number]): string => `${ms.toFixed(0).padStart(7)} ms ${(100 * ms / summary.sampledMs).toFixed(1).padStart(5)}%  ${name}`
  return [
    `${summary.sampledMs.toFixed(0)} ms sampled in the window; self time by function:`,
    ...summary.self.slice(0, top).map(row),
    'by cause (the deepest frame of the project\'s own code on the stack):',
    ...summary.causes.slice(0, top).map(row)
  ]
}
