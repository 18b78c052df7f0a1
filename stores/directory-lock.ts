// An exclusive, OS-level lock on a file: the kernel's flock(2), as Kafka Streams locks its state
// directory with a FileChannel lock (docs/decisions/0009-state-directory-lock.md says why this and
// not a lease). Node has no flock call, so flock(1) (util-linux; busybox has it too) takes it on a
// descriptor this process opened and hands to the child: a flock lock belongs to the open file
// description, not to the process that asked, so it stays held after flock(1) exits and for as
// long as this process keeps the descriptor open — and the kernel drops it the moment this
// process dies, SIGKILL included. It holds across PID namespaces and containers sharing the
// volume (one kernel). Node opens files close-on-exec, so no other child inherits it.
//
// The file also names its holder (host, boot id, PID namespace, pid, start time, since when),
// written once the lock is held, so the one who is refused can say who has it.
import { spawnSync } from 'node:child_process'
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, statSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { StreamsError } from '../topology/streams-error.ts'

export interface LockHolder {
  readonly host: string
  /** /proc/sys/kernel/random/boot_id: one per boot of a kernel (null off Linux). */
  readonly bootId: string | null
  /** Inode of /proc/self/ns/pid: one per PID namespace (a container has its own). */
  readonly pidNamespace: string | null
  readonly pid: number
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  readonly startTime: string | null
  /** When the lock was taken, ISO 8601. */
  readonly since: string
}

function readOrNull (read: () => string): string | null {
  try { return read() } catch { return null }
}

export function currentHolder (): LockHolder {
  return {
    host: hostname(),
    bootId: readOrNull(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()),
    // A symlink `pid:[4026531836]`; stat() follows it to the namespace's inode.
    pidNamespace: readOrNull(() => String(statSync('/proc/self/ns/pid').ino)),
    pid: process.pid,
    startTime: readOrNull(() => {
      const stat = readFileSync('/proc/self/stat', 'utf8')
      // The command name (field 2) is in parentheses and may contain spaces: split after it.
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? ''
    }),
    since: new Date().toISOString()
  }
}

/** "pid 123 on host h (PID namespace 4026531836), since 2026-…Z" */
export function describeHolder (holder: LockHolder | undefined): string {
  if (holder === undefined) return 'a process that has not written its name yet'
  const ns = holder.pidNamespace === null ? '' : `, PID namespace ${holder.pidNamespace}`
  return `pid ${holder.pid} on host ${holder.host}${ns}, since ${holder.since}`
}

export function readHolder (path: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string' || typeof parsed.since !== 'string') return undefined
    return parsed as LockHolder
  } catch {
    return undefined
  }
}

/** flock(1) on the descriptor handed to it as fd 3: 0 locked, 1 held by someone else. */
function flockDescriptor (fd: number): { locked: boolean, error?: string } {
  const result = spawnSync('flock', ['--exclusive', '--nonblock', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd], encoding: 'utf8' })
  if (result.error !== undefined) {
    const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT'
    return { locked: false, error: missing ? 'flock(1) is not installed (package util-linux)' : result.error.message }
  }
  if (result.status === 0) return { locked: true }
  if (result.status === 1) return { locked: false }
  return { locked: false, error: `flock(1) exited with ${result.status ?? result.signal}: ${String(result.stderr).trim()}` }
}

export class DirectoryLock {
  readonly path: string
  #fd: number | undefined
  #holder: LockHolder | undefined

  constructor (path: string) {
    this.path = path
  }

  get held (): boolean { return this.#fd !== undefined }
  /** Who holds it: this process, once acquire() returned. */
  get holder (): LockHolder | undefined { return this.#holder }

  /** Takes the lock or throws STATE_DIR_LOCKED naming the holder (`what` names the directory). */
  acquire (what: string): void {
    if (this.#fd !== undefined) return
    for (let attempt = 0; attempt < 3; attempt++) {
      const fd = openSync(this.path, constants.O_RDWR | constants.O_CREAT, 0o644)
      const outcome = flockDescriptor(fd)
      if (!outcome.locked) {
        closeSync(fd)
        if (outcome.error !== undefined) {
          throw new StreamsError('STATE_DIR_LOCKED', `Cannot lock ${what}: ${outcome.error}`, { details: { dir: what } })
        }
        const holder = readHolder(this.path)
        throw new StreamsError('STATE_DIR_LOCKED', `${what} is locked by another instance: ${describeHolder(holder)}; stop it or use another REWARDS_DATA_DIR`, {
          details: { dir: what, holder }
        })
      }
      // The lock is on the inode we opened: if the path now names another file (it was removed
      // and created again meanwhile), ours locks nothing anyone else will look at. Try again.
      if (!sameFile(fd, this.path)) { closeSync(fd); continue }
      const holder = currentHolder()
      ftruncateSync(fd, 0)
      writeSync(fd, JSON.stringify(holder) + '\n', 0)
      fsyncSync(fd)
      this.#fd = fd
      this.#holder = holder
      return
    }
    throw new StreamsError('STATE_DIR_LOCKED', `Cannot lock ${what}: its lock file ${this.path} keeps being replaced`, { details: { dir: what } })
  }

  /** Releases the lock. The file stays (removing it would let two processes lock two different
   *  files of one name); it is emptied, so it names no holder. */
  release (): void {
    const fd = this.#fd
    if (fd === undefined) return
    this.#fd = undefined
    this.#holder = undefined
    try { ftruncateSync(fd, 0) } catch { /* the lock goes with the descriptor all the same */ }
    closeSync(fd)
  }
}

function sameFile (fd: number, path: string): boolean {
  try {
    const a = fstatSync(fd)
    const b = statSync(path)
    return a.ino === b.ino && a.dev === b.dev
  } catch {
    return false
  }
}
