// The outputs waiting for their commit past maxPendingOutputBytes (the pending outputs' share of
// the memory budget, lib/memory-budget.ts) make the stream thread commit early: with a long
// commit interval (10 s: the last outputs wait for it) and a per-task bound the input never reaches, only the byte bound asks for
// commits, and every output still arrives exactly once, under both guarantees. The thread looks at
// the bound after each iteration (the tasks' outputs of one poll): 100 buffered records per
// partition keep an iteration's outputs well under the whole input.
import t from 'tap'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { BACKENDS, readUntil, tempStateDir, uniqueName } from './backends.ts'

const PARTITIONS = 3
const RECORDS = 6000
/** About 150 outputs (an output is estimated at its key and value bytes, its input's, plus 320). */
const MAX_PENDING_OUTPUT_BYTES = 64 * 1024

function topology (input: string, output: string) {
  const builder = new StreamsBuilder()
  builder.stream<string, number>(input, { valueSerde: Serdes.json<number>() })
    .mapValues(v => v * 2)
    .to(output, { valueSerde: Serdes.json<number>() })
  return builder.build()
}

async function committed (app: StreamsApplication): Promise<number> {
  const metric = (await app.registry.getMetricsAsJSON()).find(m => m.name === 'streams_commits_total')
  return (metric?.values ?? []).filter(v => v.labels.result === 'committed').reduce((n, v) => n + v.value, 0)
}

for (const backend of BACKENDS) {
  for (const processingGuarantee of ['exactly_once_v2', 'at_least_once'] as const) {
    t.test(`a small pending-output budget commits early and keeps every output (${backend.name} log, ${processingGuarantee})`, async t => {
      const { log, cleanup } = await backend.open()
      const input = uniqueName('pending-in')
      const output = uniqueName('pending-out')
      const appId = uniqueName('pending')
      await log.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS }])
      const state = tempStateDir()
      t.teardown(async () => {
        await log.admin.deleteTopics([input, output])
        await cleanup()
        state.remove()
      })
      const records = []
      for (let i = 0; i < RECORDS; i++) records.push({ topic: input, key: Buffer.from(`k${i % 97}`), value: Buffer.from(String(i)) })
      const producer = await log.createProducer({ clientId: 'pending-producer' })
      await producer.send(records)
      await producer.close()

      const app = new StreamsApplication(topology(input, output), {
        log,
        config: { applicationId: appId, stateDir: state.dir, processingGuarantee, commitIntervalMs: 10_000, maxPendingRecordsPerTask: 100_000, bufferedRecordsPerPartition: 100, maxPendingOutputBytes: MAX_PENDING_OUTPUT_BYTES }
      })
      await app.start()
      await app.waitForState('RUNNING')
      const outputs = await readUntil(log, output, PARTITIONS, all => all.length >= RECORDS)
      t.equal(outputs.length, RECORDS, 'one output per input')
      t.same(outputs.map(r => JSON.parse(r.value!.toString()) as number).sort((a, b) => a - b), records.map((_, i) => i * 2), 'each output once')
      const commits = await committed(app)
      t.ok(commits >= 5, `the byte bound forced commits (the interval is 10 s) (${commits})`)
      await app.close()
    })
  }
}
