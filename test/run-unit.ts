// `npm run test:unit`: the in-process tests, no services needed — the fast loop while developing.
// Which files those are is decided in test/suite-files.ts; the tests that run one scenario on both
// logs (test/topology/integration/backends.ts) run on the embedded log only (TEST_BACKENDS=embedded).
// Two files at a time (--jobs 2, as many as the cores of the reference machine), the files that
// must run alone (test/suite-files.ts SERIAL) afterwards one by one. `npm test` runs everything,
// services included.
// Usage: node test/run-unit.ts [--list] [tap options…]   (--jobs N overrides the 2)
import { spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import { inProcessFiles, isSerial } from './suite-files.ts'

const root = resolve(import.meta.dirname, '..')
const unit = inProcessFiles()

const args = process.argv.slice(2)
if (args.includes('--list')) {
  console.log(unit.join('\n'))
  process.exit(0)
}
const tap = (jobs: string[], files: string[]): number => {
  if (files.length === 0) return 0
  const run = spawnSync(join(root, 'node_modules/.bin/tap'), [...jobs, ...args, ...files], {
    cwd: root, stdio: 'inherit', env: { ...process.env, TEST_BACKENDS: 'embedded' }
  })
  return run.status ?? 1
}
const jobsGiven = args.some(a => a === '--jobs' || a.startsWith('--jobs=') || a === '-j' || /^-j\d/.test(a))
const parallel = tap(jobsGiven ? [] : ['--jobs', '2'], unit.filter(file => !isSerial(file)))
const serial = tap(jobsGiven ? [] : ['--jobs', '1'], unit.filter(isSerial))
process.exit(parallel !== 0 ? parallel : serial)
