// CPU profiling of one phase of a benchmark (the engine run, not the pre-produce or the baselines)
// with the in-process inspector, and a summary: self time per function, and the time the process
// sat idle (waiting on the network or disk).
//   const stop = await startProfile(); ...; const profile = await stop(); printTop(profile, 25)
// The .cpuprofile written next to it opens in Chrome DevTools or speedscope.
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string, readonly url: string, readonly lineNumber: number }
}
export interface CpuProfile {
  readonly nodes: ProfileNode[]
  readonly samples: number[]
  readonly timeDeltas: number[]
  readonly startTime: number
  readonly endTime: number
}

export async function startProfile (): Promise<() => Promise<CpuProfile>> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 500 })
  await session.post('Profiler.start')
  return async () => {
    const { profile } = await session.post('Profiler.stop') as unknown as { profile: CpuProfile }
    session.disconnect()
    return profile
  }
}

export function saveProfile (profile: CpuProfile, file: string): void {
  writeFileSync(file, JSON.stringify(profile))
}

/** Prints the `top` functions by self time, with their share of the profiled wall time. */
export function printTop (profile: CpuProfile, top = 25): void {
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const self = new Map<string, number>()
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0
    total += delta
    const node = byId.get(profile.samples[i]!)
    if (node === undefined) continue
    const { functionName, url, lineNumber } = node.callFrame
    const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '~/').replace(process.cwd() + '/', '')
    const name = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim()
    self.set(name, (self.get(name) ?? 0) + delta)
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top)
  console.log(`cpu profile: ${(total / 1e6).toFixed(2)} s sampled; self time by function:`)
  for (const [name, us] of rows) console.log(`${(us / 1000).toFixed(0).padStart(7)} ms ${(100 * us / total).toFixed(1).padStart(5)}%  ${name}`)
}
