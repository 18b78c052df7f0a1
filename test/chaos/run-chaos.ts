// The long form of the chaos suite: `npm run chaos -- --kills 20 --instances 2 [--scenario …]`.
// Prints the run's figures; exit 0 only when nothing was duplicated, lost or wrong and every
// fault check held, 1 otherwise, 2 on bad arguments. Needs the local services
// (`eval "$(bash infra/local/services.sh up)"`).
import { rmSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { longOptions, SCENARIOS, type ChaosOptions, type Scenario } from './chaos-options.ts'
import { formatReport, passed } from './chaos-report.ts'
import { runChaos } from './chaos-run.ts'

const HELP = `usage: npm run chaos -- [options]

Runs full platform processes (rewards start, all roles, exactly_once_v2) on the real broker,
PostgreSQL and Redis, produces traffic with an independent client while injecting faults, then
checks every output, dead letter, balance and archive row against a reference model.

  --scenario <s>     ${SCENARIOS.join(' | ')} (default kills)
                       kills       SIGKILLs of whole process groups only
                       broker      the run's own broker stopped --outage seconds (default 30)
                       postgres    PostgreSQL unreachable through a proxy (default 60 s)
                       redis       Redis unreachable through a proxy (default 30 s, kept down
                                   until the balances are checked)
                       shared-dir  a second process started on a running instance's data directory
  --kills <n>        SIGKILLs spread over the production (default 20 for kills, else 0)
  --instances <n>    platform processes, 2 or 3 (default 2)
  --records <n>      records produced by kafkajs (default 60000)
  --members <n>      members (default 300)
  --http-members <n> members whose traffic goes through the HTTP API (default 20)
  --duration <s>     production time in seconds (default 150)
  --partitions <n>   partitions of the topics (default 12)
  --outage <s>       outage length in seconds for broker, postgres, redis
  --wipe-every <n>   every nth restart wipes the data directory (default 5; 0 never)
  --settle <s>       how long to wait at the end for the group to catch up (default 600)
  --seed <n>         traffic seed (default: from the clock; printed)
  --timestamps <t>   mixed (default): a backfill 200 days old, late arrivals 60 days old and
                     events of today, malformed records dated and stamped now among them;
                     recent: all within 20 days (a control run the client's varint bug cannot hit)
  -h, --help         this text

Exit 0 when duplicates, lost, wrong outputs, wrong balances, duplicate or missing archive rows,
processes that exited on their own and unrecovered kills are all 0 and every fault check holds.`

function integer (name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`run-chaos: --${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}\n`)
    process.exit(2)
  }
  return n
}

function options (): ChaosOptions {
  let parsed
  try {
    parsed = parseArgs({
      options: {
        scenario: { type: 'string' }, kills: { type: 'string' }, instances: { type: 'string' }, records: { type: 'string' }, members: { type: 'string' },
        'http-members': { type: 'string' }, duration: { type: 'string' }, partitions: { type: 'string' }, outage: { type: 'string' },
        'wipe-every': { type: 'string' }, seed: { type: 'string' }, settle: { type: 'string' }, timestamps: { type: 'string' }, help: { type: 'boolean', short: 'h' }
      }
    }).values
  } catch (error) {
    process.stderr.write(`run-chaos: ${(error as Error).message}\n\n${HELP}\n`)
    process.exit(2)
  }
  if (parsed.help === true) {
    process.stdout.write(`${HELP}\n`)
    process.exit(0)
  }
  const scenario = (parsed.scenario ?? 'kills') as Scenario
  if (!SCENARIOS.includes(scenario)) {
    process.stderr.write(`run-chaos: --scenario must be one of ${SCENARIOS.join(', ')}, got ${JSON.stringify(parsed.scenario)}\n`)
    process.exit(2)
  }
  // Unset options keep longOptions' defaults.
  if (parsed.timestamps !== undefined && parsed.timestamps !== 'mixed' && parsed.timestamps !== 'recent') {
    process.stderr.write(`run-chaos: --timestamps must be mixed or recent, got ${JSON.stringify(parsed.timestamps)}\n`)
    process.exit(2)
  }
  const defined = (o: Record<string, unknown>): Partial<ChaosOptions> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<ChaosOptions>
  const durationS = integer('duration', parsed.duration, 10, 3600)
  const outageS = integer('outage', parsed.outage, 1, 600)
  const settleS = integer('settle', parsed.settle, 10, 3600)
  return longOptions(defined({
    scenario,
    kills: integer('kills', parsed.kills, 0, 1000),
    instances: integer('instances', parsed.instances, 1, 3),
    records: integer('records', parsed.records, 100, 10_000_000),
    members: integer('members', parsed.members, 10, 100_000),
    httpMembers: integer('http-members', parsed['http-members'], 0, 1000),
    productionMs: durationS === undefined ? undefined : durationS * 1000,
    partitions: integer('partitions', parsed.partitions, 2, 100),
    outageMs: outageS === undefined ? undefined : outageS * 1000,
    wipeEvery: integer('wipe-every', parsed['wipe-every'], 0, 1000),
    seed: integer('seed', parsed.seed, 0, 2 ** 31),
    settleTimeoutMs: settleS === undefined ? undefined : settleS * 1000,
    timestamps: parsed.timestamps as ChaosOptions['timestamps'] | undefined
  }))
}

const chosen = options()
const started = Date.now()
const log = (line: string): void => { process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`) }
const report = await runChaos(chosen, log)
process.stdout.write(`\n${formatReport(report)}\n`)
const ok = passed(report)
if (ok) rmSync(report.logDir, { recursive: true, force: true }) // kept only to diagnose a failure
process.stdout.write(`${ok ? 'PASS' : `FAIL (platform logs kept in ${report.logDir})`}\n`)
process.exit(ok ? 0 : 1)
