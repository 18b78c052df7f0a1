// High availability measured from outside, as issue 17 states its targets (docs/benchmarks.md
// "High availability"): --instances full platforms (`rewards start --role all`, separate data
// directories and ports, one application id) on the real broker, --members members of state
// (one earn each, their balances known from the reference model), a client querying balances of
// random members continuously against the live instances, and one heartbeat member per partition
// whose confirmations show when each partition is processed. Scenarios, in this order:
//   kill     SIGKILL of one instance's process group while the queries go on: how long some member
//            got a 503, wrong answers (never allowed), and when every partition confirms again
//            (target: session timeout 10 s + 2 s); then the instance is started again
//   rolling  SIGTERM, restart and ready again of each instance in turn: 503s (target: none) and
//            the longest pause of confirmations on any partition (target: ≤ 2 s)
//   cold     one instance's data directory wiped and started again: how fast its copies fill from
//            the changelogs (target: ≥ 200k records/s), from its `standby.progress` done lines
//            (standbys and warm-ups caught up: with standbys on, the default, a wiped instance
//            among caught-up ones gets those) and `restore.progress` done lines (actives restored:
//            --standbys 0 measures that alone)
//
//   node_modules/.bin/node bench/ha-failover.ts [--instances 3] [--partitions 12] [--members 100000]
//     [--scenarios kill,rolling,cold] [--concurrency 8] [--settle-seconds 10] [--heartbeat-ms 250]
//     [--standbys n] [--max-staleness-records n]   (REWARDS_NUM_STANDBY_REPLICAS, REWARDS_QUERY_MAX_STALENESS_RECORDS)
//     [--cpu-prof DIR]   (a V8 CPU profile of the cold-started instance, written when it stops)
//     [--cpu-prof-others DIR]   (V8 CPU profiles of the other instances, from their start; they stop
//                                after the cold start to write them. Each profile given, the cold
//                                start prints its samples over the span: bench/lib/profile-window.ts)
//   Each window counts the answers served by a standby copy (x-rewards-served-by) and those marked behind.
//   The cold start also prints the CPU of the bench's processes over its span (cold instance,
//   other instances, this process's query loops, the broker) per restored record, from /proc.
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Partitioners } from 'kafkajs'
import { buildModel, type InputRecord } from '../test/chaos/reference-model.ts'
import { createChaosEnvironment, inputTopics } from '../test/chaos/chaos-environment.ts'
import { instanceSpecs, PlatformSupervisor } from '../test/chaos/platform-supervisor.ts'
import { RecoveryTimer } from '../test/chaos/recovery-timer.ts'
import { partitionOf } from '../test/chaos/traffic-generator.ts'
import { brokers, cleanEnv, clientToken, freePort, type LogLine, type RunningCli } from '../test/cli/cli-helpers.ts'
import { BalanceProber, type ExpectedBalance, type UnavailableWindow } from './lib/balance-prober.ts'
import { parseArgs } from './lib/cli.ts'
import { describeWindow, monotonicToWallMs, summarizeWindow } from './lib/profile-window.ts'
import { PartitionHeartbeat } from './lib/partition-heartbeat.ts'
import { describeCpu, describeThreads, findPid, ProcCpuSampler } from './lib/proc-cpu.ts'

