// The stream thread's loop with its task manager, on the embedded log (docs/engine.md
// "Architecture: loop, task manager, changelog reader"): a second instance joining moves half of
// the tasks; the first instance's kept tasks resume without a restore (no restore event), the
// moved ones close with a checkpoint on the first instance and restore from the changelog on the
// second; when the second leaves, its tasks come back to the first, restoring only what was
// written meanwhile; every count stays exact throughout.
import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { openEmbeddedLog } from '../../../log/embedded/index.ts'
import type { Log, ProducerRecord } from '../../../log/log-port.ts'
import type { TaskRestored } from '../../../topology/runtime/task-manager.ts'
import { Serdes } from '../../../topology/serdes.ts'
import { StreamsApplication } from '../../../topology/streams-application.ts'
import { StreamsBuilder } from '../../../topology/streams-builder.ts'
import { readUntil, tempStateDir, uniqueName } from './backends.ts'

const PARTITIONS = 4
const KEYS = 40

function topology (input: string, output: string) {
  const builder = new StreamsBuilder()
  builder.stream<string, number>(input, { valueSerde: Serdes.json<number>() })
    .groupByKey()
    .count({ storeName: 'counts' })
    .toStream()
    .to(output, { valueSerde: Serdes.json<number>() })
  return builder.build()
}

async function until (condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

t.test('tasks move between two instances: kept ones resume, moved ones checkpoint and restore', async t => {
  const state = tempStateDir()
  const log = await openEmbeddedLog({ dir: join(state.dir, 'log') })
  const input = uniqueName('loop-in')
  const output = uniqueName('loop-out')
  const appId = uniqueName('loop')
  await log.admin.createTopics([{ name: input, partitions: PARTITIONS }, { name: output, partitions: PARTITIONS }])
  const running: StreamsApplication[] = []
  t.teardown(async () => {
    for (const app of running) await app.close()
    await log.close()
    state.remove()
  })
  const restoredBy = new Map<string, TaskRestored[]>()
  const start = async (l: Log, name: string): Promise<StreamsApplication> => {
    const app = new StreamsApplication(topology(input, output), {
      log: l, config: { applicationId: appId, stateDir: join(state.dir, name), applicationServer: `${name}:1`, sessionTimeoutMs: 6000, commitIntervalMs: 50 }
    })
    restoredBy.set(name, [])
    app.onTaskRestored(r => restoredBy.get(name)!.push(r))
    app.onStateChange(s => { if (s === 'ERROR') t.fail(`${name} failed: ${String(app.error)}`) })
    await app.start()
    running.push(app)
    return app
  }
  const stable = (): boolean => running.every(a => a.state === 'RUNNING') &&
    running.reduce((n, a) => n + a.localTasks().length, 0) === PARTITIONS &&
    running.every(a => a.localTasks().every(task => task.ready))
  const expected = new Map<string, number>()
  let produced = 0
  const produce = async (n: number): Promise<void> => {
    const producer = await log.createProducer({ clientId: 'loop-producer' })
    const records: ProducerRecord[] = []
    for (let i = 0; i < n; i++) {
      const key = `k${(produced + i) % KEYS}`
      expected.set(key, (expected.get(key) ?? 0) + 1)
      records.push({ topic: input, key: Buffer.from(key), value: Buffer.from('1') })
    }
    produced += n
    await producer.send(records)
    await producer.close()
  }
  /** Waits until the output's last count of every key is the expected one. */
  const outputsCaughtUp = async (): Promise<void> => {
    await readUntil(log, output, PARTITIONS, all => {
      const last = new Map<string, number>()
      for (const r of all) last.set(r.key!.toString(), JSON.parse(r.value!.toString()) as number)
      return [...expected].every(([k, n]) => last.get(k) === n)
    })
  }
  const answers = (): Record<string, number | undefined> => {
    const out: Record<string, number | undefined> = {}
    for (const k of expected.keys()) {
      const owner = running.find(a => a.queryMetadataForKey('counts', k).local)
      out[k] = owner?.store<string, number>('counts').get(k) ?? undefined
    }
    return out
  }

  await produce(400)
  const a = await start(log, 'a')
  await until(stable, 'a alone running')
  await outputsCaughtUp()
  t.equal(restoredBy.get('a')!.length, PARTITIONS, 'a restored each task once (nothing to restore)')
  t.same(answers(), Object.fromEntries(expected), 'a answers every count')

  const b = await start(log, 'b')
  await until(() => stable() && b.localTasks().length > 0, 'a and b sharing the tasks')
  const moved = b.localTasks().map(task => task.task).sort()
  const kept = a.localTasks().map(task => task.task).sort()
  t.equal(moved.length + kept.length, PARTITIONS)
  t.ok(moved.length >= 1 && kept.length >= 1, `tasks split: a keeps ${kept.join(',')}, b takes ${moved.join(',')}`)
  t.equal(restoredBy.get('a')!.length, PARTITIONS, 'a\'s kept tasks resumed without a restore')
  t.same(restoredBy.get('b')!.map(r => r.task).sort(), moved, 'b restored the tasks it took')
  // b's copies come from the changelog a wrote: a task still pending its revocation on a is
  // opened on b as a standby that reads ahead, so the restore when it turns active may be an
  // empty delta; what b answers shows where its state came from.
  t.same(answers(), Object.fromEntries(expected), 'b answers the moved counts from the changelog a wrote')
  // a closes the moved tasks in the background after its revocation (it rejoins at once), so
  // their checkpoints can land after both members run.
  const checkpointedByA = (task: string): boolean => existsSync(join(state.dir, 'a', appId, task, '.checkpoint'))
  await until(() => moved.every(checkpointedByA), 'a checkpointing the moved tasks', 10_000).catch(() => {})
  for (const task of moved) t.ok(checkpointedByA(task), `a checkpointed ${task} when it moved`)

  await produce(400)
  await outputsCaughtUp()
  t.same(answers(), Object.fromEntries(expected), 'the two answer every count')

  await b.close()
  running.splice(running.indexOf(b), 1)
  for (const task of moved) t.ok(existsSync(join(state.dir, 'b', appId, task, '.checkpoint')), `b checkpointed ${task} at its clean close`)
  await until(stable, 'a alone again')
  const back = restoredBy.get('a')!.slice(PARTITIONS)
  t.same(back.map(r => r.task).sort(), moved, 'a restores the tasks that come back')
  await produce(400)
  await outputsCaughtUp()
  t.same(answers(), Object.fromEntries(expected), 'a answers every count again')
})
