// Restore does not hold up running tasks (docs/engine.md "State, checkpoints, restore"): on a
// fresh state directory, task 0_0 restores a long changelog while task 0_1, with nothing to
// restore, processes its input and commits it (its results are visible to queries before the
// restore ends); the restore reports its progress with the records it applied.
import t from 'tap'
import type { Log } from '../../../log/log-port.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { partitionOf } from '../../chaos/traffic-generator.ts'
import { BACKENDS, tempStateDir, uniqueName } from './backends.ts'

/** Long enough a restore for task 0_1 to process and commit meanwhile: Kafka restores decode
 *  straight into keys and values (log/kafka/kafka-entry-fetch.ts), several times faster. */
const CHANGELOG_RECORDS: Record<string, number> = { kafka: 1_200_000 }
const DEFAULT_CHANGELOG_RECORDS = 400_000
const INPUT_RECORDS = 200

function topology (input: string, output: string, processedAt: number[]) {
  const builder = new StreamsBuilder()
  builder.stream<string, number>(input, { valueSerde: Serdes.json<number>() })
    .peek(() => { processedAt.push(Date.now()) })
    .groupByKey()
    .aggregate(() => 0, (_k, v, sum) => sum + v, { storeName: 'sums', valueSerde: Serdes.json<number>() })
    .toStream()
    .to(output, { valueSerde: Serdes.json<number>() })
  return builder.build()
}

/** n keys that the default partitioner (murmur2) puts on `partition` of 2: where queries look. */
function keysOf (partition: number, prefix: string, n: number): string[] {
  const keys: string[] = []
  for (let i = 0; keys.length < n; i++) if (partitionOf(`${prefix}${i}`, 2) === partition) keys.push(`${prefix}${i}`)
  return keys
}

async function produce (log: Log, records: Array<{ topic: string, partition: number, key: string, value: string }>): Promise<void> {
  const producer = await log.createProducer({ clientId: uniqueName('restore-while-running-producer') })
  try {
    for (let i = 0; i < records.length; i += 20_000) {
      await producer.send(records.slice(i, i + 20_000).map(r => ({ topic: r.topic, partition: r.partition, key: Buffer.from(r.key), value: Buffer.from(r.value) })))
    }
  } finally {
    await producer.close()
  }
}

for (const backend of BACKENDS) {
  t.test(`a task processes while another restores, on the ${backend.name} log`, async t => {
    const { log, cleanup } = await backend.open()
    const input = uniqueName('rwr-in')
    const output = uniqueName('rwr-out')
    const appId = uniqueName('rwr')
    const changelog = `${appId}-sums-changelog`
    await log.admin.createTopics([{ name: input, partitions: 2 }, { name: output, partitions: 2 }, { name: changelog, partitions: 2, config: { 'cleanup.policy': 'compact' } }])
    const state = tempStateDir()
    t.teardown(async () => {
      await log.admin.deleteTopics([input, output, changelog])
      await cleanup()
      state.remove()
    })
    // Task 0_0's state: a long changelog (as a previous owner left it); task 0_1's: nothing.
    const changelogRecords = CHANGELOG_RECORDS[backend.name] ?? DEFAULT_CHANGELOG_RECORDS
    const oldKeys = keysOf(0, 'old', changelogRecords)
    await produce(log, oldKeys.map((key, i) => ({ topic: changelog, partition: 0, key, value: String(i) })))
    // Input only for task 0_1.
    const newKeys = keysOf(1, 'new', 10)
    await produce(log, Array.from({ length: INPUT_RECORDS }, (_, i) => ({ topic: input, partition: 1, key: newKeys[i % 10]!, value: '1' })))

    const processedAt: number[] = []
    const app = new StreamsApplication(topology(input, output, processedAt), { log, config: { applicationId: appId, stateDir: state.dir } })
    const restored = new Map<string, { atMs: number, records: number }>()
    app.onTaskRestored(r => { restored.set(r.task, { atMs: Date.now(), records: r.records }) })
    const progress: Array<{ restored: number, remaining: number, done: boolean }> = []
    app.onRestoreProgress(p => { progress.push({ restored: p.restored, remaining: p.remaining, done: p.done }) })
    t.teardown(() => app.close())
    // When task 0_1's results become visible (committed) to interactive queries.
    let visibleAt: number | undefined
    const watch = setInterval(() => {
      try {
        if (visibleAt === undefined && app.store<string, number>('sums').get(newKeys[3]!) === INPUT_RECORDS / 10) visibleAt = Date.now()
      } catch { /* not assigned or not restored yet */ }
    }, 20)
    t.teardown(() => clearInterval(watch))
    await app.start()
    await app.waitForState('RUNNING', 180_000)
    clearInterval(watch)

    t.equal(restored.get('0_0')?.records, changelogRecords, 'task 0_0 restored its whole changelog')
    t.equal(processedAt.length, INPUT_RECORDS, 'task 0_1 processed all its input')
    const restoreEnd = restored.get('0_0')!.atMs
    t.ok(processedAt.at(-1)! < restoreEnd,
      `task 0_1 finished its input ${restoreEnd - processedAt.at(-1)!} ms before task 0_0's restore ended`)
    // Committed soon after, not held until the restore ends: from the last record processed, the
    // results became visible in less than 3/4 of the time the restore still took (a commit that
    // waits for the restore shows up just before its end, 0.99 of it).
    const lastProcessed = processedAt.at(-1)!
    const share = visibleAt === undefined ? Infinity : (visibleAt - lastProcessed) / (restoreEnd - lastProcessed)
    t.ok(share < 0.75,
      `and committed it meanwhile: visible ${visibleAt === undefined ? 'only after the restore' : `${visibleAt - lastProcessed} ms after its last record, ${restoreEnd - visibleAt} ms before the restore ended`} (share ${share.toFixed(2)})`)
    const last = progress.at(-1)
    t.ok(last?.done === true && last.restored >= changelogRecords && last.remaining === 0,
      `the last progress report says done, with the records applied (${JSON.stringify(last)})`)
    t.same(app.store<string, number>('sums').get(newKeys[3]!), INPUT_RECORDS / 10, 'task 0_1 answers from its store')
    t.same(app.store<string, number>('sums').get(oldKeys[123]!), 123, 'and task 0_0 from its restored store')
  })
}
