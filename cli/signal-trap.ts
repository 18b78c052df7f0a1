// Catches SIGTERM/SIGINT from the moment `rewards start` begins (before the engine's modules have
// even loaded), so an early signal still gets the graceful path and exit 0 instead of the default
// kill. Signals that arrive before a handler is attached are replayed to it.

export type SignalHandler = (signal: NodeJS.Signals) => void

export class SignalTrap {
  readonly #pending: NodeJS.Signals[] = []
  #handler: SignalHandler | undefined
  readonly #listener = (signal: NodeJS.Signals): void => {
    if (this.#handler === undefined) this.#pending.push(signal)
    else this.#handler(signal)
  }

  readonly signals: readonly NodeJS.Signals[]

  constructor (signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']) {
    this.signals = signals
    for (const signal of signals) process.on(signal, this.#listener)
  }

  /** Routes signals to `handler`, first those that arrived before. */
  handle (handler: SignalHandler): void {
    this.#handler = handler
    for (const signal of this.#pending.splice(0)) handler(signal)
  }

  /** Restores the default behaviour. */
  release (): void {
    for (const signal of this.signals) process.off(signal, this.#listener)
    this.#handler = undefined
  }
}
