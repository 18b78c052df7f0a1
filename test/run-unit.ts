// `npm run test:unit`: the in-process tests, no services needed — the fast loop while developing.
// A test file is in-process when nothing it loads from test/ (its own source and the test helpers
// it imports, transitively) talks to Kafka, PostgreSQL or Redis or spawns the platform; the tests
// that run one scenario on both logs (test/topology/integration/backends.ts) run on the embedded
// log only (TEST_BACKENDS=embedded). `npm test` runs everything, services included.
// Usage: node test/run-unit.ts [--list] [tap options…]
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const testDir = join(root, 'test')

// Folders whose tests are about processes, faults or services by design.
const SERVICE_FOLDERS = ['test/cli/', 'test/fault/', 'test/chaos/', 'test/smoke/', 'test/integration/', 'test/bench/', 'test/infra/']
// What a test (or a helper of test/ it loads) does when it needs a service or a child process.
const SERVICE_MARKERS = [
  /REWARDS_(KAFKA_BROKERS|DATABASE_URL|REDIS_URL)/, /createKafkaLog|kafka-test-helpers|from 'kafkajs'/,
  /from 'pg'|from 'ioredis'|openDatabase\(|connectRedis/, /child_process|cli-helpers|kafka-platform-world/
]
// backends.ts names the broker for its Kafka backend; TEST_BACKENDS=embedded leaves it out.
const BACKENDS_HELPER = join(testDir, 'topology/integration/backends.ts')

function testFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return testFiles(path)
    return entry.name.endsWith('.test.ts') ? [path] : []
  })
}

const importsOf = (source: string, file: string): string[] =>
  [...source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map(m => resolve(dirname(file), m[1]!))

const needsServices = new Map<string, boolean>()
function usesServices (file: string, seen = new Set<string>()): boolean {
  const known = needsServices.get(file)
  if (known !== undefined) return known
  // A path in a string (a fixture's source) may name no file: nothing to load.
  if (seen.has(file) || file === BACKENDS_HELPER || !existsSync(file)) return false
  seen.add(file)
  const source = readFileSync(file, 'utf8')
  const result = SERVICE_MARKERS.some(marker => marker.test(source)) ||
    importsOf(source, file).some(dep => dep.startsWith(testDir + '/') && usesServices(dep, seen))
  needsServices.set(file, result)
  return result
}

const unit = testFiles(testDir)
  .map(file => relative(root, file))
  .filter(file => !SERVICE_FOLDERS.some(folder => file.startsWith(folder)))
  .filter(file => !usesServices(join(root, file)))
  .sort()

const args = process.argv.slice(2)
if (args.includes('--list')) {
  console.log(unit.join('\n'))
  process.exit(0)
}
const run = spawnSync(join(root, 'node_modules/.bin/tap'), [...args, ...unit], {
  cwd: root, stdio: 'inherit', env: { ...process.env, TEST_BACKENDS: 'embedded' }
})
process.exit(run.status ?? 1)
