// The memory caps of a `rewards start` process that only exist before the process starts: V8's
// heap sizes (node --max-old-space-size, --initial-old-space-size, --max-semi-space-size) and glibc's MALLOC_ARENA_MAX (read by malloc at its
// first call). When they are missing, the launcher replaces the process by the same command with
// them (execve: the same pid, nothing runs twice), derived from REWARDS_MEMORY_BUDGET_MIB or
// --memory-budget-mib (lib/memory-budget.ts; docs/engine.md "Memory budget"). A cap the user set
// (NODE_OPTIONS, node flags, MALLOC_ARENA_MAX) is kept as it is.
// Also glibc's `glibc.malloc.hugetlb=1` tunable (GLIBC_TUNABLES, read at process start too):
// malloc asks for transparent huge pages on the memory it maps. On this project's VMs a first
// touch of a fresh 4 KiB page costs ~17 µs, and a cold start's restore touches ~100 MB of fresh
// memory on the main thread (fetched bytes, their copy, RocksDB memtables): huge pages cut its
// faults from thousands to tens (docs/benchmarks.md "Cold start, eighth pass (branch coldstart8)").
import { DEFAULT_MEMORY_BUDGET_MIB, MAX_MEMORY_BUDGET_MIB, MIN_MEMORY_BUDGET_MIB, memoryBudget } from '../lib/memory-budget.ts'

/** The glibc tunable added to GLIBC_TUNABLES (kept if the user's value sets it). */
export const HUGETLB_TUNABLE = 'glibc.malloc.hugetlb'

/** GLIBC_TUNABLES with transparent huge pages for malloc, or undefined when the user's value
 *  already says something about them. Tunables are `name=value` pairs joined by ':'. */
function tunablesWithHugePages (current: string | undefined): string | undefined {
  if (current === undefined || current === '') return `${HUGETLB_TUNABLE}=1`
  if (current.split(':').some(t => t.startsWith(`${HUGETLB_TUNABLE}=`))) return undefined
  return `${current}:${HUGETLB_TUNABLE}=1`
}

/** Set in the replaced process: never relaunch twice. */
export const RELAUNCHED_ENV = 'REWARDS_MEMORY_CAPS_APPLIED'

export interface MemoryLaunch {
  /** node's own flags to add before the script. */
  readonly execArgv: string[]
  /** Variables to add to the environment. */
  readonly env: Record<string, string>
  readonly budgetMib: number
}

function flagValue (argv: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') return undefined
    if (arg === flag) return argv[i + 1]
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1)
  }
  return undefined
}

/** Whether `rewards <args>` runs the processor: `start` with --role all (the default) or a list
 *  naming processor. */
function startsProcessor (args: readonly string[]): boolean {
  if (args[0] !== 'start') return false
  const roles = flagValue(args, '--role') ?? 'all'
  return roles.split(',').map(r => r.trim()).some(r => r === 'all' || r === 'processor')
}

/** What to add to run `rewards <args>` (process.argv from index 2) within its memory budget, or
 *  null when nothing is missing (or the budget is invalid: the configuration check reports it). */
export function memoryLaunch (args: readonly string[], env: Readonly<Record<string, string | undefined>>, execArgv: readonly string[]): MemoryLaunch | null {
  if (env[RELAUNCHED_ENV] !== undefined || !startsProcessor(args)) return null
  const raw = flagValue(args, '--memory-budget-mib') ?? env.REWARDS_MEMORY_BUDGET_MIB
  const text = raw === undefined || raw.trim() === '' ? String(DEFAULT_MEMORY_BUDGET_MIB) : raw.trim()
  if (!/^\d{1,9}$/.test(text) || Number(text) < MIN_MEMORY_BUDGET_MIB || Number(text) > MAX_MEMORY_BUDGET_MIB) return null
  const budget = memoryBudget(Number(text))
  const nodeOptions = `${env.NODE_OPTIONS ?? ''} ${execArgv.join(' ')}`
  // The initial old space only with the budget's own cap (a user's cap may be smaller).
  const ownOldSpace = !/--max-old-space-size\b/.test(nodeOptions)
  const addArgv = [
    ...(ownOldSpace ? [`--max-old-space-size=${budget.v8OldSpaceMib}`] : []),
    ...(ownOldSpace && !/--initial-old-space-size\b/.test(nodeOptions) ? [`--initial-old-space-size=${budget.v8InitialOldSpaceMib}`] : []),
    ...(/--max-semi-space-size\b/.test(nodeOptions) ? [] : [`--max-semi-space-size=${budget.v8SemiSpaceMib}`])
  ]
  const addEnv: Record<string, string> = env.MALLOC_ARENA_MAX === undefined || env.MALLOC_ARENA_MAX === '' ? { MALLOC_ARENA_MAX: String(budget.mallocArenaMax) } : {}
  const tunables = tunablesWithHugePages(env.GLIBC_TUNABLES)
  if (tunables !== undefined) addEnv.GLIBC_TUNABLES = tunables
  if (addArgv.length === 0 && Object.keys(addEnv).length === 0) return null
  return { execArgv: addArgv, env: addEnv, budgetMib: budget.budgetMib }
}

/** Replaces this process by itself with the missing caps (Linux and macOS; Node's
 *  process.execve). Returns only when nothing is to be done or execve is not available. */
export function relaunchWithMemoryCaps (): void {
  const launch = memoryLaunch(process.argv.slice(2), process.env, process.execArgv)
  if (launch === null || typeof process.execve !== 'function' || process.platform === 'win32') return
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...launch.execArgv, ...process.argv.slice(1)], {
    ...process.env,
    ...launch.env,
    [RELAUNCHED_ENV]: String(launch.budgetMib)
  })
}
