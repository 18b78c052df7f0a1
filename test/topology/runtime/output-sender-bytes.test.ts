// OutputSender's estimate of what its records hold until the commit (the stream thread commits
// early past StreamsConfig.maxPendingOutputBytes): key and value bytes of each output, of its
// input record once per run of outputs from the same input, and a fixed overhead per output.
import t from 'tap'
import type { LogProducer, LogRecord, ProducerRecord } from '../../../log/log-port.ts'
import { OutputSender, PENDING_RECORD_OVERHEAD_BYTES } from '../../../topology/runtime/output-sender.ts'
import type { StreamTask } from '../../../topology/runtime/stream-task.ts'

const producer = { send: async () => [] } as unknown as LogProducer
const task = {} as unknown as StreamTask
const out = (key: string | null, value: string | null): ProducerRecord => ({ topic: 'out', key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value) })
const input = (key: string, value: string): LogRecord => ({ topic: 'in', partition: 0, offset: 0n, timestamp: 0, key: Buffer.from(key), value: Buffer.from(value), headers: {} })

t.test('bytes: outputs, their inputs once, the overhead', async t => {
  const sender = new OutputSender(producer, () => ({}))
  t.equal(sender.bytes, 0)
  const a = input('k1', 'value-1234') // 12 bytes
  sender.add(task, [out('k1', 'x'.repeat(100)), out('k1', null)], [a, a])
  t.equal(sender.bytes, 2 * PENDING_RECORD_OVERHEAD_BYTES + 102 + 2 + 12, 'the shared input counted once')
  sender.add(task, [out(null, 'y')], [null])
  t.equal(sender.bytes, 3 * PENDING_RECORD_OVERHEAD_BYTES + 102 + 2 + 12 + 1, 'no input (a punctuation\'s output)')
  t.equal(sender.size, 3)
})
