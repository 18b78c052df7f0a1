// A wake-up signal for one waiting poller: notify() wakes the current wait and bumps a sequence
// number, so a notification that lands between "read, found nothing" and "wait" is not lost
// (wait(ms, seenSeq) returns at once when the sequence moved on).

export class WakeSignal {
  #seq = 0
  #waiters = new Set<() => void>()

  get seq (): number {
    return this.#seq
  }

  notify (): void {
    this.#seq++
    const waiters = [...this.#waiters]
    this.#waiters.clear()
    for (const wake of waiters) wake()
  }

  /** Resolves on the next notify() after `seenSeq`, or after `ms`. */
  wait (ms: number, seenSeq: number): Promise<void> {
    if (this.#seq !== seenSeq || ms <= 0) return Promise.resolve()
    return new Promise(resolve => {
      const done = (): void => {
        clearTimeout(timer)
        this.#waiters.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.#waiters.add(done)
    })
  }
}
