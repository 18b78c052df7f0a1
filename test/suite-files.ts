// Which test files run how: the one place that splits the suite (docs in README "Run the tests").
//   in-process: nothing a file loads from test/ (its own source and the test helpers it imports,
//     transitively) talks to Kafka, PostgreSQL or Redis or spawns the platform; `npm run test:unit`
//     runs these (the tests of test/topology/integration/backends.ts on the embedded log only).
//   serial: the files listed in SERIAL below, each with its reason (less those of NOT_SERIAL). `npm test` runs them one at a
//     time, after everything else, with nothing else running.
//   parallel: every other file. `npm test` runs them several at a time (TEST_JOBS, default in
//     test/run.sh): most of their time is waiting (broker round trips, session timeouts, process
//     start-up), and each isolates itself (unique topic, group and application names, a database
//     of its own or rows of its own, ports from the kernel, temp directories).
// A new test file is parallel unless listed here: it must then be isolated in the same way.
// Usage: node test/suite-files.ts in-process|parallel|serial   (prints one path a line)
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const testDir = join(root, 'test')

/** Files that must run alone, and why. Folder prefixes (ending in '/') cover every file below. */
export const SERIAL: Readonly<Record<string, string>> = {
  'test/chaos/kills-short.test.ts': 'kills platform processes at random moments; checks recovery deadlines',
  'test/chaos/shared-dir-short.test.ts': 'chaos run under traffic; a second start must fail at once',
  'test/chaos/rolling-restart-queries-kafka.test.ts': 'measures query availability and latency through restarts',
  'test/chaos/standby-queries-kill-kafka.test.ts': 'measures query availability and latency through a kill',
  'test/fault/': 'kill -9 / zombie / fencing tests: session timeouts and deadlines, CPU-heavy children',
  'test/integration/': 'full platform processes through kills and outages, with deadlines and 1 s webhook timeouts: ' +
    'at two files at a time on a loaded machine three of them timed out or saw a slow answer retried',
  'test/log/kafka/sasl-ssl.test.ts': 'starts a broker of its own (a JVM) and asserts failures within 30 s: timed out at two files at a time',
  'test/log/kafka/conformance.test.ts': 'produces right after creating topics: on a busy broker the new topic was not yet in the metadata',
  'test/bench/': 'benchmark checks: the Kafka Streams reference (JVM, Maven build into bench/java/*/target)',
  'test/lib/resilience/poll-until.test.ts': 'asserts timer precision (150 ms of slack)',
  'test/topology/runtime/changelog-reader-standby-log.test.ts': 'asserts a step returns within 400 ms',
  'test/log/embedded/kill-9-durability.test.ts': 'kill -9 at random moments of a writing child',
  'test/stores/rocksdb-kill-durability.test.ts': 'kill -9 at random moments of a writing child'
}

/** Files below a SERIAL folder that run in the parallel group after all, and why: they measure no
 *  time or rate and kill or stop no shared process. */
export const NOT_SERIAL: Readonly<Record<string, string>> = {
  'test/fault/kafkajs-aborted-filter.test.ts': 'a unit check of the patched kafkajs filter and one read_committed read of ' +
    'topics of its own (unique names); it kills nothing and has no deadline but tap\'s'
}

export function isSerial (file: string): boolean {
  if (Object.hasOwn(NOT_SERIAL, file)) return false
  return Object.keys(SERIAL).some(entry => entry.endsWith('/') ? file.startsWith(entry) : file === entry)
}

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

/** Every test file, from the repository root, sorted. */
export function allTestFiles (): string[] {
  return testFiles(testDir).map(file => relative(root, file)).sort()
}

/** The files of `npm run test:unit`. */
export function inProcessFiles (): string[] {
  return allTestFiles()
    .filter(file => !SERVICE_FOLDERS.some(folder => file.startsWith(folder)))
    .filter(file => !usesServices(join(root, file)))
}

export function parallelFiles (): string[] {
  return allTestFiles().filter(file => !isSerial(file))
}

export function serialFiles (): string[] {
  return allTestFiles().filter(isSerial)
}

if (import.meta.main) {
  const groups: Record<string, () => string[]> = { 'in-process': inProcessFiles, parallel: parallelFiles, serial: serialFiles }
  const group = groups[process.argv[2] ?? '']
  if (group === undefined) {
    console.error(`usage: node test/suite-files.ts ${Object.keys(groups).join('|')}`)
    process.exit(2)
  }
  for (const entry of Object.keys(NOT_SERIAL)) {
    if (!allTestFiles().includes(entry)) {
      console.error(`test/suite-files.ts: NOT_SERIAL names ${entry}, which is no test file`)
      process.exit(2)
    }
  }
  for (const entry of Object.keys(SERIAL)) {
    if (!allTestFiles().some(file => entry.endsWith('/') ? file.startsWith(entry) : file === entry)) {
      console.error(`test/suite-files.ts: SERIAL names ${entry}, which matches no test file`)
      process.exit(2)
    }
  }
  console.log(group().join('\n'))
}
