// The consumer runner (topology/runtime/consumer-runner.ts) on the real Kafka broker: the same
// scenarios as test/topology/runtime/consumer-runner.test.ts runs on the embedded log (poll →
// handler → commit, retry then policy, pause and resume, rebalance mid-batch, close).
import t from 'tap'
import { BACKENDS } from './backends.ts'
import { closeFlushes, pauseAndResume, pollHandleCommit, rebalanceMidBatch, retryThenPolicy } from '../runtime/consumer-runner-scenarios.ts'

for (const backend of BACKENDS.filter(b => b.name === 'kafka')) {
  t.test(`on the ${backend.name} log`, async t => {
    t.test('poll → handler → commit: committed only once handled', t => pollHandleCommit(t, backend))
    t.test('handler failure: retry with backoff, then the policy', t => retryThenPolicy(t, backend))
    t.test('pause a failing partition, resume it', t => pauseAndResume(t, backend))
    t.test('rebalance mid-batch: nothing lost, nothing committed before handled', t => rebalanceMidBatch(t, backend))
    t.test('close hands the buffer over and commits', t => closeFlushes(t, backend))
  })
}
