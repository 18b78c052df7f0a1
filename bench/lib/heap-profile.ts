// Allocation sampling of one phase of a benchmark (the engine run) with the in-process inspector:
// bytes allocated per function (self), to find per-record garbage (the garbage collector's share
// of a CPU profile says how much it costs, not where it comes from).
//   const stop = await startHeapProfile(); ...; printTopAllocations(await stop(), 25)
import { Session } from 'node:inspector/promises'

interface SamplingNode {
  readonly callFrame: { readonly functionName: string, readonly url: string, readonly lineNumber: number }
  readonly selfSize: number
  readonly children: SamplingNode[]
}
export interface HeapProfile { readonly head: SamplingNode }

export async function startHeapProfile (): Promise<() => Promise<HeapProfile>> {
  const session = new Session()
  session.connect()
  await session.post('HeapProfiler.enable')
  // Every 4 KiB allocated on average; objects collected meanwhile are kept in the profile.
  await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling') as unknown as { profile: HeapProfile }
    session.disconnect()
    return profile
  }
}

/** Prints the `top` functions by bytes allocated (self), with their share. */
export function printTopAllocations (profile: HeapProfile, top = 25): void {
  const self = new Map<string, number>()
  let total = 0
  const visit = (node: SamplingNode): void => {
    const { functionName, url, lineNumber } = node.callFrame
    const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '~/').replace(process.cwd() + '/', '')
    const name = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim()
    self.set(name, (self.get(name) ?? 0) + node.selfSize)
    total += node.selfSize
    for (const child of node.children) visit(child)
  }
  visit(profile.head)
  console.log(`heap sampling: ${(total / 1e6).toFixed(1)} MB allocated (sampled); self by function:`)
  for (const [name, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(bytes / 1e6).toFixed(1).padStart(7)} MB ${(100 * bytes / total).toFixed(1).padStart(5)}%  ${name}`)
}
