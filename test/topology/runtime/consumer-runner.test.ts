// The consumer runner (topology/runtime/consumer-runner.ts) on the embedded log: poll → handler →
// commit, retry then policy, pause and resume, rebalance mid-batch, close. The same scenarios run
// on the real broker in test/topology/integration/consumer-runner.test.ts.
import t from 'tap'
import { BACKENDS } from '../integration/backends.ts'
import { closeFlushes, pauseAndResume, pollHandleCommit, rebalanceMidBatch, retryThenPolicy } from './consumer-runner-scenarios.ts'

const embedded = BACKENDS.find(b => b.name === 'embedded')
if (embedded === undefined) {
  t.pass('embedded backend not selected (TEST_BACKENDS)')
} else {
  t.test('poll → handler → commit: committed only once handled', t => pollHandleCommit(t, embedded))
  t.test('handler failure: retry with backoff, then the policy', t => retryThenPolicy(t, embedded))
  t.test('pause a failing partition, resume it', t => pauseAndResume(t, embedded))
  t.test('rebalance mid-batch: nothing lost, nothing committed before handled', t => rebalanceMidBatch(t, embedded))
  t.test('close hands the buffer over and commits', t => closeFlushes(t, embedded))
}
