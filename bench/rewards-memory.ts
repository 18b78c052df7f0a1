// Bounded memory: the processor's RSS while it catches up with state far larger than memory
// should hold. The state directory is preloaded directly (not through 10M events): per task, the
// balances of its share of --members members and its share of --dedupe event-dedupe entries (with
// their dedupe-expiry index entries) written into the task's RocksDB stores, and a checkpoint at
// the (empty) changelogs' start, so the processor restores nothing and opens the stores as they
// are. Then --events demo events (pre-produced, not measured) are processed by the rewards
// topology in a child process, whose peak RSS (the kernel's VmHWM) is printed against the
// 512 MiB bound; the parent also samples the child's VmRSS while it runs.
//
//   node_modules/.bin/node bench/rewards-memory.ts [--members 1000000] [--dedupe 10000000]
//     [--events 100000] [--partitions 12] [--limit-mib 512] [--budget-mib 512] [--malloc-arena-max -1]
//     [--cache-mib -1] [--max-old-space-mib -1] [--block-cache-kib -1] [--memtable-kib -1]
// By default the child runs as `rewards start --role processor` would (cli/memory-launch.ts,
// cli/roles/processor-memory.ts): V8 old-space cap and MALLOC_ARENA_MAX from the memory budget
// (--budget-mib, REWARDS_MEMORY_BUDGET_MIB's default 512), the stream cache and RocksDB sizes
// from its shares. Each flag overrides one part (-1: the budget's; 0 for the first two: unset):
// --malloc-arena-max N (glibc's MALLOC_ARENA_MAX), --max-old-space-mib N (node
// --max-old-space-size; drops the launcher's --max-semi-space-size too), --cache-mib N (StreamsConfig.cacheMaxBytes), --block-cache-kib /
// --memtable-kib (StreamsConfig.rocksDb*PerStore).
import { pointsInternalTopics } from '../processors/rewards/points-windows.ts'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { partitionForKey } from '../log/murmur2-partitioner.ts'
import type { PartitionOffset, ProducerRecord } from '../log/log-port.ts'
import { DemoGenerator, demoMemberId } from '../processors/rewards/demo/index.ts'
import { KEEP_EVERY_RECORD } from '../lib/platform-topics.ts'
import { REWARDS_STORES, REWARDS_TOPICS, type RewardsTopics } from '../processors/rewards/index.ts'
import { dedupeKey, expiryKey } from '../processors/rewards/dedupe.ts'
import { CheckpointFile } from '../stores/checkpoint-file.ts'
import { RocksDbStore } from '../stores/rocksdb-store.ts'
import { StateDirectory } from '../stores/state-directory.ts'
import { changelogTopicName } from '../topology/runtime/stream-task.ts'
import { parseArgs } from './lib/cli.ts'
import { openBenchLog, partitionsOf, tempStateDir, uniqueName } from './lib/logs.ts'
import { fmtMs, nowMs } from './lib/timing.ts'
import { memoryLaunch } from '../cli/memory-launch.ts'

const args = parseArgs({ members: 1_000_000, dedupe: 10_000_000, events: 100_000, partitions: 12, timeout: 1800, 'limit-mib': 512, seed: 11, 'budget-mib': 512, 'malloc-arena-max': -1, 'cache-mib': -1, 'max-old-space-mib': -1, 'block-cache-kib': -1, 'memtable-kib': -1 })
const MIB = 1024 * 1024
const START_MS = Date.parse('2026-03-01T00:00:00Z')
const BATCH = 20_000

