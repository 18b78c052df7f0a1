// `rewards start` on the real broker, an earn event dated two days ahead among ordinary ones: its
// confirmation would carry that event time, which the broker refuses (INVALID_TIMESTAMP, Kafka 4's
// message.timestamp.after.max.ms is one hour). The rewards platform's production exception
// handler (processors/rewards/production-dlq.ts, wired by the processor role) sends the input to
// reward-events-dlq as OUTPUT_REFUSED; the process stays ready, the other events are confirmed
// once, and the balance counts only them.
import t from 'tap'
import type { LogRecord } from '../../log/log-port.ts'
import { rewardEvent, RunningCli, unique, waitForStatus } from './cli-helpers.ts'
import { kafkaPlatformWorld } from './kafka-platform-world.ts'

t.test('an output the broker refuses: its input dead-lettered, the process stays up', async t => {
  const { prefix, dataDir, env, log } = kafkaPlatformWorld(t, 'cli-refused', 2)

  const cli = new RunningCli(['start', '--role', 'processor', '--create-topics'], { cwd: dataDir, env })
  t.teardown(() => cli.kill())
  const base = `http://127.0.0.1:${await cli.httpPort()}`
  await waitForStatus(`${base}/health/ready`, 200)

  // Event times within days of now: the one ahead is refused for being ahead, nothing else (before
  // the client's varint patch, decision 0008, gaps of ≥ 2^31 ms in a batch were mis-stamped).
  const at = (offsetMs: number): string => new Date(Date.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z')
  const ahead = at(2 * 24 * 3_600_000)
  const producer = await log.createProducer({ clientId: unique('cli-refused-producer') })
  await producer.send([
    { topic: `${prefix}reward-events`, key: Buffer.from('R-1'), value: rewardEvent('R-1', 'r-1', 10_000, at(-120_000)) },
    { topic: `${prefix}reward-events`, key: Buffer.from('R-1'), value: rewardEvent('R-1', 'r-ahead', 50_000, ahead) },
    { topic: `${prefix}reward-events`, key: Buffer.from('R-1'), value: rewardEvent('R-1', 'r-2', 20_000, at(-60_000)) }
  ])
  await producer.close()

  const line = await cli.waitForLine(l => l.event === 'production.record-replaced', 90_000)
  t.match(line, { event: 'production.record-replaced', code: 'INVALID_TIMESTAMP', input: { topic: `${prefix}reward-events` } }, 'one log line names the refusal')

  const reader = log.createPartitionReader({ clientId: unique('cli-refused-reader') })
  reader.assign([0, 1].flatMap(partition => [`${prefix}reward-confirmed`, `${prefix}reward-events-dlq`].map(topic => ({ topic, partition, offset: 0n }))))
  const records: LogRecord[] = []
  const deadline = Date.now() + 60_000
  while (records.length < 3 && Date.now() < deadline) records.push(...await reader.poll(200))
  records.push(...await reader.poll(500)) // nothing more may come
  await reader.close()
  const confirmed = records.filter(r => r.topic.endsWith('reward-confirmed')).map(r => (JSON.parse(r.value!.toString()) as { eventId: string }).eventId)
  const dead = records.filter(r => r.topic.endsWith('reward-events-dlq'))
  t.same(confirmed.sort(), ['r-1', 'r-2'], 'the other events confirmed once each')
  t.equal(dead.length, 1, 'one dead letter')
  t.equal(dead[0]?.headers['error.code']?.toString(), 'OUTPUT_REFUSED', 'error.code OUTPUT_REFUSED')
  t.match(dead[0]?.headers['error.message']?.toString(), /INVALID_TIMESTAMP/, 'error.message names the broker\'s reason')
  t.equal(dead[0]?.value?.toString(), rewardEvent('R-1', 'r-ahead', 50_000, ahead).toString(), 'the input unchanged')

  t.equal((await fetch(`${base}/health/ready`)).status, 200, 'still ready')
  t.equal((await fetch(`${base}/health/live`)).status, 200, 'still live')
  const metrics = await (await fetch(`${base}/metrics`)).text()
  t.match(metrics, /streams_production_exceptions_total\{topic="[^"]*reward-confirmed",code="INVALID_TIMESTAMP",response="CONTINUE"\} 1/, 'counted')
  t.match(metrics, /rewards_dlq_records_total\{topic="[^"]*reward-events-dlq",code="OUTPUT_REFUSED"\} 1/, 'counted as a dead letter')
})
