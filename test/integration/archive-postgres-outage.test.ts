// Real Kafka + PostgreSQL: PostgreSQL becomes unreachable for a while (a TCP proxy between the
// archiver and the server is cut: every connection dropped, new ones refused) while records keep
// arriving; the circuit breaker opens, the archiver holds its offsets and pauses; when PostgreSQL
// is back it catches up. Nothing lost, nothing duplicated.
import t from 'tap'
import { Registry } from 'prom-client'
import { createKafkaLog } from '../../log/kafka/index.ts'
import { ensurePlatformTopics, platformTopics } from '../../lib/platform-topics.ts'
import { startArchiver, type BreakerState } from '../../processors/archive/index.ts'
import { brokers, unique } from '../cli/cli-helpers.ts'
import { countRows, proxiedTestDatabase, rewardEventBytes, waitFor } from '../archive/archive-helpers.ts'

t.test('PostgreSQL down for a while, then back: nothing lost, nothing duplicated', async t => {
  const prefix = `${unique('aout')}.`
  const { db, direct, proxy } = await proxiedTestDatabase(t, { connectTimeoutMs: 1000, queryTimeoutMs: 2000 })

  const log = createKafkaLog({ brokers, clientId: 'archive-outage-test' })
  t.teardown(() => log.close())
  const config = { topicPrefix: prefix, partitions: 3 }
  await ensurePlatformTopics(log, config)
  const topics = platformTopics(config)
  t.teardown(() => log.admin.deleteTopics(Object.values(topics)))

  const transitions: BreakerState[] = []
  const registry = new Registry()
  const archiver = startArchiver({
    log, db, topics, applicationId: unique('aout-app'), registry, batchSize: 200, maxBufferedRecords: 1000, lagIntervalMs: 200,
    breaker: { failureThreshold: 3, baseBackoffMs: 50, maxBackoffMs: 500, openMs: 1000, onStateChange: s => transitions.push(s) }
  })
  t.teardown(() => archiver.close())
  await archiver.ready

  const producer = await log.createProducer({ clientId: 'archive-outage-producer' })
  let produced = 0
  const produce = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i += 100) {
      const batch = Array.from({ length: 100 }, (_, j) => {
        const k = produced + j
        return { topic: k % 2 === 0 ? topics.rewardEvents : topics.rewardConfirmed, key: Buffer.from(`M-${k % 31}`), value: rewardEventBytes(`M-${k % 31}`, `e-${k}`) }
      })
      await producer.send(batch)
      produced += batch.length
    }
  }

  await produce(2000)
  await waitFor('first records archived', async () => (await countRows(direct)).total === 2000, 60_000)

  proxy.cut()
  t.comment('PostgreSQL cut off')
  await produce(5000) // more than the buffer bound: partitions must pause
  await waitFor('circuit open', async () => archiver.breakerState() === 'OPEN', 30_000)
  const lagWhileDown = await waitFor('lag measured while down', async () => {
    const lag = await archiver.measureLag()
    return lag > 0 ? lag : undefined
  }, 10_000)
  t.ok(lagWhileDown >= 5000, `archive lag ${lagWhileDown} while PostgreSQL is down (at least the 5000 records produced since)`)
  await new Promise(resolve => setTimeout(resolve, 5000)) // down for a while
  t.equal((await countRows(direct)).total, 2000, 'nothing written while down')
  // While PostgreSQL stays down the breaker cycles OPEN -> HALF_OPEN (a probe) -> OPEN: the gauge
  // is 2 or 1 at any instant, never 0, and it reads 2 again within one open period.
  t.notMatch(await registry.metrics(), /rewards_archive_circuit_state 0/, 'circuit state metric: not closed while down')
  t.ok(await waitFor('circuit state metric 2 (open)', async () => /rewards_archive_circuit_state 2/.test(await registry.metrics()), 10_000, 20), 'circuit state metric: open')
  t.match(await registry.metrics(), /rewards_archive_buffered_records (\d+)/)
  const buffered = Number(/rewards_archive_buffered_records (\d+)/.exec(await registry.metrics())![1])
  t.ok(buffered <= 1000 + 200, `buffer bounded while down (${buffered} rows held)`)

  proxy.restore()
  t.comment('PostgreSQL reachable again')
  await produce(1000)
  await waitFor('caught up', async () => (await countRows(direct)).total >= 8000, 60_000)
  t.equal(await waitFor('lag 0', async () => (await archiver.measureLag()) === 0 ? 0 : undefined, 30_000), 0, 'archive lag back to 0')
  await new Promise(resolve => setTimeout(resolve, 1000))
  t.same(await countRows(direct), { total: 8000, distinct: 8000 }, 'every record once')
  t.equal(archiver.breakerState(), 'CLOSED')
  t.ok(transitions.includes('OPEN') && transitions.includes('HALF_OPEN') && transitions.at(-1) === 'CLOSED', `breaker went ${transitions.join(' -> ')}`)
  const gaps = await direct.query<{ n: number }>(`SELECT count(*)::int AS n FROM (
    SELECT "offset" - lag("offset") OVER (PARTITION BY topic, "partition" ORDER BY "offset") AS step FROM archive_records) s WHERE step <> 1`)
  t.equal(gaps.rows[0]!.n, 0, 'offsets contiguous per partition: no record skipped')
})
