// Stop signals of `rewards start` (docs/cli.md "Stopping"), through close-with-grace: SIGTERM,
// SIGINT and SIGHUP each start the graceful shutdown, and the process exits with the command's
// status once it is over. Installed when `start` begins, before the engine's modules load, so an
// early signal still gets the graceful path: it waits here until the platform takes it.
//
// A second signal during the shutdown exits 1 at once, except a repeat of the same signal within
// REPEAT_WINDOW_MS: under `npx`/`npm start` a Ctrl-C or a `kill` of the process group reaches
// this process twice, once from the terminal or shell and once forwarded by npm, and that must
// not turn a clean stop into a forced one.
import closeWithGrace from 'close-with-grace'

export const STOP_SIGNALS = Object.freeze(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
export type StopSignal = typeof STOP_SIGNALS[number]
export const REPEAT_WINDOW_MS = 1000

/** What the platform needs: its stop routine gets the signal (one that arrived before is replayed). */
export interface StopSignals {
  handle (stop: (signal: NodeJS.Signals) => void): void
}

export interface GracefulStop extends StopSignals {
  /** The command's exit status: once a signal started the stop, the process exits with it. */
  outcome (status: Promise<number>): void
  uninstall (): void
}

export interface GracefulStopOptions {
  /** Bound on the whole stop: past it the process exits 1. */
  readonly timeoutMs: number
  /** Said when a second signal or the timeout forces the exit. */
  readonly say: (message: string) => void
}

const ALL_SIGNALS: closeWithGrace.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGSEGV', 'SIGUSR2', 'SIGTERM']

export function gracefulStop (options: GracefulStopOptions): GracefulStop {
  let stop: ((signal: NodeJS.Signals) => void) | undefined
  let pending: NodeJS.Signals | undefined
  let resolveOutcome: (status: Promise<number>) => void = () => {}
  const outcome = new Promise<number>((resolve, reject) => { resolveOutcome = status => { status.then(resolve, reject) } })
  const skip = [...ALL_SIGNALS.filter(s => !(STOP_SIGNALS as readonly string[]).includes(s)), 'uncaughtException', 'unhandledRejection', 'beforeExit'] as closeWithGrace.AllEvents[]
  const graceful = closeWithGrace({
    delay: options.timeoutMs,
    logger: false,
    skip,
    onSecondSignal: signal => options.say(`second ${signal}: exiting without finishing the shutdown`),
    onTimeout: delay => options.say(`shutdown did not finish within ${delay} ms; exiting`)
  }, async ({ signal }) => {
    if (signal === undefined) return
    ignoreRepeats(signal)
    if (stop === undefined) pending = signal
    else stop(signal)
    const status = await outcome
    if (status !== 0) throw new Error(`exit status ${status}`) // close-with-grace then exits 1
  })
  return {
    handle (handler) {
      stop = handler
      if (pending !== undefined) handler(pending)
    },
    outcome: status => resolveOutcome(status),
    uninstall: () => graceful.uninstall()
  }
}

/** close-with-grace has just added its "second signal: exit" listeners (it calls our function
 *  synchronously after that); a repeat of the first signal within the window is let through as
 *  the same request by holding its listener back meanwhile. */
function ignoreRepeats (signal: NodeJS.Signals): void {
  const forced = process.listeners(signal).at(-1)
  if (forced === undefined) return
  const swallow = (): void => {}
  process.removeListener(signal, forced as (...args: unknown[]) => void)
  process.on(signal, swallow)
  setTimeout(() => {
    process.removeListener(signal, swallow)
    process.on(signal, forced as (...args: unknown[]) => void)
  }, REPEAT_WINDOW_MS).unref()
}
