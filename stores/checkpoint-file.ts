// A task's `.checkpoint`: for each changelog partition, the offset up to which the task's stores
// hold its records (the next offset to restore from), as JSON
//   { "rewards-balances-changelog:3": "1234" }
// Offsets are strings (they are 64-bit). Written atomically: temp file, fsync, rename, fsync of the
// directory; a reader sees the old file or the new one, never a torn one.
//
// Invariant (asserted): a partition's offset never goes down, unless the file was deleted (a wipe
// or a corrupted/abandoned state starts over).
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import type { PartitionOffset, TopicPartition } from '../log/log-port.ts'
import { fsyncDir } from './state-directory.ts'

export const CHECKPOINT_FILE_NAME = '.checkpoint'

/** "<topic>:<partition>" (Kafka topic names cannot contain ':'). */
export function checkpointKey (tp: TopicPartition): string {
  return `${tp.topic}:${tp.partition}`
}

function parseKey (key: string): TopicPartition {
  const colon = key.lastIndexOf(':')
  const partition = Number(key.slice(colon + 1))
  if (colon <= 0 || !Number.isInteger(partition) || partition < 0) throw new Error(`bad checkpoint key ${JSON.stringify(key)}`)
  return { topic: key.slice(0, colon), partition }
}

export class CheckpointFile {
  readonly path: string
  /** Highest offset per partition this object has read or written (for the invariant). */
  #known = new Map<string, bigint>()

  /** `pathOrTaskDir`: the file itself, or a task directory (the file is then `<dir>/.checkpoint`). */
  constructor (pathOrTaskDir: string) {
    this.path = basename(pathOrTaskDir) === CHECKPOINT_FILE_NAME ? pathOrTaskDir : join(pathOrTaskDir, CHECKPOINT_FILE_NAME)
  }

  /** The checkpointed offsets; [] when there is no file. Throws on a corrupt file (the caller
   *  should then wipe the task and restore from scratch). */
  read (): PartitionOffset[] {
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`checkpoint ${this.path} is not a JSON object`)
    const offsets: PartitionOffset[] = []
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new Error(`checkpoint ${this.path}: offset of ${key} is not a non-negative integer string`)
      const offset = BigInt(value)
      offsets.push({ ...parseKey(key), offset })
      const known = this.#known.get(key)
      if (known === undefined || offset > known) this.#known.set(key, offset)
    }
    return offsets
  }

  /** Same as read(), keyed by checkpointKey(). */
  readMap (): Map<string, bigint> {
    return new Map(this.read().map(o => [checkpointKey(o), o.offset]))
  }

  /** Replaces the file with these offsets, atomically and durably. Throws (before writing) if any
   *  partition's offset would go below one this object has seen since the file was last deleted. */
  write (offsets: Iterable<PartitionOffset>): void {
    const content: Record<string, string> = {}
    const next = new Map<string, bigint>()
    for (const o of offsets) {
      if (o.offset < 0n) throw new Error(`checkpoint ${this.path}: negative offset for ${checkpointKey(o)}`)
      const key = checkpointKey(o)
      const known = this.#known.get(key)
      if (known !== undefined && o.offset < known) {
        throw new Error(`checkpoint invariant violated: ${key} would go from ${known} back to ${o.offset} in ${this.path}`)
      }
      content[key] = o.offset.toString()
      next.set(key, o.offset)
    }
    const tmp = join(dirname(this.path), `${CHECKPOINT_FILE_NAME}.tmp`)
    const fd = openSync(tmp, 'w', 0o644)
    try {
      writeSync(fd, JSON.stringify(content))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, this.path)
    fsyncDir(dirname(this.path))
    for (const [key, offset] of next) this.#known.set(key, offset)
  }

  /** Removes the file (missing is fine) and forgets the offsets seen: after a delete, offsets may
   *  start lower (the state is being rebuilt). */
  delete (): void {
    rmSync(this.path, { force: true })
    this.#known.clear()
  }
}
