// The embedded PostgreSQL template's default cache directory (lib/db/pglite-template.ts), apart
// from the template code: the settings table (lib/config-settings.ts) takes it as the default of
// REWARDS_PGLITE_CACHE_DIR, and every command loads that table, so this must not load PGlite.
import { homedir } from 'node:os'
import { join } from 'node:path'

/** Where templates are cached unless configured (REWARDS_PGLITE_CACHE_DIR, lib/config-settings.ts):
 *  `$XDG_CACHE_HOME/rewards/pglite`, else `~/.cache/rewards/pglite`. */
export function standardTemplateCacheDir (env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache')
  return join(base, 'rewards', 'pglite')
}
