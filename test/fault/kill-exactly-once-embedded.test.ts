// Kill -9 under exactly-once on the embedded log: the child appends 100k input records itself
// (the log is single-process) and aggregates them; it is killed at random moments at least 5
// times and restarted; then every output must exist exactly once and the store equal the oracle.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openEmbeddedLog } from '../../log/embedded/index.ts'
import type { LogRecord } from '../../log/log-port.ts'
import { checkExactlyOnce, type Totals } from './exactly-once-check.ts'
import { kill9, randomPause, startChild } from './kill-harness.ts'
import { PARTITIONS } from './fixtures/aggregating-workload.ts'

const RECORDS = Number(process.env.KILL_TEST_RECORDS ?? 100_000)
const KILLS = 5

t.test('kill -9 five times while processing 100k records on the embedded log', async t => {
  const root = mkdtempSync(join(tmpdir(), 'rewards-kill-embedded-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const env = {
    BACKEND: 'embedded', LOG_DIR: join(root, 'log'), STATE_DIR: join(root, 'state'),
    APP_ID: 'kill-embedded', IN: 'in', OUT: 'out', GENERATE: String(RECORDS)
  }
  {
    const log = await openEmbeddedLog({ dir: env.LOG_DIR })
    await log.admin.createTopics([{ name: 'in', partitions: PARTITIONS }, { name: 'out', partitions: PARTITIONS }])
    await log.close()
  }
  for (let k = 0; k < KILLS; k++) {
    const c = startChild(env)
    await c.running
    await randomPause(300, 2500)
    await kill9(c)
    t.pass(`killed run ${k + 1}`)
  }
  const dumpFile = join(root, 'store.json')
  const last = startChild({ ...env, DUMP: dumpFile })
  const code = await last.exited
  t.equal(code, 0, `final run exits cleanly${code === 0 ? '' : ':\n' + last.output()}`)

  const log = await openEmbeddedLog({ dir: env.LOG_DIR })
  t.teardown(() => log.close())
  const readAll = async (topic: string): Promise<LogRecord[]> => {
    const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }))
    const ends = await log.admin.listOffsets(tps, 'latest')
    const reader = log.createPartitionReader({ clientId: 'verify' })
    reader.assign(tps.map(tp => ({ ...tp, offset: 0n })))
    const out: LogRecord[] = []
    while (ends.some(e => reader.position(e) < e.offset)) out.push(...await reader.poll(200))
    await reader.close()
    return out
  }
  const inputs = (await readAll('in')).map(r => ({ key: r.key!.toString(), value: JSON.parse(r.value!.toString()) as { i: number, amount: number } }))
  const outputs = (await readAll('out')).map(r => ({ key: r.key!.toString(), value: JSON.parse(r.value!.toString()) as Totals }))
  t.equal(inputs.length, RECORDS, 'every input record was appended once')
  t.equal(outputs.length, RECORDS, 'one output per input record')
  const store = JSON.parse(readFileSync(dumpFile, 'utf8')) as Record<string, Totals>
  const { problems, oracle } = checkExactlyOnce(inputs, outputs, store)
  t.same(problems, [], 'no lost or doubled update, store equals the oracle')
  t.equal(Object.keys(store).length, oracle.size)
})
