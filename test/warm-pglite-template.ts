// Builds the embedded database's template (lib/db/pglite-template.ts) before any test starts, so
// that the first test files starting the embedded default at once do not each run initdb (about
// 5 s of CPU apiece). test/run.sh runs it beside tsc and eslint; a failure only costs that time.
import { loadConfig } from '../lib/config.ts'
import { ensureTemplate } from '../lib/db/pglite-template.ts'

// Where the platform looks for it: REWARDS_PGLITE_CACHE_DIR (docs/cli.md "Configuration").
const cacheDir = loadConfig({ env: process.env }).pgliteCacheDir ?? null
if (cacheDir !== null) console.log(`# embedded database template: ${await ensureTemplate(cacheDir)}`)
