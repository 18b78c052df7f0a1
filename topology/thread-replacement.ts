// Whether a StreamsApplication replaces a stream thread that died, and after how long
// (config.onStreamError, Kafka Streams' StreamsUncaughtExceptionHandler; docs/engine.md "Faults and
// recovery"): not for a fault no new thread can cure, nor past maxThreadReplacements within
// threadReplacementWindowMs; the wait doubles with each replacement in the window.
import { kafkaPolicy } from '../lib/resilience/kafka-policy.ts'
import { isStreamsError } from './streams-error.ts'
import type { StreamsConfig } from './runtime/streams-config.ts'

/** Errors no new thread can cure: the application goes ERROR whatever onStreamError says. */
const INSTANCE_FATAL = ['LOG_AUTHORIZATION', 'LOG_SECURITY', 'LOG_TOPIC_NOT_FOUND', 'CONFIG_INVALID', 'TOPOLOGY_INVALID', 'STATE_DIR_LOCKED'] as const

/** Between a thread's death and its replacement: 200 ms, doubling up to 30 s. */
const replacementBackoff = kafkaPolicy.threadReplacementBackoff

export class ThreadReplacements {
  readonly #config: Pick<StreamsConfig, 'onStreamError' | 'maxThreadReplacements' | 'threadReplacementWindowMs'>
  /** When each replacement happened, within the current window. */
  #replacements: number[] = []

  constructor (config: Pick<StreamsConfig, 'onStreamError' | 'maxThreadReplacements' | 'threadReplacementWindowMs'>) {
    this.#config = config
  }

  /** null: replace the thread; else why not. */
  whyNotReplace (error: unknown, now: number): string | null {
    if (INSTANCE_FATAL.some(code => isStreamsError(error, code))) return 'a new thread cannot cure it'
    if (this.#config.onStreamError === 'shutdown-instance') return 'on stream error: shutdown-instance'
    this.#replacements = this.#replacements.filter(at => now - at < this.#config.threadReplacementWindowMs)
    if (this.#replacements.length >= this.#config.maxThreadReplacements) {
      return `${this.#replacements.length} replacements within ${Math.round(this.#config.threadReplacementWindowMs / 1000)} s already`
    }
    return null
  }

  /** Counts a replacement at `now`; returns how many the window holds with it. */
  record (now: number): number {
    this.#replacements.push(now)
    return this.#replacements.length
  }

  /** The wait before the `replacements`-th replacement of the window. */
  backoffMs (replacements: number): number {
    let backoff = replacementBackoff.next()
    for (let i = 1; i < replacements; i++) backoff = backoff.next(undefined)
    return backoff.duration
  }
}
