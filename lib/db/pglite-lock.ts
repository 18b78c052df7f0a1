// One process at a time on an embedded PostgreSQL directory. PGlite takes no lock of its own: a
// second process that opens <data-dir>/pg beside a running platform works on its own copy, and
// whichever checkpoints last overwrites the other's writes (rows the archiver had inserted, their
// offsets committed, were lost that way). So the directory gets the OS lock the state directory
// has (stores/directory-lock.ts: flock(2), dropped by the kernel when the holder dies, SIGKILL
// included), in a file beside it. Within one process the roles share one handle
// (./shared-database.ts), and a probe or a test may open the directory again: those opens share
// the lock, counted, and the last close releases it.
import { resolve } from 'node:path'
import { DirectoryLock } from '../../stores/directory-lock.ts'

interface Held {
  readonly lock: DirectoryLock
  users: number
}

const held = new Map<string, Held>()

/** Takes the lock of PGlite directory `dir` for this process (or a share of it), or throws
 *  STATE_DIR_LOCKED naming the process that holds it. Returns the release of this share. */
export function lockPgliteDirectory (dir: string): () => void {
  const path = `${resolve(dir)}.lock`
  let entry = held.get(path)
  if (entry === undefined) {
    const lock = new DirectoryLock(path)
    lock.acquire(`the embedded PostgreSQL ${resolve(dir)}`)
    entry = { lock, users: 0 }
    held.set(path, entry)
  }
  entry.users++
  const share = entry
  let released = false
  return () => {
    if (released) return
    released = true
    if (--share.users > 0) return
    if (held.get(path) === share) held.delete(path)
    share.lock.release()
  }
}
