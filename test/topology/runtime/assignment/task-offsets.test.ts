// What a member reports of its state (task-offsets.ts): per task directory, the sum of its
// checkpoint's offsets (none without a checkpoint, none for a corrupt one); on the leader, the
// sum of each task's changelog ends.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { PartitionOffset, TopicPartition } from '../../../../log/log-port.ts'
import { CheckpointFile } from '../../../../stores/checkpoint-file.ts'
import { StateDirectory } from '../../../../stores/state-directory.ts'
import { changelogEndOffsetSums, checkpointedOffsetSums, sumOffsets } from '../../../../topology/runtime/assignment/task-offsets.ts'

t.test('checkpointed offset sums per task directory', async t => {
  const root = mkdtempSync(join(tmpdir(), 'task-offsets-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const dir = new StateDirectory(root, 'app')
  new CheckpointFile(dir.taskDir('0_0')).write([{ topic: 'app-a-changelog', partition: 0, offset: 100n }, { topic: 'app-b-changelog', partition: 0, offset: 23n }])
  new CheckpointFile(dir.taskDir('1_2')).write([{ topic: 'app-c-changelog', partition: 2, offset: 7n }])
  dir.taskDir('0_1') // a task directory without a checkpoint (exactly-once, after a crash)
  writeFileSync(join(dir.taskDir('0_3'), '.checkpoint'), '{ not json')
  const sums = checkpointedOffsetSums(dir)
  t.same([...sums].sort(), [['0_0', 123n], ['1_2', 7n]], 'one sum per checkpointed task; none without or with a corrupt one')
  t.same(checkpointedOffsetSums(new StateDirectory(join(root, 'none'), 'app')), new Map(), 'no state directory: nothing')
})

t.test('changelog end offset sums in one request', async t => {
  const calls: TopicPartition[][] = []
  const admin = {
    async listOffsets (tps: TopicPartition[]): Promise<PartitionOffset[]> {
      calls.push(tps)
      // Partition 9 is unknown to the log: counted as 0.
      return tps.filter(tp => tp.partition !== 9).map(tp => ({ ...tp, offset: BigInt(tp.partition * 10 + tp.topic.length) }))
    }
  }
  const sums = await changelogEndOffsetSums(admin, new Map([
    ['0_1', [{ topic: 'ab', partition: 1 }, { topic: 'abc', partition: 1 }]],
    ['0_9', [{ topic: 'ab', partition: 9 }]]
  ]))
  t.equal(calls.length, 1, 'one listOffsets')
  t.same([...sums], [['0_1', 12n + 13n], ['0_9', 0n]])
  t.same(await changelogEndOffsetSums(admin, new Map()), new Map(), 'no stateful task: no request')
  t.equal(calls.length, 1)
  t.equal(sumOffsets([{ offset: 1n }, { offset: 2n }]), 3n)
})
