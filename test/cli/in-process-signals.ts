// For tests that run the platform inside the test process: SIGTERM/SIGINT sent to the test
// process reach the platform's stop routine, without close-with-grace's process.exit().
import type { StopSignals } from '../../cli/graceful-stop.ts'

export function inProcessSignals (): StopSignals & { release (): void } {
  let handler: ((signal: NodeJS.Signals) => void) | undefined
  const listener = (signal: NodeJS.Signals): void => handler?.(signal)
  process.on('SIGTERM', listener)
  process.on('SIGINT', listener)
  return {
    handle: stop => { handler = stop },
    release: () => {
      process.off('SIGTERM', listener)
      process.off('SIGINT', listener)
    }
  }
}
