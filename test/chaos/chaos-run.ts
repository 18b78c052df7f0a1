// One chaos run, shared by the short test and `npm run chaos`: an isolated environment, N
// platform processes, traffic over Kafka and HTTP spread over the production window, the
// scenario's faults meanwhile, then — once the group has caught up — every check of the
// reference model. Returns the figures; never throws for a failed check (only for a broken set-up).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TcpProxy } from '../archive/tcp-proxy.ts'
import { brokers as sharedBrokers, cleanEnv, freePort } from '../cli/cli-helpers.ts'
import { allTopics, createChaosEnvironment, inputTopics, type ChaosEnvironment } from './chaos-environment.ts'
import type { ChaosOptions } from './chaos-options.ts'
import { HttpTraffic, type HttpTrafficStats } from './http-traffic.ts'
import { runKillSchedule, type KillRecord } from './kill-schedule.ts'
import { brokerOutage, postgresOutage, redisOutage, type FaultCheck } from './outage-faults.ts'
import { checkOutputs, type OutputFigures } from './output-checks.ts'
import { OwnBroker } from '../integration/own-broker.ts'
import { instanceSpecs, PlatformSupervisor, type UnexpectedExit } from './platform-supervisor.ts'
import { RecoveryTimer } from './recovery-timer.ts'
import { buildModel } from './reference-model.ts'
import { sharedDirectoryFault } from './shared-dir-fault.ts'
import { checkArchive, checkBalances, type ArchiveFigures, type BalanceFigures } from './state-checks.ts'
import { readTopic, type ReadRecord } from './topic-reader.ts'
import { TrafficGenerator, type TrafficKind } from './traffic-generator.ts'

const SHARED_REDIS = new URL(process.env.REWARDS_REDIS_URL ?? 'redis://127.0.0.1:6379')

export interface ChaosReport {
  readonly options: ChaosOptions
  readonly durationMs: number
  readonly kills: KillRecord[]
  /** Other faults, each with its time to recover when measured. */
  readonly outages: Array<{ fault: string, recoveryMs: number | null }>
  readonly faultChecks: FaultCheck[]
  readonly produced: { records: number, byKind: Record<string, number>, http: HttpTrafficStats, inputRecords: number }
  readonly outputs: OutputFigures
  readonly balances: BalanceFigures
  readonly archive: ArchiveFigures
  readonly unexpectedExits: UnexpectedExit[]
  /** Exit of each instance after a SIGTERM at the end (graceful shutdown). */
  readonly finalExits: Array<string | undefined>
  /** Input records the group had not committed when the run gave up waiting (0: caught up). */
  readonly lagAtEnd: number
  /** Topics that could not be read to their end (an open transaction). */
  readonly incompleteTopics: string[]
  readonly problems: string[]
  /** Where the platform processes' logs are (instance-<n>.log). */
  readonly logDir: string
}

/** The figures that must all be 0 for a run to pass (the fault checks aside). */
export function failures (r: ChaosReport): Record<string, number> {
  return {
    duplicates: r.outputs.duplicates,
    lost: r.outputs.lost,
    'unexpected outputs': r.outputs.unexpected,
    'wrong outputs': r.outputs.wrong,
    'wrong balances': r.balances.wrong,
    'duplicate archive rows': r.archive.duplicateRows,
    'records missing from the archive': r.archive.missing,
    'inputs not processed at the end': r.lagAtEnd,
    'topics not readable to their end': r.incompleteTopics.length,
    'processes that exited on their own': r.unexpectedExits.length,
    'unrecovered kills': r.kills.filter(k => typeof k.recoveryMs !== 'number').length
  }
}

