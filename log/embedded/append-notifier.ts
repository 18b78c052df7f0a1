// Who waits for records of which topic: pollers register their wake signal for the topics they
// read, and an append wakes exactly those (no polling sleeps anywhere).
import type { WakeSignal } from './wake-signal.ts'

export class AppendNotifier {
  readonly #watchers = new Map<string, Set<WakeSignal>>()

  watch (topic: string, signal: WakeSignal): void {
    let set = this.#watchers.get(topic)
    if (set === undefined) {
      set = new Set()
      this.#watchers.set(topic, set)
    }
    set.add(signal)
  }

  unwatch (topic: string, signal: WakeSignal): void {
    const set = this.#watchers.get(topic)
    if (set === undefined) return
    set.delete(signal)
    if (set.size === 0) this.#watchers.delete(topic)
  }

  unwatchAll (signal: WakeSignal): void {
    for (const topic of [...this.#watchers.keys()]) this.unwatch(topic, signal)
  }

  appended (topics: Iterable<string>): void {
    const woken = new Set<WakeSignal>()
    for (const topic of topics) for (const signal of this.#watchers.get(topic) ?? []) woken.add(signal)
    for (const signal of woken) signal.notify()
  }
}