const bench = await openBenchLog('kafka', 'bench-rewards-memory')
const { log } = bench
const prefix = `${uniqueName('bench-memory')}.`
const applicationId = uniqueName('bench-memory')
const topics = Object.fromEntries(Object.entries(REWARDS_TOPICS).map(([k, v]) => [k, prefix + v])) as unknown as RewardsTopics
const changelogs = Object.values(REWARDS_STORES).map(store => changelogTopicName(applicationId, store))
const state = tempStateDir()
// What the launcher adds for `rewards start --role processor` (from a clean environment).
const launch = memoryLaunch(['start', '--role', 'processor', '--memory-budget-mib', String(args['budget-mib'])], {}, [])
const arenaMax = args['malloc-arena-max'] >= 0 ? args['malloc-arena-max'] : Number(launch?.env.MALLOC_ARENA_MAX ?? 0)
const oldSpaceMib = args['max-old-space-mib'] >= 0 ? args['max-old-space-mib'] : Number(/--max-old-space-size=(\d+)/.exec(launch?.execArgv.join(' ') ?? '')?.[1] ?? 0)
// The launcher's other node flags (the semi-space cap) unless the old space is overridden.
const nodeFlags = [...(oldSpaceMib > 0 ? [`--max-old-space-size=${oldSpaceMib}`] : []), ...(args['max-old-space-mib'] >= 0 ? [] : (launch?.execArgv ?? []).filter(a => !a.startsWith('--max-old-space-size')))]
try {
  console.log(`rewards memory: ${args.members} members, ${args.dedupe} dedupe entries, ${args.events} catch-up events, ${args.partitions} partitions, kafka log, budget ${args['budget-mib']} MiB, MALLOC_ARENA_MAX ${arenaMax > 0 ? arenaMax : 'unset'}, node flags ${nodeFlags.length > 0 ? nodeFlags.join(' ') : 'none'}, cache ${args['cache-mib'] >= 0 ? `${args['cache-mib']} MiB` : 'budget'}, RocksDB per store: block cache ${args['block-cache-kib'] >= 0 ? `${args['block-cache-kib']} KiB` : 'budget'}, memtables ${args['memtable-kib'] >= 0 ? `${args['memtable-kib']} KiB` : 'budget'}, node ${process.version}`)
  // Inputs without time retention: the demo's event times are months old (KEEP_EVERY_RECORD).
  await log.admin.createTopics([...Object.values(topics), ...changelogs].map(name => ({ name, partitions: args.partitions, config: changelogs.includes(name) ? { 'cleanup.policy': 'compact' } : KEEP_EVERY_RECORD })))

  // Preload (not measured): one RocksDbStore per task and store, written in batches.
  const preloadAt = nowMs()
  const directory = new StateDirectory(state.dir, applicationId)
  const taskOf = (memberId: string): number => partitionForKey(Buffer.from(memberId), args.partitions)
  const open = new Map<string, RocksDbStore>()
  const pending = new Map<string, Array<{ key: Buffer, value: Buffer }>>()
  const storeFor = async (partition: number, name: string): Promise<RocksDbStore> => {
    const id = `${partition}/${name}`
    let store = open.get(id)
    if (store === undefined) {
      store = new RocksDbStore(name)
      await store.open(directory.storeDir(`0_${partition}`, name))
      open.set(id, store)
    }
    return store
  }
  const put = async (partition: number, name: string, key: string, value: string): Promise<void> => {
    const id = `${partition}/${name}`
    let list = pending.get(id)
    if (list === undefined) pending.set(id, list = [])
    list.push({ key: Buffer.from(key), value: Buffer.from(value) })
    if (list.length >= BATCH) { (await storeFor(partition, name)).restoreWriteSync(list); pending.set(id, []) }
  }
  for (let i = 1; i <= args.members; i++) {
    const memberId = demoMemberId(i)
    await put(taskOf(memberId), REWARDS_STORES.balances, memberId, JSON.stringify({ memberId, earned: 0, reversed: 0, redeemed: 0, available: 0, qualifyingPoints: 0, tier: 'MEMBER', lastActivityAt: null, events: 0 }))
  }
  for (let i = 0; i < args.dedupe; i++) {
    const memberId = demoMemberId((i % args.members) + 1)
    const eventId = `preloaded-${i}`
    // Just before the catch-up's first event: inside the retention, nothing is purged meanwhile.
    const seenAtMs = START_MS - 60_000 + Math.floor(i / args.dedupe * 60_000)
    const partition = taskOf(memberId)
    await put(partition, REWARDS_STORES.eventDedupe, dedupeKey(memberId, eventId), JSON.stringify({ type: 'EARN', points: 10, seenAtMs }))
    await put(partition, REWARDS_STORES.dedupeExpiry, expiryKey(seenAtMs, 'E', memberId, eventId), '')
    if (i > 0 && i % 1_000_000 === 0) console.log(`  preloaded ${i} dedupe entries (${fmtMs(nowMs() - preloadAt)})`)
  }
  for (const [id, list] of pending) {
    const [partition, name] = id.split('/') as [string, string]
    if (list.length > 0) (await storeFor(Number(partition), name)).restoreWriteSync(list)
  }
  for (const store of open.values()) { store.syncWal(); await store.close() }
  // The changelogs are empty: checkpoints at offset 0 keep the stores (nothing to restore).
  for (let partition = 0; partition < args.partitions; partition++) {
    new CheckpointFile(directory.taskDir(`0_${partition}`)).write(changelogs.map(topic => ({ topic, partition, offset: 0n })))
  }
  console.log(`preloaded ${args.members} balances and ${args.dedupe} dedupe entries (+ expiry index) into ${open.size} stores in ${fmtMs(nowMs() - preloadAt)} (not measured)`)

  // Catch-up input (not measured).
  const generator = new DemoGenerator({ seed: args.seed, members: args.members, startTimeMs: START_MS, meanGapMs: 500 })
  const producer = await log.createProducer({ clientId: uniqueName('bench-memory-producer') })
  for (let sent = 0; sent < args.events;) {
    const batch: ProducerRecord[] = generator.take(Math.min(5000, args.events - sent)).map(r => ({
      topic: r.topic === REWARDS_TOPICS.rewardEvents ? topics.rewardEvents : topics.redeemEvents, key: Buffer.from(r.key), value: Buffer.from(r.value), timestamp: r.timestamp
    }))
    await producer.send(batch)
    sent += batch.length
  }
  await producer.close()
  const ends: PartitionOffset[] = await log.admin.listOffsets([...partitionsOf(topics.rewardEvents, args.partitions), ...partitionsOf(topics.redeemEvents, args.partitions)], 'latest')
  console.log(`pre-produced ${args.events} catch-up events (not measured)`)

  // The processor, in a child process; its VmRSS sampled every 200 ms.
  const { MALLOC_ARENA_MAX: _inherited, ...parentEnv } = process.env
  const child = spawn(process.execPath, [...nodeFlags, 'bench/lib/rewards-memory-child.ts'], {
    env: { ...parentEnv, ...(arenaMax > 0 ? { MALLOC_ARENA_MAX: String(arenaMax) } : {}), REWARDS_MEMORY_CHILD: JSON.stringify({ applicationId, stateDir: state.dir, topics, partitions: args.partitions, budgetMib: args['budget-mib'], ends: ends.map(e => ({ ...e, offset: String(e.offset) })), timeoutMs: args.timeout * 1000, ...(args['cache-mib'] >= 0 ? { cacheMaxBytes: args['cache-mib'] * MIB } : {}),
        ...(args['block-cache-kib'] >= 0 ? { rocksDbBlockCacheBytesPerStore: args['block-cache-kib'] * 1024 } : {}),
        ...(args['memtable-kib'] >= 0 ? { rocksDbMemtableBytesPerStore: args['memtable-kib'] * 1024 } : {}) }) },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let sampledPeak = 0
  let samples = 0
  const sampler = setInterval(() => {
    try {
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
      if (rss > sampledPeak) sampledPeak = rss
      samples++
    } catch { /* exited */ }
  }, 200)
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const code = await new Promise<number | null>(resolve => child.on('exit', resolve))
  clearInterval(sampler)
  if (code !== 0) throw new Error(`processor child exited with ${code}: ${out}`)
  type Usage = { rss: number, heapUsed: number, heapTotal: number, external: number }
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as { startMs: number, catchUpMs: number, restored: number, peakRssBytes: number, rssBytes: number, heapUsedBytes: number, peak: Usage, atPeakRss: Usage }
  const limit = args['limit-mib'] * MIB
  console.log('')
  console.log(`processor: start() to RUNNING ${fmtMs(result.startMs)} (${result.restored} changelog records restored), catch-up of ${args.events} events ${fmtMs(result.catchUpMs)} (${Math.round(args.events / (result.catchUpMs / 1000))} events/s)`)
  console.log(`processor RSS: peak ${(result.peakRssBytes / MIB).toFixed(0)} MiB (VmHWM), at the end ${(result.rssBytes / MIB).toFixed(0)} MiB, sampled peak ${(sampledPeak / MIB).toFixed(0)} MiB over ${samples} samples; JS heap used ${(result.heapUsedBytes / MIB).toFixed(0)} MiB`)
  const mib = (bytes: number): string => `${(bytes / MIB).toFixed(0)} MiB`
  const at = result.atPeakRss
  console.log(`sampled every 500 ms: peaks heap used ${mib(result.peak.heapUsed)}, heap reserved ${mib(result.peak.heapTotal)}, external ${mib(result.peak.external)}; at the RSS peak (${mib(at.rss)}): heap reserved ${mib(at.heapTotal)}, external ${mib(at.external)}, the rest (native: RocksDB, malloc, client) ${mib(at.rss - at.heapTotal - at.external)}`)
  console.log(`peak RSS ${result.peakRssBytes <= limit ? 'UNDER' : 'OVER'} ${args['limit-mib']} MiB`)
} finally {
  await log.admin.deleteTopics([...Object.values(topics), ...changelogs, ...pointsInternalTopics(applicationId)]).catch(() => {})
  await log.admin.deleteGroup(applicationId).catch(() => {})
  await bench.close()
  state.remove()
}
