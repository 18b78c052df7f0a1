// <data-dir>/admin.json: how a `rewards` command reaches the platform running on the same embedded
// database — {pid, url, token} of the client-admin routes (api/auth/client-admin-routes.ts).
// Written by the auth role once the server listens (mode 0600), removed when it stops; a file
// left by a killed process is recognised by its dead pid and ignored.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface AdminRunFile {
  readonly pid: number
  readonly url: string
  readonly token: string
}

export function adminRunFilePath (dataDir: string): string {
  return join(dataDir, 'admin.json')
}

export function newAdminToken (): string {
  return randomBytes(32).toString('base64url')
}

export function writeAdminRunFile (dataDir: string, content: AdminRunFile): void {
  mkdirSync(dataDir, { recursive: true })
  const path = adminRunFilePath(dataDir)
  const temp = `${path}.${process.pid}.tmp`
  writeFileSync(temp, JSON.stringify(content), { mode: 0o600 })
  renameSync(temp, path)
}

/** Removes the file if it is this process's (another platform may have replaced it). */
export function removeAdminRunFile (dataDir: string): void {
  if (readAdminRunFile(dataDir)?.pid === process.pid) rmSync(adminRunFilePath(dataDir), { force: true })
}

/** The file of a live process, or undefined (none, unreadable, or its process is gone). */
export function readAdminRunFile (dataDir: string): AdminRunFile | undefined {
  let content: AdminRunFile
  try {
    content = JSON.parse(readFileSync(adminRunFilePath(dataDir), 'utf8')) as AdminRunFile
  } catch {
    return undefined
  }
  if (!Number.isInteger(content.pid) || typeof content.url !== 'string' || typeof content.token !== 'string') return undefined
  try {
    process.kill(content.pid, 0)
  } catch (error) {
    // EPERM: alive but another user's; ESRCH: gone.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined
  }
  return content
}

/** The base URL of the platform running on this data directory, for the hints of commands that
 *  refuse while it runs: the address its auth role announced in admin.json (the port it really
 *  bound, `--http-port 0` included), else this command's own REWARDS_HTTP_HOST:REWARDS_HTTP_PORT. */
export function runningPlatformUrl (config: { readonly dataDir: string, readonly httpHost: string, readonly httpPort: number }): string {
  return readAdminRunFile(config.dataDir)?.url ?? `http://${config.httpHost}:${config.httpPort}`
}
