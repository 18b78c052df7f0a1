// The state directory: where an instance keeps its tasks' stores, and the lock that keeps two
// instances of one application from sharing it.
//
//   <stateDir>/<applicationId>/.lock                 {"pid":…,"startTime":…,"token":…}
//   <stateDir>/<applicationId>/instance-id           a UUID, created once (transactional id suffix)
//   <stateDir>/<applicationId>/<taskId>/             taskId as "<subtopology>_<partition>", e.g. 0_3
//   <stateDir>/<applicationId>/<taskId>/.checkpoint  (checkpoint-file.ts)
//   <stateDir>/<applicationId>/<taskId>/<storeName>/ one RocksDB per task and store
//
// The lock is a file created with O_EXCL holding the owner's pid and the owner's start time (from
// /proc on Linux, so a recycled pid — every container's main process is pid 1 — is not mistaken
// for the owner). A lock whose owner is dead is stale and taken over: it is first renamed aside
// (only one contender can rename it), checked to still be the stale one, and removed.
import { randomUUID } from 'node:crypto'
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { RewardsError } from '../lib/errors.ts'

const TASK_DIR = /^\d+_\d+$/
const LOCK_FILE = '.lock'
const INSTANCE_ID_FILE = 'instance-id'

interface LockContent {
  readonly pid: number
  readonly startTime: string | null
  readonly token: string
}

/** Locks held by this process (lock path → token): a second StateDirectory in the same process
 *  must not take a lock this process holds just because the pid is alive (it is ours). */
const heldLocks = new Map<string, string>()

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat); null when
 *  unavailable (not Linux, or the process is gone). */
function processStartTime (pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[19] ?? null
  } catch {
    return null
  }
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readLock (path: string): LockContent | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockContent>
    if (typeof parsed.pid !== 'number' || typeof parsed.token !== 'string') return undefined
    return { pid: parsed.pid, startTime: parsed.startTime ?? null, token: parsed.token }
  } catch {
    return undefined
  }
}

/** Whether the process that wrote `lock` is gone. An unreadable lock file is stale once it is
 *  a few seconds old (its writer died between create and write); younger, it is being written. */
function isStale (path: string, lock: LockContent | undefined): boolean {
  if (lock === undefined) {
    try {
      return Date.now() - statSync(path).mtimeMs > 2000
    } catch {
      return true // gone meanwhile
    }
  }
  if (heldLocks.get(path) === lock.token) return false
  if (lock.pid === process.pid) {
    // Our pid but not our token: written by an earlier process that had our pid (pid 1 in a
    // container restarted in place). It cannot be alive: we are.
    return true
  }
  if (!isAlive(lock.pid)) return true
  if (lock.startTime !== null) {
    const now = processStartTime(lock.pid)
    if (now !== null && now !== lock.startTime) return true // pid recycled by another process
  }
  return false
}