export async function runChaos (options: ChaosOptions, log: (line: string) => void): Promise<ChaosReport> {
  const startedMs = Date.now()
  const cleanups: Array<() => Promise<void>> = []
  const cleanup = async (): Promise<void> => { for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined) }
  // Interrupted (Ctrl-C, a test timeout): leave no process, topic or database behind.
  const interrupted = (signal: NodeJS.Signals): void => { void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)) }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  cleanups.push(async () => { process.off('SIGINT', interrupted); process.off('SIGTERM', interrupted) })
  try {
    let broker: OwnBroker | undefined
    if (options.scenario === 'broker') {
      broker = await OwnBroker.create()
      cleanups.push(() => broker!.destroy())
      log(`broker: starting the run's own broker on ${broker.bootstrap}`)
      await broker.start()
    }
    const env: ChaosEnvironment = await createChaosEnvironment({ brokers: broker === undefined ? sharedBrokers : [broker.bootstrap], partitions: options.partitions })
    cleanups.push(() => env.close())
    log(`environment: topic prefix ${env.topicPrefix}, application id ${env.applicationId}, ${options.partitions} partitions, seed ${options.seed}`)

    // Dependencies behind proxies when the scenario cuts them off.
    let databaseUrl = env.databaseUrl
    let pgProxy: TcpProxy | undefined
    if (options.scenario === 'postgres') {
      const direct = new URL(env.databaseUrl)
      pgProxy = new TcpProxy(direct.hostname, Number(direct.port || 5432))
      const proxied = new URL(env.databaseUrl)
      proxied.port = String(await pgProxy.listen())
      databaseUrl = proxied.toString()
      cleanups.push(() => pgProxy!.close())
    }
    let redisUrl = SHARED_REDIS.toString()
    let redisProxy: TcpProxy | undefined
    if (options.scenario === 'redis') {
      redisProxy = new TcpProxy(SHARED_REDIS.hostname, Number(SHARED_REDIS.port || 6379))
      const proxied = new URL(SHARED_REDIS)
      proxied.port = String(await redisProxy.listen())
      redisUrl = proxied.toString()
      cleanups.push(() => redisProxy!.close())
    }

    const platformEnv = cleanEnv({
      REWARDS_KAFKA_BROKERS: env.brokers.join(','),
      REWARDS_DATABASE_URL: databaseUrl,
      REWARDS_REDIS_URL: redisUrl,
      REWARDS_APPLICATION_ID: env.applicationId,
      REWARDS_TOPIC_PREFIX: env.topicPrefix,
      REWARDS_PARTITIONS: String(options.partitions),
      REWARDS_PROCESSING_GUARANTEE: 'exactly_once_v2',
      // One issuer behind "one URL": a token from any instance is accepted by all (docs/api.md).
      REWARDS_AUTH_ISSUER: 'http://rewards.chaos.invalid',
      REWARDS_API_RATE_LIMIT: 'off',
      REWARDS_LOG_LEVEL: 'info'
    })
    const baseDir = mkdtempSync(join(tmpdir(), 'chaos-'))
    cleanups.push(async () => rmSync(baseDir, { recursive: true, force: true }))
    const ports: number[] = []
    for (let i = 0; i < options.instances; i++) ports.push(await freePort())
    const logDir = join(tmpdir(), `chaos-logs-${env.applicationId}`)
    const supervisor = new PlatformSupervisor({ env: platformEnv, specs: instanceSpecs(baseDir, ports), logDir })
    log(`platform logs: ${logDir}/instance-<n>.log`)
    cleanups.push(() => supervisor.killAll())
    supervisor.startAll()
    await supervisor.waitAllReady(240_000)
    log(`platform: ${options.instances} instances ready (${supervisor.instances.map(i => i.url).join(', ')})`)

    const timer = new RecoveryTimer(env.admin, env.applicationId, inputTopics(env.topics))
    cleanups.push(async () => timer.stop())
    const traffic = new TrafficGenerator(env.kafka, env.topics, { tag: env.tag, members: options.members, records: options.records, durationMs: options.productionMs, partitions: options.partitions, seed: options.seed, timestamps: options.timestamps })
    const http = new HttpTraffic({ urls: () => supervisor.liveUrls(), client: env.client, tag: env.tag, members: options.httpMembers, partitions: options.partitions, seed: options.seed + 2 })
    let producing = true
    const production = traffic.run().finally(() => { producing = false })
    const httpRun = options.httpMembers > 0 ? http.run(() => !producing) : Promise.resolve()

    // The scenario's faults, while records flow.
    const faultChecks: FaultCheck[] = []
    const outages: ChaosReport['outages'] = []
    const startedProductionMs = Date.now()
    const afterMs = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, Math.max(0, startedProductionMs + ms - Date.now())))
    const probeMember = http.members[0] ?? traffic.members[0]!.id
    const scenario = (async (): Promise<void> => {
      if (options.scenario === 'broker') {
        await afterMs(options.productionMs / 3)
        const { checks, recovery } = await brokerOutage({ broker: broker!, outageMs: options.outageMs, supervisor, timer, log })
        faultChecks.push(...checks)
        outages.push({ fault: `broker stopped ${options.outageMs / 1000} s`, recoveryMs: await recovery })
      } else if (options.scenario === 'postgres') {
        await afterMs(options.productionMs / 4)
        faultChecks.push(...await postgresOutage({ proxy: pgProxy!, outageMs: options.outageMs, supervisor, token: await http.token(), memberId: probeMember, log }))
        outages.push({ fault: `PostgreSQL unreachable ${options.outageMs / 1000} s (instance 0 SIGKILLed and restarted inside it)`, recoveryMs: null })
      } else if (options.scenario === 'redis') {
        await afterMs(options.productionMs / 2)
        faultChecks.push(...await redisOutage({ proxy: redisProxy!, outageMs: options.outageMs, supervisor, token: () => http.token(), memberId: probeMember, log }))
        outages.push({ fault: 'Redis unreachable until the balances were checked', recoveryMs: null })
      } else if (options.scenario === 'shared-dir') {
        await afterMs(options.productionMs / 3)
        for (const namespace of ['same', 'pid'] as const) faultChecks.push(await sharedDirectoryFault({ supervisor, env: platformEnv, holder: 0, namespace, log }))
      }
    })()
    const killing = runKillSchedule({ supervisor, timer, kills: options.kills, windowMs: options.productionMs, wipeEvery: options.wipeEvery, seed: options.seed, log })
    await Promise.all([production, httpRun, scenario])
    const { kills, recoveries } = await killing
    log(`production done: ${traffic.produced} records by kafkajs, ${http.stats.eventsAccepted} events and ${http.stats.redemptionsDecided + http.stats.redemptionsPending} redemptions over HTTP; waiting for the group to catch up`)

    // Settle: the group committed every input record, every instance ready, the kills measured.
    // A run that does not settle (a process crash-looping) is still checked, with short bounds,
    // so that it reports what is missing instead of only timing out.
    const settled = await timer.measure(Date.now(), options.settleTimeoutMs) !== null
    const boundMs = settled ? options.settleTimeoutMs : 15_000
    const lagAtEnd = settled ? 0 : await timer.lag()
    if (!settled) log(`the group did not catch up within ${options.settleTimeoutMs / 1000} s: ${lagAtEnd} input records not processed`)
    await supervisor.waitAllReady(boundMs).catch(() => undefined)
    let recoveryWait: NodeJS.Timeout | undefined
    await Promise.race([recoveries, new Promise(resolve => { recoveryWait = setTimeout(resolve, settled ? options.settleTimeoutMs : 1000) })])
    clearTimeout(recoveryWait)

    // Read everything back (each topic by a consumer of its own, all at once) and check.
    const read: Record<string, ReadRecord[]> = {}
    const incomplete: string[] = []
    const topicReads = await Promise.all(allTopics(env.topics).map(async topic => ({ topic, ...await readTopic(env.kafka, topic, settled ? 120_000 : 10_000) })))
    for (const { topic, records, complete } of topicReads) {
      read[topic] = records
      if (!complete) incomplete.push(topic)
    }
    const model = buildModel(read[env.topics.rewardEvents]!, read[env.topics.redeemEvents]!)
    const outputs = checkOutputs(model, { rewardConfirmed: read[env.topics.rewardConfirmed]!, redeemConfirmed: read[env.topics.redeemConfirmed]!, rewardDlq: read[env.topics.rewardEventsDlq]!, redeemDlq: read[env.topics.redeemEventsDlq]! })
    const balances = await checkBalances(model, outputs, { urls: () => supervisor.liveUrls(), token: () => http.token(), timeoutMs: boundMs })
    redisProxy?.restore()
    const archive = await checkArchive(env.databaseUrl, Object.values(read).flat(), boundMs)

    const finalExits = (await supervisor.stopAll(20_000)).map(e => e === undefined ? undefined : `${e.code ?? e.signal}`)
    const byKind: Record<string, number> = {}
    for (const [kind, n] of traffic.counts as Map<TrafficKind, number>) byKind[kind] = n
    return {
      options,
      durationMs: Date.now() - startedMs,
      kills,
      outages,
      faultChecks,
      produced: { records: traffic.produced, byKind, http: http.stats, inputRecords: read[env.topics.rewardEvents]!.length + read[env.topics.redeemEvents]!.length },
      outputs: outputs.figures,
      balances,
      archive,
      unexpectedExits: supervisor.unexpectedExits,
      finalExits,
      lagAtEnd,
      incompleteTopics: incomplete,
      problems: [...outputs.problems, ...balances.problems, ...archive.problems],
      logDir
    }
  } finally {
    await cleanup()
  }
}
