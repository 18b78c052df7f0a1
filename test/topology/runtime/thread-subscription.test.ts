// What a member tells the leader at a join (thread-subscription.ts): actives given here that their
// owner still revokes, and standbys not opened yet, are reported in their role from their
// checkpoint (docs/engine.md "Group protocol and rebalancing", "Standby tasks").
import t from 'tap'
import { mkdtempSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CheckpointFile } from '../../../stores/checkpoint-file.ts'
import { StateDirectory } from '../../../stores/state-directory.ts'
import type { Topology } from '../../../topology/topology.ts'
import { decodeSubscriptionInfo } from '../../../topology/runtime/assignment/subscription-info.ts'
import { resolveStreamsConfig } from '../../../topology/runtime/streams-config.ts'
import type { TaskManager } from '../../../topology/runtime/task-manager.ts'
import { ThreadSubscription } from '../../../topology/runtime/thread-subscription.ts'

t.test('pending actives are warm-ups and pending standbys keep their role, both at their checkpoint', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'thread-subscription-'))
  const stateDirectory = new StateDirectory(dir, 'app')
  for (const [task, offset] of [['0_1', 40n], ['0_2', 7n], ['0_3', 5n]] as const) {
    mkdirSync(stateDirectory.taskDir(task), { recursive: true })
    new CheckpointFile(join(stateDirectory.taskDir(task), '.checkpoint')).write([{ topic: 'app-sums-changelog', partition: Number(task.split('_')[1]), offset }])
  }
  const topology = { storeDefinition: () => ({ changelog: true }) } as unknown as Topology
  const subscription = new ThreadSubscription({
    config: resolveStreamsConfig({ applicationId: 'app', stateDir: dir }),
    topology,
    subtopologies: [{ id: 0, nodes: [], sourceTopics: ['in'], stores: ['sums'] }],
    partitionsPerSubtopology: new Map([[0, 4]]),
    admin: { listOffsets: async tps => tps.map(tp => ({ ...tp, offset: 50n })) },
    stateDirectory,
    instanceId: 'p1'
  })
  const tasks = {
    running: new Map([['0_0', {}]]),
    suspended: new Map(),
    restoring: new Map(),
    standbys: new Map(),
    pendingActives: new Set(['0_1']),
    pendingStandbys: new Map([['0_2', false], ['0_3', true]])
  } as unknown as TaskManager
  const info = decodeSubscriptionInfo(await subscription.build(tasks, undefined, undefined), 'm1')
  t.same(info.previousActive, ['0_0'])
  t.same(info.previousWarmup, ['0_1', '0_3'], 'the pending active and the pending warm-up')
  t.same(info.previousStandby, ['0_2'])
  t.equal(info.taskOffsetSums.get('0_1'), 40n, 'from its checkpoint: nothing was opened')
  t.equal(info.taskOffsetSums.get('0_2'), 7n)
})
