// The state directory: where an instance keeps its tasks' stores, and the lock that keeps two
// instances of one application from sharing it.
//
//   <stateDir>/<applicationId>/.lock                 flock(2)-locked; names its holder (JSON)
//   <stateDir>/<applicationId>/instance-id           a UUID, created once (transactional id suffix)
//   <stateDir>/<applicationId>/<taskId>/             taskId as "<subtopology>_<partition>", e.g. 0_3
//   <stateDir>/<applicationId>/<taskId>/.checkpoint  (checkpoint-file.ts)
//   <stateDir>/<applicationId>/<taskId>/<storeName>/ one RocksDB per task and store
//
// The lock is the kernel's (directory-lock.ts): held while this process lives, dropped by the
// kernel when it dies however it dies, and seen by every process on the volume whatever its PID
// namespace or container — so a second instance fails at once, naming the holder, and a killed
// one's restart takes over at once (docs/decisions/0009-state-directory-lock.md).
import { randomUUID } from 'node:crypto'
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { StreamsError } from '../topology/streams-error.ts'
import { DirectoryLock, type LockHolder } from './directory-lock.ts'

const TASK_DIR = /^\d+_\d+$/
const LOCK_FILE = '.lock'
const INSTANCE_ID_FILE = 'instance-id'

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
  #lock: DirectoryLock | undefined

  constructor (stateDir: string, applicationId: string) {
    if (!/^[A-Za-z0-9._-]+$/.test(applicationId)) throw new StreamsError('CONFIG_INVALID', `application id ${JSON.stringify(applicationId)} cannot be a directory name`)
    this.stateDir = stateDir
    this.applicationId = applicationId
    this.appDir = join(stateDir, applicationId)
  }

  get lockPath (): string {
    return join(this.appDir, LOCK_FILE)
  }

  get locked (): boolean {
    return this.#lock?.held === true
  }

  /** Who holds the lock, when this object does. */
  get lockHolder (): LockHolder | undefined {
    return this.#lock?.holder
  }

  /** Takes the application's lock (creating the directories). Throws STATE_DIR_LOCKED naming the
   *  directory and the holder (pid, host, PID namespace, since when) when another process — or
   *  another StateDirectory object of this one — holds it. */
  lock (): void {
    if (this.#lock?.held === true) return
    mkdirSync(this.appDir, { recursive: true })
    const lock = new DirectoryLock(this.lockPath)
    lock.acquire(`State directory ${this.appDir}`)
    this.#lock = lock
  }

  /** Releases the lock if this object holds it. */
  unlock (): void {
    this.#lock?.release()
    this.#lock = undefined
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
    if (!/^[A-Za-z0-9._-]+$/.test(storeName) || storeName.startsWith('.')) throw new StreamsError('CONFIG_INVALID', `store name ${JSON.stringify(storeName)} cannot be a directory name`)
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
  if (!TASK_DIR.test(taskId)) throw new StreamsError('CONFIG_INVALID', `task id ${JSON.stringify(taskId)} is not <subtopology>_<partition>`)
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
