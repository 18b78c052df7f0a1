// Shared by the embedded-log tests: a fresh log in its own temporary directory, closed and
// removed when the test ends.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { openEmbeddedLog } from '../../../log/embedded/index.ts'
import type { Log, LogRecord, RebalanceListener, TopicPartition } from '../../../log/log-port.ts'

export async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'embedded-log-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A log in a fresh directory; closed at teardown (before the directory is removed). */
export async function tempLog (t: Test): Promise<{ log: Log, dir: string }> {
  const dir = await tempDir(t)
  const log = await openEmbeddedLog({ dir })
  t.teardown(() => log.close())
  return { log, dir }
}

export function buf (text: string): Buffer {
  return Buffer.from(text, 'utf8')
}

export function text (value: Buffer | null): string | null {
  return value === null ? null : value.toString('utf8')
}

export type ListenerEvent =
  | { kind: 'revoked' | 'lost', partitions: TopicPartition[] }
  | { kind: 'assigned', partitions: TopicPartition[], userData: Buffer | null }

/** A rebalance listener that records every call (and lets a test hook into revocation). */
export function recordingListener (events: ListenerEvent[], hooks: { onRevoked?: (partitions: TopicPartition[]) => Promise<void> } = {}): RebalanceListener {
  return {
    async onPartitionsRevoked (partitions) {
      events.push({ kind: 'revoked', partitions })
      await hooks.onRevoked?.(partitions)
    },
    async onPartitionsAssigned (partitions, userData) {
      events.push({ kind: 'assigned', partitions, userData })
    },
    async onPartitionsLost (partitions) {
      events.push({ kind: 'lost', partitions })
    }
  }
}

export function sortTps (tps: TopicPartition[]): string[] {
  return tps.map(tp => `${tp.topic}-${tp.partition}`).sort()
}

/** Polls until `count` records arrived (each poll waits for new records: no sleeps). */
export async function pollUntil (poll: (ms: number) => Promise<LogRecord[]>, count: number, timeoutMs = 10_000): Promise<LogRecord[]> {
  const out: LogRecord[] = []
  const deadline = Date.now() + timeoutMs
  while (out.length < count && Date.now() < deadline) out.push(...await poll(Math.max(1, deadline - Date.now())))
  return out
}

/** Polls a group consumer (short waits, each woken by group events) until it holds `count`
 *  partitions; returns the records it got meanwhile. */
export async function pollUntilAssigned (consumer: { poll (ms: number): Promise<LogRecord[]>, assignment (): TopicPartition[] }, count: number, timeoutMs = 10_000): Promise<LogRecord[]> {
  const out: LogRecord[] = []
  const deadline = Date.now() + timeoutMs
  do {
    out.push(...await consumer.poll(50))
  } while (consumer.assignment().length !== count && Date.now() < deadline)
  if (consumer.assignment().length !== count) throw new Error(`expected ${count} partitions, have ${consumer.assignment().length}`)
  return out
}
