// Engine timeline (docs/benchmarks.md "Engine throughput, issue 16, sixth pass"): when a
// benchmark in the same process turns it on, the stream thread, the commit coordinator, the
// producer and the group consumer record where the loop's wall time goes (poll waits, fetches,
// each commit's steps and what it awaited). Off: one boolean test per call, nothing kept.

export interface TimelineEvent {
  /** performance.now() at the start of what is measured. */
  readonly at: number
  /** Its duration, ms (0: a point in time). */
  readonly ms: number
  readonly what: string
  readonly data?: Record<string, number | string>
}

let on = false
let events: TimelineEvent[] = []

/** Starts recording (dropping what was recorded before). */
export function startTimeline (): void { on = true; events = [] }

/** Stops recording and returns what was recorded. */
export function stopTimeline (): TimelineEvent[] { on = false; const out = events; events = []; return out }

export function timelineOn (): boolean { return on }

/** Records `what`, from `at` (performance.now()) to now. */
export function mark (what: string, at: number = performance.now(), data?: Record<string, number | string>): void {
  if (!on) return
  events.push(data === undefined ? { at, ms: performance.now() - at, what } : { at, ms: performance.now() - at, what, data })
}
