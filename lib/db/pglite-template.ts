// A new embedded database starts as a copy of a cached, freshly initialised PGlite data directory
// (docs/archive.md "Embedded PostgreSQL"). Creating one runs initdb in WebAssembly: about 5.4 s of
// CPU; copying a finished one (39 MB, ~1,000 files) about 0.1 s. The template is the bare initdb
// result, no migrations: every data dir still runs lib/db/migrations itself, so schema_migrations,
// its timestamps and the start-up messages are those of a fresh directory.
//
// - Only a data dir that does not exist or is an empty directory is seeded; an existing one is
//   never touched.
// - Keyed by the PGlite version (its initdb output) and TEMPLATE_FORMAT; a template dir appears
//   only complete (built beside it, then renamed), so two processes building at once both
//   succeed and one copy is kept. The seeded dir is likewise copied beside its place and renamed.
// - Any failure (cache unwritable, copy error, a lost rename race) leaves the normal path: PGlite
//   initialises the directory itself.
import { cpSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
export { standardTemplateCacheDir } from './pglite-cache-dir.ts'

/** Bump when what a template holds changes. */
const TEMPLATE_FORMAT = 1
/** Written last into a template: a template dir without it is not used. */
const COMPLETE_MARKER = 'rewards-template.json'

let pgliteVersion: string | undefined
function installedPgliteVersion (): string {
  if (pgliteVersion === undefined) {
    const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'))
    const manifest = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }
    pgliteVersion = manifest.version
  }
  return pgliteVersion
}

/** The template's directory name in the cache. */
export function templateKey (): string {
  return `pglite-${installedPgliteVersion()}-f${TEMPLATE_FORMAT}`
}

/** True when `dir` may be seeded: absent, or an empty directory. */
export function isNewDataDir (dir: string): boolean {
  if (!existsSync(dir)) return true
  try {
    return readdirSync(dir).length === 0
  } catch {
    return false
  }
}

const scratchName = (target: string, what: string): string =>
  join(dirname(target), `.${basename(target)}.${what}-${process.pid}-${randomBytes(4).toString('hex')}`)

/** Initialises an empty PGlite data dir in `dir` (the slow part the template saves). */
async function initialise (dir: string): Promise<void> {
  const db = await PGlite.create(dir)
  await db.close()
}

export interface TemplateOptions {
  /** The cache root; null → no template. */
  readonly cacheDir: string | null
  /** Builds a fresh data dir in an empty directory; tests replace it. */
  readonly initialise?: (dir: string) => Promise<void>
}

/** The complete template dir, built (and cached) when missing. Throws when it cannot be built. */
export async function ensureTemplate (cacheDir: string, build: (dir: string) => Promise<void> = initialise): Promise<string> {
  const template = join(cacheDir, templateKey())
  if (existsSync(join(template, COMPLETE_MARKER))) return template
  mkdirSync(cacheDir, { recursive: true })
  const scratch = scratchName(template, 'building')
  try {
    mkdirSync(scratch)
    await build(scratch)
    writeFileSync(join(scratch, COMPLETE_MARKER), JSON.stringify({ key: templateKey(), builtAt: new Date().toISOString() }) + '\n')
    if (existsSync(template) && !existsSync(join(template, COMPLETE_MARKER))) {
      // An incomplete template (a manual copy, a disk fault): replaced, never used.
      rmSync(template, { recursive: true, force: true })
    }
    try {
      renameSync(scratch, template)
    } catch (error) {
      // Another process published one first: use it.
      if (!existsSync(join(template, COMPLETE_MARKER))) throw error
    }
    return template
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

/** Fills the new data dir `dir` with a copy of the template. Returns false (and leaves `dir` as it
 *  was) when there is no template or anything fails: the caller then initialises it normally. */
export async function seedFromTemplate (dir: string, options: TemplateOptions): Promise<boolean> {
  if (options.cacheDir === null || !isNewDataDir(dir)) return false
  let scratch: string | undefined
  try {
    const template = await ensureTemplate(options.cacheDir, options.initialise)
    mkdirSync(dirname(dir), { recursive: true })
    scratch = scratchName(dir, 'seeding')
    // Reflink where the file system has it, a plain copy otherwise; never a hard link (PostgreSQL
    // writes its files in place).
    cpSync(template, scratch, { recursive: true, mode: constants.COPYFILE_FICLONE })
    rmSync(join(scratch, COMPLETE_MARKER))
    if (existsSync(join(scratch, 'postmaster.pid'))) {
      // Copied from a database that was open (never built so): no use, and openDatabase would
      // take the copy's lock file for another process's.
      discardTemplate(options.cacheDir)
      return false
    }
    if (!isNewDataDir(dir)) return false
    // rename(2) replaces an empty directory; elsewhere remove it first (rmdir removes only an
    // empty one: a dir filled meanwhile stays, and the rename then fails).
    try {
      renameSync(scratch, dir)
    } catch {
      if (existsSync(dir)) rmdirSync(dir)
      renameSync(scratch, dir)
    }
    scratch = undefined
    return true
  } catch {
    return false
  } finally {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true })
  }
}

/** Drops the cached template (a seeded copy failed to open): the next new data dir rebuilds it. */
export function discardTemplate (cacheDir: string): void {
  const template = join(cacheDir, templateKey())
  try {
    rmSync(join(template, COMPLETE_MARKER), { force: true })
    rmSync(template, { recursive: true, force: true })
  } catch {
    // Best effort: a template left behind is checked again on the next use.
  }
}