function writeFileDurably (path: string, content: string, flags: string): void {
  const fd = openSync(path, flags, 0o644)
  try {
    writeSync(fd, content)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

export class StateDirectory {
  readonly stateDir: string
  readonly applicationId: string
  /** `<stateDir>/<applicationId>` */
  readonly appDir: string
  #lockToken: string | undefined

  constructor (stateDir: string, applicationId: string) {
    if (!/^[A-Za-z0-9._-]+$/.test(applicationId)) throw new RewardsError('CONFIG_INVALID', `application id ${JSON.stringify(applicationId)} cannot be a directory name`)
    this.stateDir = stateDir
    this.applicationId = applicationId
    this.appDir = join(stateDir, applicationId)
  }

  get lockPath (): string {
    return join(this.appDir, LOCK_FILE)
  }

  get locked (): boolean {
    return this.#lockToken !== undefined
  }

  /** Takes the application's lock (creating the directories). Throws STATE_DIR_LOCKED naming the
   *  directory and the owner's pid when a live process holds it; takes over a stale lock. */
  lock (): void {
    if (this.#lockToken !== undefined) return
    mkdirSync(this.appDir, { recursive: true })
    const path = this.lockPath
    const token = randomUUID()
    const content = JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid), token } satisfies LockContent)
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        writeFileDurably(path, content, 'wx')
        heldLocks.set(path, token)
        this.#lockToken = token
        return
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
      const current = readLock(path)
      if (!isStale(path, current)) {
        throw new RewardsError('STATE_DIR_LOCKED', `State directory ${this.appDir} is locked by another instance (pid ${current?.pid ?? '?'}); stop it or use another REWARDS_DATA_DIR`, {
          details: { dir: this.appDir, pid: current?.pid }
        })
      }
      // Take over: rename aside (atomic, one winner), then make sure we moved the stale lock and
      // not one a faster contender created meanwhile.
      const aside = `${path}.stale-${process.pid}-${token}`
      try {
        renameSync(path, aside)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue // someone else moved it
        throw error
      }
      const moved = readLock(aside)
      if (moved !== undefined && moved.token !== current?.token) {
        // A live contender's fresh lock: put it back (link-free: rename fails only if a third
        // party created one meanwhile, which then is live too) and give up.
        try { renameSync(aside, path) } catch { /* the new lock stands */ }
        throw new RewardsError('STATE_DIR_LOCKED', `State directory ${this.appDir} is locked by another instance (pid ${moved.pid})`, {
          details: { dir: this.appDir, pid: moved.pid }
        })
      }
      rmSync(aside, { force: true })
    }
    throw new RewardsError('STATE_DIR_LOCKED', `State directory ${this.appDir}: could not take the lock (contended)`, { details: { dir: this.appDir } })
  }

  /** Releases the lock if this object holds it (only if the file is still ours). */
  unlock (): void {
    const token = this.#lockToken
    if (token === undefined) return
    this.#lockToken = undefined
    const path = this.lockPath
    heldLocks.delete(path)
    if (readLock(path)?.token === token) {
      try { unlinkSync(path) } catch { /* already gone */ }
    }
  }

  /** The instance's stable id: a UUID created on first use and kept in the state directory, so a
   *  restarted instance keeps its transactional ids (and fences its own zombie). */
  instanceId (): string {
    mkdirSync(this.appDir, { recursive: true })
    const path = join(this.appDir, INSTANCE_ID_FILE)
    try {
      const existing = readFileSync(path, 'utf8').trim()
      if (/^[0-9a-f-]{36}$/.test(existing)) return existing
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    const id = randomUUID()
    const tmp = `${path}.tmp-${process.pid}`
    writeFileDurably(tmp, `${id}\n`, 'w')
    renameSync(tmp, path)
    fsyncDir(this.appDir)
    return id
  }

  /** `<appDir>/<taskId>`, created. */
  taskDir (taskId: string): string {
    assertTaskId(taskId)
    const dir = join(this.appDir, taskId)
    mkdirSync(dir, { recursive: true })
    return dir
  }

  /** `<appDir>/<taskId>/<storeName>` (not created: the store's open() creates it). */
  storeDir (taskId: string, storeName: string): string {
    assertTaskId(taskId)
    if (!/^[A-Za-z0-9._-]+$/.test(storeName) || storeName.startsWith('.')) throw new RewardsError('CONFIG_INVALID', `store name ${JSON.stringify(storeName)} cannot be a directory name`)
    return join(this.appDir, taskId, storeName)
  }

  /** Deletes a task's stores and checkpoint (state is then restored from the changelog). Its
   *  stores must be closed. */
  wipeTask (taskId: string): void {
    assertTaskId(taskId)
    rmSync(join(this.appDir, taskId), { recursive: true, force: true })
  }

  /** Task ids with a directory here, sorted. */
  listTaskDirs (): string[] {
    if (!existsSync(this.appDir)) return []
    return readdirSync(this.appDir, { withFileTypes: true })
      .filter(entry => entry.isDirectory() && TASK_DIR.test(entry.name))
      .map(entry => entry.name)
      .sort(compareTaskIds)
  }
}

function assertTaskId (taskId: string): void {
  if (!TASK_DIR.test(taskId)) throw new RewardsError('CONFIG_INVALID', `task id ${JSON.stringify(taskId)} is not <subtopology>_<partition>`)
}

function compareTaskIds (a: string, b: string): number {
  const [a0, a1] = a.split('_').map(Number) as [number, number]
  const [b0, b1] = b.split('_').map(Number) as [number, number]
  return a0 - b0 || a1 - b1
}

/** fsync a directory so a rename in it survives a power loss. */
export function fsyncDir (dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
