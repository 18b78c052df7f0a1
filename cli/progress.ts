// Progress of a long command (rebuild, replay, reconcile, notifications replay-dlq) on stderr,
// through cli-progress: on a terminal a bar redrawn in place; elsewhere (a file, a CI log) a plain
// line every few seconds. Both show the count, the rate and the ETA, and done() ends at 100 %.
import cliProgress from 'cli-progress'

/** How often a plain line is written off a terminal. */
export const PLAIN_LINE_INTERVAL_MS = 2000

export class Progress {
  readonly #bar: cliProgress.SingleBar
  #startedAt = 0
  #firstDone = 0
  #started = false
  #total = 0

  constructor (stream: NodeJS.WritableStream, label: string, unit = 'records') {
    const terminal = (stream as { isTTY?: boolean }).isTTY === true
    this.#bar = new cliProgress.SingleBar({
      stream: stream as NodeJS.WriteStream,
      noTTYOutput: true,
      notTTYSchedule: PLAIN_LINE_INTERVAL_MS,
      etaBuffer: 100,
      hideCursor: false,
      barsize: 30,
      barCompleteChar: '#',
      barIncompleteChar: '-',
      format: terminal
        ? `${label} [{bar}] {percentage}% {value}/{total} ${unit} | {rate}/s | ETA {etaText}`
        : `${label}: {percentage}% {value}/{total} ${unit}, {rate}/s, ETA {etaText}`
    })
  }

  update (done: number, total: number): void {
    if (!this.#started) {
      this.#startedAt = Date.now()
      this.#firstDone = done
    }
    // The rate of what was done since the first update: work already done then (a step that
    // found 2000 records at once) is not a rate (it printed 2000000/s).
    const rate = Math.round((done - this.#firstDone) / Math.max(0.001, (Date.now() - this.#startedAt) / 1000))
    const payload = { rate, etaText: etaText(Math.min(done, total), total, rate) }
    if (!this.#started) {
      this.#started = true
      this.#total = total
      this.#bar.start(total, Math.min(done, total), payload)
      return
    }
    if (total !== this.#total) {
      this.#total = total
      this.#bar.setTotal(total)
    }
    this.#bar.update(Math.min(done, total), payload)
  }

  /** The work is complete: the last line shows 100 % (total of total). */
  done (total: number): void {
    this.update(total, total)
    this.#bar.stop()
  }

  /** The work ended before completion (an error, a timeout): the last line shows where it got. */
  stop (): void {
    this.#bar.stop()
  }
}

/**
 * The ETA shown: cli-progress's own `{eta_formatted}` prints `LLs` or `NFs` (its `NULL` / `INF`
 * through a two-character pad) when no rate is known yet or nothing is left, so it is computed
 * here from the average rate: `0s` once done, `?` while the rate is unknown.
 */
export function etaText (done: number, total: number, ratePerSecond: number): string {
  if (done >= total) return '0s'
  if (!(ratePerSecond > 0)) return '?'
  const seconds = Math.ceil((total - done) / ratePerSecond)
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`
  if (seconds >= 60) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`
  return `${seconds}s`
}
