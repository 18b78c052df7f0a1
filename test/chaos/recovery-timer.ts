// Time to recover from a fault, seen from outside as an operator would: from the fault until the
// group has committed everything that was in the input topics at that moment (the killed
// member's tasks moved or restored, and processing again). Polls the group's committed offsets
// with the verifier's admin client.
import type { Admin } from 'kafkajs'

type Offsets = Map<string, number>

async function endOffsets (admin: Admin, topics: string[]): Promise<Offsets> {
  const ends: Offsets = new Map()
  for (const topic of topics) for (const p of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}:${p.partition}`, Number(p.high))
  return ends
}

async function committed (admin: Admin, groupId: string, topics: string[]): Promise<Offsets> {
  const out: Offsets = new Map()
  for (const t of await admin.fetchOffsets({ groupId, topics })) for (const p of t.partitions) out.set(`${t.topic}:${p.partition}`, Number(p.offset))
  return out
}

export class RecoveryTimer {
  readonly #admin: Admin
  readonly #groupId: string
  readonly #topics: string[]
  #stopped = false

  constructor (admin: Admin, groupId: string, topics: string[]) {
    this.#admin = admin
    this.#groupId = groupId
    this.#topics = topics
  }

  /** Milliseconds from `sinceMs` until the group committed the inputs' end offsets as they were
   *  when this is called; null after timeoutMs. */
  async measure (sinceMs: number, timeoutMs = 300_000): Promise<number | null> {
    let target: Offsets | undefined
    while (Date.now() - sinceMs < timeoutMs && !this.#stopped) {
      try {
        target ??= await endOffsets(this.#admin, this.#topics)
        const now = await committed(this.#admin, this.#groupId, this.#topics)
        if ([...target].every(([tp, end]) => end === 0 || (now.get(tp) ?? -1) >= end)) return Date.now() - sinceMs
      } catch { /* the broker may be the fault: ask again */ }
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    return null
  }

  /** Milliseconds from `sinceMs` until every input partition is being processed again: its
   *  committed offset moved past where it was when this is called, or it is caught up. This is
   *  the time to recover from a fault itself; a backlog built meanwhile is not counted (measure()
   *  counts it). null after timeoutMs. */
  async resumed (sinceMs: number, timeoutMs = 300_000): Promise<number | null> {
    let before: Offsets | undefined
    while (Date.now() - sinceMs < timeoutMs && !this.#stopped) {
      try {
        before ??= await committed(this.#admin, this.#groupId, this.#topics)
        const ends = await endOffsets(this.#admin, this.#topics)
        const now = await committed(this.#admin, this.#groupId, this.#topics)
        const moving = (tp: string, end: number): boolean => {
          const c = now.get(tp) ?? -1
          return end === 0 || c >= end || c > (before!.get(tp) ?? -1)
        }
        if ([...ends].every(([tp, end]) => moving(tp, end))) return Date.now() - sinceMs
      } catch { /* the broker may be the fault: ask again */ }
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    return null
  }

  /** Ends every measurement still running (they answer null): the run is over. */
  stop (): void {
    this.#stopped = true
  }

  /** The group's lag now: input records not committed. */
  async lag (): Promise<number> {
    const ends = await endOffsets(this.#admin, this.#topics)
    const now = await committed(this.#admin, this.#groupId, this.#topics)
    return [...ends].reduce((n, [tp, end]) => n + end - Math.max(0, now.get(tp) ?? 0), 0)
  }
}
