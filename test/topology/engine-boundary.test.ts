// The lint rule of docs/engine.md "Public entry" fires both ways: the engine and lib/ importing an
// application, and an application reaching past topology/index.ts. Runs ESLint with the project's
// own configuration on source text placed (by filePath) in each folder; only the boundary rule
// runs, so no type information is needed.
import t from 'tap'
import { ESLint } from 'eslint'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const eslint = new ESLint({
  cwd: root,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports'
})

async function violations (filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath })
  return (result?.messages ?? []).map(m => `${m.ruleId ?? 'parse'}: ${m.message}`)
}

t.test('the engine and lib/ import no application', async t => {
  const cases: Array<[string, string]> = [
    ['topology/runtime/x.ts', "import type { RewardsTopics } from '../../processors/rewards/topics.ts'"],
    ['stores/x.ts', "export { x } from '../api/x.ts'"],
    ['log/kafka/x.ts', "import { run } from '../../cli/rewards.ts'"],
    ['lib/x.ts', "import { REWARDS_STORES } from '../processors/rewards/topics.ts'"]
  ]
  for (const [file, source] of cases) {
    const found = await violations(file, source)
    t.equal(found.length, 1, `${file}: ${source}`)
    t.match(found[0], /^no-restricted-imports: .*depend on no application/)
  }
  t.same(await violations('topology/runtime/x.ts', "import type { Processor } from '../processor/processor.ts'"), [], 'the engine imports itself freely')
  t.same(await violations('lib/x.ts', "import type { Log } from '../log/log-port.ts'"), [], 'lib/ may use the log port')
})

t.test('applications import the engine only through topology/index.ts', async t => {
  const cases: Array<[string, string]> = [
    ['processors/rewards/x.ts', "import { Topology } from '../../topology/topology.ts'"],
    ['processors/rewards/demo/x.ts', "import type { Log } from '../../../log/log-port.ts'"],
    ['api/query/x.ts', "import { decodeSubscription } from '../../topology/runtime/co-partition-assignor.ts'"],
    ['api/x.ts', "import type { KeyValueStore } from '../stores/key-value-store.ts'"],
    ['api/x.ts', "import type { X } from '../topology/index.ts.bak'"]
  ]
  for (const [file, source] of cases) {
    const found = await violations(file, source)
    t.equal(found.length, 1, `${file}: ${source}`)
    t.match(found[0], /^no-restricted-imports: .*only through topology\/index\.ts/)
  }
  t.match(await violations('processors/x.ts', "import { run } from '../cli/rewards.ts'"), [/composition root/], 'nor the composition root')
  t.same(await violations('processors/rewards/x.ts', "import { Serdes, type Log } from '../../topology/index.ts'"), [], 'the entry is allowed')
  t.same(await violations('api/x.ts', "import { RewardsError } from '../lib/errors.ts'\nimport type { RewardsTopics } from '../processors/rewards/topics.ts'"), [], 'lib/ and other applications are not the engine')
})

t.test('the composition root, tests and benchmarks may reach deeper', async t => {
  t.same(await violations('cli/roles/x.ts', "import { StreamThread } from '../../topology/runtime/stream-thread.ts'\nimport { RewardsTopology } from '../../processors/rewards/index.ts'"), [])
  t.same(await violations('test/topology/x.test.ts', "import { StreamTask } from '../../topology/runtime/stream-task.ts'"), [])
  t.same(await violations('bench/x.ts', "import { RocksDbStore } from '../stores/rocksdb-store.ts'"), [])
})
