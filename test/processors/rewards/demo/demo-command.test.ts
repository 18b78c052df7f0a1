// `rewards demo` on the embedded log: creates the topics, publishes the requested count, keyed
// by memberId on murmur2 partitions, with event-time record timestamps.
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { demoCommand, demoProgressLine } from '../../../../cli/commands/demo.ts'
import { openEmbeddedLog } from '../../../../log/embedded/index.ts'
import { partitionForKey } from '../../../../log/murmur2-partitioner.ts'

t.test('publishes --count events to the embedded log', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'rewards-demo-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const lines: string[] = []
  const output: string[] = []
  const command = demoCommand({ progress: l => lines.push(l), output: l => output.push(l), env: {} })
  await command.parseAsync(['--count', '300', '--rate', '0', '--seed', '3', '--members', '20', '--partitions', '4', '--data-dir', dir, '--start', '2026-03-01T00:00:00Z'], { from: 'user' })
  const summary = JSON.parse(output[0]!) as { sent: number, rewardEvents: number, redeemEvents: number }
  t.equal(summary.sent, 300)
  t.equal(summary.rewardEvents + summary.redeemEvents, 300)
  t.match(lines[0], /publishing 300 events/)
  t.match(lines.at(-1), /^demo: 300\/300 \(100 %\) events \(\d+ reward, \d+ redeem\), \d+\/s/, 'the last progress line shows 100 %')

  const log = await openEmbeddedLog({ dir: join(dir, 'log') })
  t.teardown(() => log.close())
  const described = await log.admin.describeTopics(['reward-events', 'redeem-events', 'reward-confirmed', 'reward-events-dlq'])
  t.same(described.map(d => d.partitions), [4, 4, 4, 4])
  const tps = [0, 1, 2, 3].flatMap(partition => [{ topic: 'reward-events', partition }, { topic: 'redeem-events', partition }])
  const ends = await log.admin.listOffsets(tps, 'latest')
  const perTopic = (topic: string): number => ends.filter(e => e.topic === topic).reduce((n, e) => n + Number(e.offset), 0)
  t.equal(perTopic('reward-events'), summary.rewardEvents)
  t.equal(perTopic('redeem-events'), summary.redeemEvents)

  const reader = log.createPartitionReader({ clientId: 'check' })
  reader.assign(tps.map(tp => ({ ...tp, offset: 0n })))
  let read = 0
  let wrongPartition = 0
  let wrongTime = 0
  for (let i = 0; i < 50 && read < 300; i++) {
    for (const r of await reader.poll(200)) {
      read++
      if (r.key !== null && partitionForKey(r.key, 4) !== r.partition) wrongPartition++
      let v: { occurredAt?: string, requestedAt?: string } = {}
      try { v = JSON.parse(r.value!.toString()) as typeof v } catch { continue } // a deliberately malformed record
      const at = v.occurredAt ?? v.requestedAt
      if (at !== undefined && Date.parse(at) !== r.timestamp) wrongTime++
    }
  }
  await reader.close()
  t.equal(read, 300)
  t.equal(wrongPartition, 0, 'murmur2(memberId) partitions')
  t.equal(wrongTime, 0, 'record timestamp = event time')
})

t.test('rejects bad option values', async t => {
  const command = demoCommand({ env: {} }).exitOverride().configureOutput({ writeErr: () => {} })
  await t.rejects(command.parseAsync(['--rate', 'fast'], { from: 'user' }), /--rate must be an integer/)
})

t.test('progress lines: rate, percentage and ETA of a count; no ETA without one', async t => {
  t.equal(demoProgressLine({ sent: 250, rewardEvents: 200, redeemEvents: 50, elapsedMs: 1000 }, 1000), 'demo: 250/1000 (25 %) events (200 reward, 50 redeem), 250/s, ETA 3 s')
  t.equal(demoProgressLine({ sent: 250, rewardEvents: 200, redeemEvents: 50, elapsedMs: 1000 }, 0), 'demo: 250 events (200 reward, 50 redeem), 250/s')
})