const opts = parseArgs({ instances: 3, partitions: 12, members: 100_000, scenarios: 'kill,rolling,cold', concurrency: 8, 'settle-seconds': 10, 'heartbeat-ms': 250, standbys: -1, 'max-staleness-records': -1, 'keep-logs': '', 'cpu-prof': '', 'cpu-prof-others': '' })
const scenarios = new Set(String(opts.scenarios).split(',').map(s => s.trim()))
const SESSION_TIMEOUT_MS = 10_000 // the engine's default (docs/engine.md "Configuration")
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const say = (message: string): void => { console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`) }
const rate = (records: number, ms: number): number => (ms > 0 ? Math.round(records / (ms / 1000)) : 0)
const PROGRESS_EVENTS = ['standby.progress', 'restore.progress']
/** No new catch-up or restore for this long after the last done line: the cold start is over
 *  (longer than the 5 s between progress lines, so a round still running has said so). */
const COLD_QUIET_MS = 6000

interface ColdKind { readonly kind: string, readonly restored: number, readonly elapsedMs: number, readonly lines: number }

/** A cold start's restore as the instance logs it: its copies filled from the changelogs, by
 *  standbys and warm-ups catching up (`standby.progress` done lines: the wiped instance joins
 *  caught-up ones, so with standbys on it gets those) and actives restoring (`restore.progress`
 *  done lines: with --standbys 0, or tasks without a caught-up copy elsewhere). Over once the
 *  instance is ready, the last progress line of each kind says done, and none came for
 *  COLD_QUIET_MS (a later round of the rebalance can bring more copies). The rate in total:
 *  records of every done line over the span from the first one's start to the last one. */
async function coldRestore (cli: RunningCli, ready: () => Promise<void>): Promise<{ restored: number, spanMs: number, lastAtMs: number, kinds: ColdKind[] }> {
  const isDone = (l: LogLine): boolean => PROGRESS_EVENTS.includes(String(l.event)) && l.done === true
  await cli.waitForLine(isDone, 900_000)
  await ready()
  for (;;) {
    const progress = cli.lines.filter(l => PROGRESS_EVENTS.includes(String(l.event)))
    const lastDone = Math.max(...progress.filter(isDone).map(l => Date.parse(String(l.time))))
    const busy = PROGRESS_EVENTS.some(kind => { const last = progress.findLast(l => l.event === kind); return last !== undefined && last.done !== true })
    if (!busy && Date.now() - lastDone >= COLD_QUIET_MS) break
    await sleep(250)
  }
  const done = cli.lines.filter(isDone)
  const ends = done.map(l => Date.parse(String(l.time)))
  const starts = done.map((l, i) => ends[i]! - Number(l.elapsedMs))
  const kinds = PROGRESS_EVENTS.map(kind => {
    const lines = done.filter(l => l.event === kind)
    return { kind, restored: lines.reduce((n, l) => n + Number(l.restored), 0), elapsedMs: lines.reduce((n, l) => n + Number(l.elapsedMs), 0), lines: lines.length }
  }).filter(k => k.lines > 0)
  return { restored: kinds.reduce((n, k) => n + k.restored, 0), spanMs: Math.max(...ends) - Math.min(...starts), lastAtMs: Math.max(...ends), kinds }
}

/** Active and standby (warm-ups included) tasks an instance holds, from its /metrics. */
async function taskCounts (url: string): Promise<{ active: number, standby: number }> {
  const text = await (await fetch(`${url}/metrics`)).text().catch(() => '')
  const gauge = (name: string): number => Number(new RegExp(`^\\w*${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0)
  return { active: gauge('streams_active_tasks'), standby: gauge('streams_standby_tasks') }
}

