// Builds the embedded database's template (lib/db/pglite-template.ts) before any test starts, so
// that the first test files starting the embedded default at once do not each run initdb (about
// 5 s of CPU apiece). test/run.sh runs it beside tsc and eslint; a failure only costs that time.
import { defaultTemplateCacheDir, ensureTemplate } from '../lib/db/pglite-template.ts'

const cacheDir = defaultTemplateCacheDir()
if (cacheDir !== null) console.log(`# embedded database template: ${await ensureTemplate(cacheDir)}`)
