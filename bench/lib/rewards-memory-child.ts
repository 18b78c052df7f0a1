// The processor side of bench/rewards-memory.ts, in its own process so its RSS is the
// processor's alone: the rewards topology on a state directory the parent preloaded, run until
// the group has committed the whole catch-up input. Prints one JSON line (timings, restored
// records, peak RSS from the kernel).
import { readFileSync } from 'node:fs'
import type { PartitionOffset } from '../../log/log-port.ts'
import { buildRewardsTopology, defaultRuleSet, type RewardsTopics } from '../../processors/rewards/index.ts'
import { StreamsApplication } from '../../topology/streams-application.ts'
import { processorMemoryConfig } from '../../cli/roles/processor-memory.ts'
import { Registry } from 'prom-client'
import { openBenchLog } from './logs.ts'
import { nowMs, waitForCommitted } from './timing.ts'

interface ChildConfig {
  readonly applicationId: string
  readonly stateDir: string
  readonly topics: RewardsTopics
  readonly ends: Array<{ topic: string, partition: number, offset: string }>
  readonly timeoutMs: number
  readonly partitions: number
  readonly budgetMib: number
  /** StreamsConfig.cacheMaxBytes; undefined: the default. */
  readonly cacheMaxBytes?: number
  readonly rocksDbBlockCacheBytesPerStore?: number
  readonly rocksDbMemtableBytesPerStore?: number
}

const config = JSON.parse(process.env.REWARDS_MEMORY_CHILD ?? '{}') as ChildConfig
const ends: PartitionOffset[] = config.ends.map(e => ({ topic: e.topic, partition: e.partition, offset: BigInt(e.offset) }))
const bench = await openBenchLog('kafka', 'bench-rewards-memory-child')
let restored = 0
const topology = buildRewardsTopology({ topics: config.topics, rules: defaultRuleSet() })
// The processor role's memory options (cli/roles/processor-role.ts), then the bench's overrides.
const memory = processorMemoryConfig({ memoryBudgetMib: config.budgetMib, partitions: config.partitions }, topology, new Registry())
console.error(`child: ${JSON.stringify(memory.summary)}`)
const app = new StreamsApplication(topology, {
  log: bench.log,
  config: { applicationId: config.applicationId, stateDir: config.stateDir, processingGuarantee: 'exactly_once_v2', ...memory.streams, ...(config.cacheMaxBytes !== undefined ? { cacheMaxBytes: config.cacheMaxBytes } : {}),
    ...(config.rocksDbBlockCacheBytesPerStore !== undefined ? { rocksDbBlockCacheBytesPerStore: config.rocksDbBlockCacheBytesPerStore } : {}),
    ...(config.rocksDbMemtableBytesPerStore !== undefined ? { rocksDbMemtableBytesPerStore: config.rocksDbMemtableBytesPerStore } : {}) }
})
// Where the memory is, sampled every 500 ms: the V8 heap (used and reserved), memory outside it
// that V8 knows of (external: Buffers' backing stores), and RSS; the rest of RSS is native
// (RocksDB, malloc, the Kafka client's sockets). Peaks of each, and the values at the RSS peak.
const peak = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0 }
let atPeakRss = process.memoryUsage()
const sample = (): void => {
  const m = process.memoryUsage()
  if (m.rss > peak.rss) { peak.rss = m.rss; atPeakRss = m }
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed)
  peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal)
  peak.external = Math.max(peak.external, m.external)
}
const sampler = setInterval(sample, 500)
app.onTaskRestored(r => { restored += r.records })
try {
  const t0 = nowMs()
  await app.start()
  await app.waitForState('RUNNING', config.timeoutMs)
  const running = nowMs()
  const done = await waitForCommitted(bench.log, config.applicationId, ends, { timeoutMs: config.timeoutMs, isFailed: () => app.state === 'ERROR' ? (app.error ?? new Error('application in ERROR')) : undefined })
  const status = readFileSync('/proc/self/status', 'utf8')
  const kib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0)
  sample()
  clearInterval(sampler)
  console.log(JSON.stringify({ startMs: running - t0, catchUpMs: done - running, restored, peakRssBytes: kib('VmHWM') * 1024, rssBytes: kib('VmRSS') * 1024, heapUsedBytes: process.memoryUsage().heapUsed, peak, atPeakRss }))
  await app.close()
} finally {
  clearInterval(sampler)
  if (app.state !== 'NOT_RUNNING') await app.close().catch(() => {})
  await bench.close()
}