const env = await createChaosEnvironment({ brokers, partitions: opts.partitions, name: 'ha' })
const cleanups: Array<() => Promise<unknown>> = [() => env.close()]
const results: string[] = []
let prober: BalanceProber | undefined
try {
  // State: one earn per member, produced straight to the input topic (not measured).
  say(`producing ${opts.members} members' earns`)
  const producer = env.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  const members: string[] = []
  const records: InputRecord[] = []
  const nextOffset = new Map<number, number>()
  const occurredAt = new Date(Date.now() - 3600_000).toISOString()
  for (let i = 0; i < opts.members; i += 5000) {
    const batch = []
    for (let j = i; j < Math.min(opts.members, i + 5000); j++) {
      const memberId = `${env.tag}-m${j}`
      const value = JSON.stringify({ eventId: `${memberId}-e`, memberId, source: 'HOTEL', type: 'EARN', amountCents: 1000 + (j % 50_000), currency: 'USD', occurredAt, propertyId: 'HA' })
      members.push(memberId)
      const partition = partitionOf(memberId, opts.partitions)
      const offset = nextOffset.get(partition) ?? 0
      nextOffset.set(partition, offset + 1)
      records.push({ partition, offset, key: memberId, value: Buffer.from(value) })
      batch.push({ key: memberId, value })
    }
    await producer.send({ topic: env.topics.rewardEvents, acks: -1, messages: batch })
  }
  await producer.disconnect()
  const model = buildModel(records, [])
  const expected = new Map<string, ExpectedBalance>()
  for (const [id, member] of model.members) expected.set(id, member.history.at(-1)!)

  const baseDir = mkdtempSync(join(tmpdir(), 'ha-bench-'))
  // --keep-logs DIR: the instances' logs and every non-200 answer stay there for a look.
  const keepLogs = String(opts['keep-logs'])
  cleanups.push(async () => {
    if (keepLogs !== '') {
      cpSync(join(baseDir, 'logs'), keepLogs, { recursive: true })
      writeFileSync(join(keepLogs, 'non-200.jsonl'), prober?.failures.map(f => JSON.stringify(f)).join('\n') ?? '')
    }
    rmSync(baseDir, { recursive: true, force: true })
  })
  const ports: number[] = []
  for (let i = 0; i < opts.instances; i++) ports.push(await freePort())
  const supervisor = new PlatformSupervisor({
    env: cleanEnv({
      REWARDS_KAFKA_BROKERS: env.brokers.join(','),
      REWARDS_DATABASE_URL: env.databaseUrl,
      REWARDS_APPLICATION_ID: env.applicationId,
      REWARDS_TOPIC_PREFIX: env.topicPrefix,
      REWARDS_PARTITIONS: String(opts.partitions),
      REWARDS_PROCESSING_GUARANTEE: 'exactly_once_v2',
      REWARDS_AUTH_ISSUER: 'http://rewards.ha.invalid',
      REWARDS_API_RATE_LIMIT: 'off',
      REWARDS_LOG_LEVEL: 'info',
      ...(opts.standbys >= 0 ? { REWARDS_NUM_STANDBY_REPLICAS: String(opts.standbys) } : {}),
      ...(opts['max-staleness-records'] >= 0 ? { REWARDS_QUERY_MAX_STALENESS_RECORDS: String(opts['max-staleness-records']) } : {})
    }),
    specs: instanceSpecs(baseDir, ports),
    logDir: join(baseDir, 'logs')
  })
  cleanups.unshift(() => supervisor.killAll())
  const started = Date.now()
  // --cpu-prof-others DIR: every instance but the cold start's victim (0) profiled from its start,
  // each into DIR/instance-<i>.
  const othersProfDir = String(opts['cpu-prof-others'])
  const profEnv = (dir: string): Record<string, string> => ({ NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` })
  for (let i = 0; i < opts.instances; i++) supervisor.start(i, othersProfDir !== '' && i !== 0 ? { env: profEnv(join(othersProfDir, `instance-${i}`)) } : {})
  await supervisor.waitAllReady(300_000)
  const timer = new RecoveryTimer(env.admin, env.applicationId, inputTopics(env.topics))
  const caughtUp = await timer.measure(started, 900_000)
  if (caughtUp === null) throw new Error('the instances did not catch up within 15 minutes')
  say(`${opts.instances} instances ready and caught up with ${opts.members} members in ${(caughtUp / 1000).toFixed(1)} s`)

  const heartbeat = new PartitionHeartbeat(env.kafka, { tag: env.tag, partitions: opts.partitions, inputTopic: env.topics.rewardEvents, confirmedTopic: env.topics.rewardConfirmed, intervalMs: opts['heartbeat-ms'] })
  await heartbeat.start()
  cleanups.unshift(() => heartbeat.stop())
  let token: { value: string, atMs: number } | undefined
  const getToken = async (): Promise<string> => {
    if (token !== undefined && Date.now() - token.atMs < 240_000) return token.value
    for (let attempt = 0; ; attempt++) {
      try {
        const urls = supervisor.liveUrls()
        token = { value: await clientToken(urls[attempt % urls.length]!, env.client.clientId, env.client.clientSecret, 'balances:read'), atMs: Date.now() }
        return token.value
      } catch (error) {
        if (attempt > 50) throw error
        await sleep(200)
      }
    }
  }
  const probe = prober = new BalanceProber({ urls: () => supervisor.liveUrls(), token: getToken, members, expected, concurrency: opts.concurrency })
  probe.start()
  cleanups.unshift(() => probe.stop())
  const settle = opts['settle-seconds'] * 1000
  const describe = (w: UnavailableWindow): string =>
    `${w.answers} answers (${w.standby} served by a standby, ${w.standbyBehind} of them marked behind), non-200: ${JSON.stringify(w.byStatus)}, some member got a 503 during ${w.seconds503.toFixed(1)} s` +
    (w.firstMs === null ? '' : ` (non-200 from +${(w.firstMs / 1000).toFixed(1)} s to +${(w.lastMs! / 1000).toFixed(1)} s)`) + `, p99 ${w.p99Ms.toFixed(1)} ms`
  const wrongIn = (from: number, to: number): number => probe.wrong.filter(w => w.atMs >= from && w.atMs <= to).length

  // Warm-up: the first answers pay for connections and the instances' lazily opened services.
  const warmStart = Date.now()
  while (probe.answers.length < 200 && Date.now() - warmStart < 120_000) await sleep(100)
  const quietFrom = Date.now()
  await sleep(settle)
  const quiet = probe.window(quietFrom, Date.now())
  results.push(`steady state (${settle / 1000} s before any fault): ${describe(quiet)}`)

  if (scenarios.has('kill')) {
    // The instance running the most active tasks (an instance that joined last may hold only
    // standbys and warm-ups until a probing rebalance: killing it would move nothing).
    const actives = await Promise.all(supervisor.instances.map(async i => {
      const text = await (await fetch(`${i.url}/metrics`)).text().catch(() => '')
      return Number(/^\w*streams_active_tasks (\d+)/m.exec(text)?.[1] ?? 0)
    }))
    const victim = actives.indexOf(Math.max(...actives))
    say(`kill -9 of instance ${victim} (active tasks per instance: ${actives.join(', ')})`)
    const t0 = Date.now()
    await supervisor.kill(victim)
    let resumed = heartbeat.firstAfter(t0)
    while ([...resumed.values()].some(v => v === null) && Date.now() - t0 < 180_000) { await sleep(200); resumed = heartbeat.firstAfter(t0) }
    await sleep(settle)
    const t1 = Date.now()
    const worst = Math.max(...[...resumed.values()].map(v => v ?? Infinity))
    results.push(`kill -9 of 1 of ${opts.instances} (running ${actives[victim]} of the active tasks): ${describe(probe.window(t0, t1))}; wrong answers ${wrongIn(t0, t1)}; ` +
      `every partition confirms again after ${(worst / 1000).toFixed(1)} s (target ≤ ${(SESSION_TIMEOUT_MS + 2000) / 1000} s)`)
    say(results.at(-1)!)
    supervisor.start(victim)
    await supervisor.waitReady(victim, 600_000)
    await timer.measure(Date.now(), 600_000)
    await sleep(settle)
  }

  if (scenarios.has('rolling')) {
    say('rolling restart (SIGTERM, start, ready; one at a time)')
    const t0 = Date.now()
    for (let i = 0; i < opts.instances; i++) {
      const instance = supervisor.instances[i]!
      instance.killing = true // an expected exit: the supervisor must not restart it on its own
      instance.cli!.child.kill('SIGTERM')
      await instance.cli!.waitForExit(120_000)
      supervisor.start(i)
      await supervisor.waitReady(i, 600_000)
      await sleep(settle)
    }
    const t1 = Date.now()
    const gaps = heartbeat.maxGaps(t0, t1)
    const worst = Math.max(...gaps.values())
    results.push(`rolling restart of ${opts.instances}: ${describe(probe.window(t0, t1))}; wrong answers ${wrongIn(t0, t1)}; ` +
      `longest pause of confirmations on a partition ${(worst / 1000).toFixed(1)} s (target ≤ 2 s, heartbeat every ${opts['heartbeat-ms']} ms)`)
    say(results.at(-1)!)
  }

  if (scenarios.has('cold')) {
    const victim = 0
    say(`cold start of instance ${victim} (data directory wiped)`)
    const instance = supervisor.instances[victim]!
    instance.killing = true
    instance.cli!.child.kill('SIGTERM')
    await instance.cli!.waitForExit(120_000)
    // --cpu-prof DIR: the restarted instance writes a V8 CPU profile there when it exits (SIGTERM
    // once measured).
    const profDir = String(opts['cpu-prof'])
    const t0 = Date.now()
    const cli = supervisor.start(victim, { wipe: true, ...(profDir !== '' ? { env: profEnv(profDir) } : {}) })
    // Every process of the bench, over the span (bench/lib/proc-cpu.ts): the rate follows them all.
    const broker = findPid('kafka.Kafka')
    const others = supervisor.instances.filter((_, i) => i !== victim)
    const cpu = new ProcCpuSampler(() => new Map([
      ['cold instance', [cli.child.pid ?? 0]],
      ['other instances', others.map(o => o.cli?.child.pid ?? 0)],
      ['query client (this process)', [process.pid]],
      ...(broker !== undefined ? [['broker', [broker]] as [string, number[]]] : [])
    ]), 100, () => cli.child.pid)
    const restore = await coldRestore(cli, () => supervisor.waitReady(victim, 600_000))
    const t1 = Date.now()
    cpu.stop()
    const held = await taskCounts(instance.url)
    const parts = restore.kinds.map(k => `${k.kind === 'standby.progress' ? 'standbys and warm-ups caught up' : 'actives restored'}: ${k.restored} records in ${(k.elapsedMs / 1000).toFixed(1)} s = ${rate(k.restored, k.elapsedMs)} records/s` + (k.lines > 1 ? ` (${k.lines} rounds)` : ''))
    results.push(`cold start of 1 instance (standbys ${opts.standbys >= 0 ? opts.standbys : 'default'}; holding ${held.active} active, ${held.standby} standby/warm-up tasks after): ` +
      `${restore.restored} changelog records restored in ${(restore.spanMs / 1000).toFixed(1)} s = ${rate(restore.restored, restore.spanMs)} records/s (target ≥ 200,000; ${parts.join('; ')}); ` +
      `from process start to caught up ${((restore.lastAtMs - t0) / 1000).toFixed(1)} s; queries meanwhile: ${describe(probe.window(t0, t1))}; wrong answers ${wrongIn(t0, t1)}`)
    say(results.at(-1)!)
    const spanCpu = cpu.window(restore.lastAtMs - restore.spanMs, restore.lastAtMs)
    if (spanCpu !== undefined) { results.push(`cold start span, ${describeCpu(spanCpu, restore.restored)}`); say(results.at(-1)!) }
    // The cold instance's share by thread (main, V8's GC and JIT, libuv's pool, RocksDB's own).
    if (spanCpu?.threads !== undefined) { results.push(`cold instance by thread over the span: ${describeThreads(spanCpu.threads)}`); say(results.at(-1)!) }
    // The queries the client got answered over the span: the load the other parties carried.
    const spanQueries = probe.window(restore.lastAtMs - restore.spanMs, restore.lastAtMs)
    results.push(`queries answered over the span: ${spanQueries.answers} = ${rate(spanQueries.answers, restore.spanMs)}/s (${(spanQueries.answers / (restore.restored / 1000)).toFixed(1)} per 1000 restored records)`)
    say(results.at(-1)!)
    const profiled: Array<[string, string]> = []
    if (profDir !== '') {
      instance.killing = true
      cli.child.kill('SIGTERM')
      await cli.waitForExit(120_000)
      say(`CPU profile of the cold instance written to ${profDir}`)
      profiled.push(['cold instance', profDir])
    }
    if (othersProfDir !== '') {
      for (let i = 0; i < opts.instances; i++) {
        const other = supervisor.instances[i]!
        if (i === victim || other.cli === undefined || !other.alive) continue
        other.killing = true
        other.cli.child.kill('SIGTERM')
        await other.cli.waitForExit(120_000)
        profiled.push([`instance ${i}`, join(othersProfDir, `instance-${i}`)])
      }
      say(`CPU profiles of the other instances written to ${othersProfDir}`)
    }
    // Each profile's samples over the span (the newest .cpuprofile of its directory: a launcher
    // that re-execs writes none of its own, the process that runs writes one at exit).
    const offsetMs = monotonicToWallMs()
    for (const [name, dir] of profiled) {
      const file = readdirSync(dir).filter(f => f.endsWith('.cpuprofile')).sort().at(-1)
      if (file === undefined) continue
      const summary = summarizeWindow(join(dir, file), restore.lastAtMs - restore.spanMs, restore.lastAtMs, offsetMs)
      console.log(`\n${name}, profile over the span (${join(dir, file)}):`)
      for (const line of describeWindow(summary, 30)) console.log(`  ${line}`)
    }
  }

  await probe.stop()
  console.log(`\nhigh availability, ${opts.instances} instances, ${opts.partitions} partitions, ${opts.members} members, ${opts.concurrency} query loops, node ${process.version}`)
  for (const line of results) console.log(`- ${line}`)
  console.log(`- over the whole run: ${probe.answers.length} answers, ${probe.wrong.length} wrong, ${probe.refused} connections refused (dead instance, tried elsewhere)`)
  for (const w of probe.wrong.slice(0, 5)) console.log(`  wrong: ${w.memberId} ${w.status} ${w.body}`)
  if (probe.wrong.length > 0) process.exitCode = 1
} finally {
  for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error(`cleanup: ${(error as Error).message}`))
}
