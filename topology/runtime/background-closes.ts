// Closes running in the background, by task name: a revoked task's or a dropped standby's stores
// close while the member rejoins, and the same task opens here again only after its close ended.
export class BackgroundCloses {
  readonly #closing = new Map<string, Promise<void>>()

  /** The close of `name` under way, if any. */
  get (name: string): Promise<void> | undefined {
    return this.#closing.get(name)
  }

  /** Runs `close` after the previous close of `name`; a failure is swallowed (its stores are
   *  gone either way). */
  run (name: string, close: () => Promise<void>): void {
    const previous = this.#closing.get(name)
    const done: Promise<void> = (async () => {
      if (previous !== undefined) await previous
      await close().catch(() => { /* its stores are gone either way */ })
    })().finally(() => { if (this.#closing.get(name) === done) this.#closing.delete(name) })
    this.#closing.set(name, done)
  }

  /** Settles once no close is under way. */
  async settled (): Promise<void> {
    while (this.#closing.size > 0) await Promise.allSettled([...this.#closing.values()])
  }
}
