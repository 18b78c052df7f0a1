// Balanced shares for the high-availability assignor (high-availability-assignor.ts, docs/engine.md
// "High-availability assignor"): how many tasks each client may take so that per-member loads
// differ by at most one, over all tasks and within each sub-topology at once.
import { parseTaskId, type TaskId } from './task-ids.ts'

/** Balanced shares: `total` items over clients of the given capacities, each client between
 *  cap*q and cap*(q+1) items (q = floor(total / capacity)), i.e. at most `r` = total mod capacity
 *  clients' members above q. take() beyond a client's share is allowed (a fallback) and counted. */
export class Shares {
  readonly #capacity: ReadonlyMap<string, number>
  readonly #counts = new Map<string, number>()
  readonly #q: number
  readonly #r: number
  #extras = 0

  constructor (capacity: ReadonlyMap<string, number>, total: number, initial?: ReadonlyMap<string, number>) {
    this.#capacity = capacity
    let members = 0
    for (const cap of capacity.values()) members += cap
    this.#q = members === 0 ? 0 : Math.floor(total / members)
    this.#r = members === 0 ? 0 : total % members
    for (const client of capacity.keys()) {
      const count = initial?.get(client) ?? 0
      this.#counts.set(client, count)
      this.#extras += Math.max(0, count - this.#cap(client) * this.#q)
    }
  }

  #cap (client: string): number {
    return this.#capacity.get(client)!
  }

  count (client: string): number {
    return this.#counts.get(client)!
  }

  canTake (client: string): boolean {
    const count = this.count(client)
    const floor = this.#cap(client) * this.#q
    return count < floor || (count < floor + this.#cap(client) && this.#extras < this.#r)
  }

  take (client: string): void {
    const count = this.count(client)
    if (count >= this.#cap(client) * this.#q) this.#extras++
    this.#counts.set(client, count + 1)
  }

  /** Undoes one take(). */
  untake (client: string): void {
    const count = this.count(client) - 1
    if (count >= this.#cap(client) * this.#q) this.#extras--
    this.#counts.set(client, count)
  }

  /** Orders clients by load per member (count / capacity), ascending. */
  compareLoad (a: string, b: string): number {
    return this.count(a) * this.#cap(b) - this.count(b) * this.#cap(a)
  }

  counts (): ReadonlyMap<string, number> {
    return this.#counts
  }
}

/** Shares of the total and of each sub-topology at once: a client can take a task while both
 *  its total share and its share of the task's sub-topology have room. */
export class BalancedShares {
  readonly #total: Shares
  readonly #perSubtopology = new Map<string, Shares>()

  constructor (capacity: ReadonlyMap<string, number>, tasks: readonly TaskId[], total: Shares) {
    this.#total = total
    const counts = new Map<string, number>()
    for (const task of tasks) counts.set(subtopologyOf(task), (counts.get(subtopologyOf(task)) ?? 0) + 1)
    for (const [subtopology, count] of counts) this.#perSubtopology.set(subtopology, new Shares(capacity, count))
  }

  canTake (client: string, task: TaskId): boolean {
    return this.#total.canTake(client) && this.#sub(task).canTake(client)
  }

  take (client: string, task: TaskId): void {
    this.#total.take(client)
    this.#sub(task).take(client)
  }

  untake (client: string, task: TaskId): void {
    this.#total.untake(client)
    this.#sub(task).untake(client)
  }

  /** Room in the task's sub-topology share, whatever the total. */
  canTakeInSubtopology (client: string, task: TaskId): boolean {
    return this.#sub(task).canTake(client)
  }

  sameSubtopology (a: TaskId, b: TaskId): boolean {
    return this.#sub(a) === this.#sub(b)
  }

  /** Clients by load in the task's sub-topology, then in total, ascending. */
  compareLoad (task: TaskId): (a: string, b: string) => number {
    return (a, b) => this.#sub(task).compareLoad(a, b) || this.#total.compareLoad(a, b)
  }

  #sub (task: TaskId): Shares {
    return this.#perSubtopology.get(subtopologyOf(task))!
  }
}

function subtopologyOf (task: TaskId): string {
  return String(parseTaskId(task)?.[0] ?? task)
}
