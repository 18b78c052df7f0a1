// A benchmark's watchdog: every phase (a baseline read, an engine run, clean-up) runs under a
// bound. While a phase runs, every `reportEveryMs` it prints where the benchmark waits (the
// phase, its elapsed time and what `describe()` says: committed against end offsets per
// partition, the engine's state and tasks); when the phase passes its bound it prints the same
// and fails with an error naming the phase, instead of hanging. If the clean-up after that
// failure hangs as well, the process exits after `exitGraceMs`.
import type { Log, PartitionOffset } from '../../log/log-port.ts'
import { fmtMs, nowMs } from './timing.ts'

export interface WatchdogOptions {
  /** Between two progress reports of a phase that is still running. */
  readonly reportEveryMs: number
  /** After a phase timed out, the process exits (code 2) unless it ended by itself first. */
  readonly exitGraceMs: number
  readonly print?: (line: string) => void
}

export class Watchdog {
  readonly #o: WatchdogOptions
  readonly #print: (line: string) => void

  constructor (options: WatchdogOptions) {
    this.#o = options
    this.#print = options.print ?? (line => console.error(line))
  }

  /** Runs `work` as phase `name`, failing it after `boundMs`. `describe`: where it waits now. */
  async phase<T> (name: string, boundMs: number, work: () => Promise<T>, describe?: () => Promise<string>): Promise<T> {
    const start = nowMs()
    const report = async (why: string): Promise<void> => {
      let where = ''
      if (describe !== undefined) {
        try { where = await withBound(describe(), 10_000, 'describe') } catch (error) { where = `(cannot tell: ${(error as Error).message})` }
      }
      this.#print(`[watchdog] ${why}: phase "${name}", ${fmtMs(nowMs() - start)} in${where === '' ? '' : `\n${where}`}`)
    }
    let timer: NodeJS.Timeout | undefined
    let reporting = false
    const ticker = setInterval(() => {
      if (reporting) return
      reporting = true
      void report('still waiting').finally(() => { reporting = false })
    }, this.#o.reportEveryMs)
    try {
      return await Promise.race([
        work(),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => {
            void report(`bound of ${fmtMs(boundMs)} passed`).finally(() => {
              // The clean-up after the failure may hang on the same cause: exit regardless.
              setTimeout(() => { this.#print(`[watchdog] exiting: clean-up after "${name}" did not end in ${fmtMs(this.#o.exitGraceMs)}`); process.exit(2) }, this.#o.exitGraceMs).unref()
              reject(new Error(`phase "${name}" did not end within ${fmtMs(boundMs)} (see the [watchdog] lines)`))
            })
          }, boundMs)
        })
      ])
    } finally {
      clearInterval(ticker)
      clearTimeout(timer)
    }
  }
}

/** `promise`, or a rejection after `ms`. */
export async function withBound<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} took over ${fmtMs(ms)}`)), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

/** One line per partition: the group's committed offset against the end offset. */
export async function describeCommitted (log: Log, groupId: string, ends: readonly PartitionOffset[]): Promise<string> {
  const committed = await log.admin.listCommittedOffsets(groupId, [...ends])
  const at = new Map(committed.map(c => [`${c.topic}-${c.partition}`, c.offset]))
  const lines: string[] = []
  let behind = 0n
  for (const e of ends) {
    const c = at.get(`${e.topic}-${e.partition}`)
    if (c === undefined || c < e.offset) behind += e.offset - (c ?? 0n)
    lines.push(`  ${e.topic}-${e.partition}: committed ${c === undefined ? 'none' : String(c)} / end ${e.offset}${c === e.offset ? '' : ' (behind)'}`)
  }
  return `  group ${groupId}: ${behind} records behind\n${lines.join('\n')}`
}
