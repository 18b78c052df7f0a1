// Every row of docs/engine.md "Faults and recovery" that a real broker cannot be made to answer on
// demand (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_ID_MAPPING,
// INVALID_TXN_STATE, authorization, timeouts): the error objects are @platformatic/kafka's own
// (ResponseError carrying ProtocolErrors, as its Produce / EndTxn parsers throw them), built here
// because the broker only sends these codes after faults (lost producer state, ACL changes) a test
// cannot cause. The rows the broker can be made to answer are tested on it:
// record-refused.test.ts, zombie-producer-fencing.test.ts, stale-generation-fencing.test.ts.
import t from 'tap'
import { MultipleErrors, ProtocolError, protocolErrors, ResponseError, TimeoutError } from '@platformatic/kafka'
import { isRewardsError } from '../../../lib/errors.ts'
import { isRetriable, protocolErrorOf, toStreamsError, TRANSACTION_STATE_ERRORS } from '../../../log/kafka/kafka-errors.ts'
import { refusedRecords } from '../../../log/kafka/refused-records.ts'
import { classifyCommitFailure } from '../../../topology/runtime/commit-recovery.ts'

/** As the client throws a failed request: MultipleErrors around a ResponseError of the API. */
function failed (apiKey: number, ...codes: string[]): Error {
  const response = new ResponseError(apiKey, 11, Object.fromEntries(codes.map((code, i) => [`/responses/${i}`, [protocolErrors[code as keyof typeof protocolErrors]!.code, null]])), {})
  return new MultipleErrors('request failed', [response])
}

/** The engine's class of the error the producer would reject with (kafka-producer.ts #failure). */
function engineClass (error: Error): string {
  if (protocolErrorOf(error, TRANSACTION_STATE_ERRORS) !== null) return 'corrupted'
  return classifyCommitFailure(toStreamsError(error, 'LOG_TRANSACTION_ABORTED'))
}

t.test('producer state lost or fenced: task migrated (replace the producer)', async t => {
  for (const code of ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_ID_MAPPING', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']) {
    const error = failed(0, code)
    const mapped = toStreamsError(error, 'LOG_TRANSACTION_ABORTED')
    t.ok(isRewardsError(mapped, 'LOG_PRODUCER_FENCED'), `${code} → LOG_PRODUCER_FENCED`)
    t.equal(mapped.details?.protocolError, code, `${code}: named in details`)
    t.equal(engineClass(error), 'migrated', `${code}: the engine migrates the tasks`)
    t.notOk(isRetriable(error), `${code}: not retried with the same producer`)
  }
})

t.test('invalid transaction state, unknown server error: outcome unknown (task corrupted)', async t => {
  for (const code of ['INVALID_TXN_STATE', 'UNKNOWN_SERVER_ERROR', 'TRANSACTION_ABORTABLE']) t.equal(engineClass(failed(26, code)), 'corrupted', code)
})

t.test('authorization: fatal', async t => {
  for (const code of ['TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']) {
    const mapped = toStreamsError(failed(0, code), 'LOG_TRANSACTION_ABORTED')
    t.ok(isRewardsError(mapped, 'LOG_AUTHORIZATION'), `${code} → LOG_AUTHORIZATION`)
    t.equal(classifyCommitFailure(mapped), 'fatal', `${code}: fatal`)
  }
})

t.test('timeouts, unreachable or moving brokers: retried', async t => {
  t.ok(isRetriable(new TimeoutError('Request timed out')), 'a request timeout')
  t.ok(isRetriable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), 'a refused connection')
  for (const code of ['NOT_LEADER_OR_FOLLOWER', 'COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR', 'CONCURRENT_TRANSACTIONS', 'REQUEST_TIMED_OUT', 'NETWORK_EXCEPTION', 'NOT_ENOUGH_REPLICAS']) {
    t.ok(isRetriable(failed(0, code)), code)
  }
})

t.test('a Produce response refusing records names them, with or without record_errors', async t => {
  const response = {
    responses: [{
      name: 'out',
      partitionResponses: [
        { index: 0, errorCode: 32, errorMessage: 'invalid timestamp', recordErrors: [{ batchIndex: 1, batchIndexErrorMessage: 'ts out of range' }] },
        { index: 1, errorCode: 87, errorMessage: 'invalid record', recordErrors: [{ batchIndex: 0, batchIndexErrorMessage: 'no key on a compacted topic' }] },
        { index: 2, errorCode: 10, errorMessage: null, recordErrors: [] }
      ]
    }]
  }
  const error = new MultipleErrors('Producing messages failed.', [new ResponseError(0, 11, { '/responses/0/partition_responses/0': [32, null] }, response)])
  const sent = [{ topic: 'out', partition: 0 }, { topic: 'out', partition: 1 }, { topic: 'out', partition: 0 }, { topic: 'out', partition: 2 }, { topic: 'out', partition: 2 }]
  const refusal = refusedRecords(error, sent)
  t.equal(refusal?.exact, false, 'partition 2 named only as a batch')
  t.same(refusal?.refused.map(r => [r.index, r.partition, r.code]), [[2, 0, 'INVALID_TIMESTAMP'], [1, 1, 'INVALID_RECORD'], [3, 2, 'MESSAGE_TOO_LARGE'], [4, 2, 'MESSAGE_TOO_LARGE']], 'indexes into the request, by partition and batch index')
  t.equal(refusedRecords(new ProtocolError('NOT_LEADER_OR_FOLLOWER'), sent), null, 'other errors are not refusals')
})
