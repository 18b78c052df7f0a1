// The memory budget's defaults are what docs/engine.md "Memory budget" says, the engine's defaults
// are the default budget's shares, and the launcher adds only the caps the user has not set.
import t from 'tap'
import { bufferedRecordsPerPartition, DEFAULT_MEMORY_BUDGET_MIB, memoryBudget, rocksDbPerStore } from '../../lib/memory-budget.ts'
import { memoryLaunch, RELAUNCHED_ENV } from '../../cli/memory-launch.ts'
import { resolveStreamsConfig } from '../../topology/runtime/streams-config.ts'
import { ROCKSDB_DEFAULTS } from '../../stores/rocksdb-store.ts'

const MIB = 1024 * 1024

t.test('the default budget and its split (docs/engine.md "Memory budget")', async t => {
  t.equal(DEFAULT_MEMORY_BUDGET_MIB, 512)
  t.same(memoryBudget(), { budgetMib: 512, v8OldSpaceMib: 256, v8InitialOldSpaceMib: 128, v8SemiSpaceMib: 8, cacheMaxBytes: 32 * MIB, rocksDbBytes: 64 * MIB, inputRecordsBytes: 16 * MIB, pendingOutputsBytes: 16 * MIB, mallocArenaMax: 2 })
  t.same(memoryBudget(1024), { budgetMib: 1024, v8OldSpaceMib: 512, v8InitialOldSpaceMib: 256, v8SemiSpaceMib: 16, cacheMaxBytes: 64 * MIB, rocksDbBytes: 128 * MIB, inputRecordsBytes: 32 * MIB, pendingOutputsBytes: 32 * MIB, mallocArenaMax: 2 })
  t.equal(memoryBudget(256).v8SemiSpaceMib, 8, 'semi-space floor')
  t.equal(memoryBudget(256).cacheMaxBytes, 16 * MIB, 'the cache has a 16 MiB floor')
  t.throws(() => memoryBudget(255), RangeError)
  t.throws(() => memoryBudget(512.5), RangeError)
})

t.test('RocksDB per store: the share over the instances, between the floors and the ceilings', async t => {
  // The rewards processor alone on 12 partitions: 8 stores × 12 = 96 instances.
  t.same(rocksDbPerStore(64 * MIB, 96), { blockCacheBytes: MIB / 2, memtableBudgetBytes: 1 * MIB }, 'floors')
  t.same(rocksDbPerStore(64 * MIB, 1), { blockCacheBytes: 2 * MIB, memtableBudgetBytes: 4 * MIB }, 'ceilings')
  t.same(rocksDbPerStore(36 * MIB, 8), { blockCacheBytes: 1.5 * MIB, memtableBudgetBytes: 3 * MIB }, 'a third and two thirds of the share')
})

t.test('input records buffered per partition: the share over the source partitions, between 100 and 1,000', async t => {
  // The rewards processor on 12 partitions: 3 source topics (two inputs, the windows' repartition).
  t.equal(bufferedRecordsPerPartition(16 * MIB, 36), 455)
  t.equal(bufferedRecordsPerPartition(16 * MIB, 3), 1000, 'ceiling: the engine\'s default')
  t.equal(bufferedRecordsPerPartition(16 * MIB, 1000), 100, 'floor')
  t.equal(bufferedRecordsPerPartition(16 * MIB, 0), 1000)
})

t.test('the engine defaults are the default budget\'s shares', async t => {
  const config = resolveStreamsConfig({ applicationId: 'a', stateDir: '/tmp/x' })
  t.equal(config.cacheMaxBytes, 32 * MIB)
  t.equal(config.rocksDbBlockCacheBytesPerStore, MIB / 2)
  t.equal(config.rocksDbMemtableBytesPerStore, 1 * MIB)
  t.equal(config.maxPendingOutputBytes, 16 * MIB, 'outputs waiting for their commit')
  t.same(ROCKSDB_DEFAULTS, { blockCacheBytes: MIB / 2, memtableBudgetBytes: 1 * MIB, syncWrites: true })
})

t.test('the launcher adds the caps that are missing, for start with the processor only', async t => {
  t.same(memoryLaunch(['start'], {}, []), { execArgv: ['--max-old-space-size=256', '--initial-old-space-size=128', '--max-semi-space-size=8'], env: { MALLOC_ARENA_MAX: '2', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' }, budgetMib: 512 }, 'start runs all roles by default')
  t.same(memoryLaunch(['start', '--role', 'api,processor'], {}, [])?.execArgv, ['--max-old-space-size=256', '--initial-old-space-size=128', '--max-semi-space-size=8'])
  t.same(memoryLaunch(['start', '--role=processor', '--memory-budget-mib', '1024'], {}, [])?.execArgv, ['--max-old-space-size=512', '--initial-old-space-size=256', '--max-semi-space-size=16'], 'the flag')
  t.same(memoryLaunch(['start'], { REWARDS_MEMORY_BUDGET_MIB: '2048' }, [])?.execArgv, ['--max-old-space-size=1024', '--initial-old-space-size=512', '--max-semi-space-size=32'], 'the variable')
  t.same(memoryLaunch(['start', '--memory-budget-mib=1024'], { REWARDS_MEMORY_BUDGET_MIB: '2048' }, [])?.budgetMib, 1024, 'the flag beats the variable')
  t.equal(memoryLaunch(['start', '--role', 'api'], {}, []), null, 'not the processor')
  t.equal(memoryLaunch(['topics', 'create'], {}, []), null, 'not start')
  t.equal(memoryLaunch(['start'], { [RELAUNCHED_ENV]: '512' }, []), null, 'never twice')
  t.equal(memoryLaunch(['start'], { REWARDS_MEMORY_BUDGET_MIB: 'lots' }, []), null, 'an invalid budget is left to the configuration check')
  t.same(memoryLaunch(['start'], { NODE_OPTIONS: '--max-old-space-size=1000' }, []), { execArgv: ['--max-semi-space-size=8'], env: { MALLOC_ARENA_MAX: '2', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' }, budgetMib: 512 }, 'the user\'s V8 cap is kept')
  t.same(memoryLaunch(['start'], { NODE_OPTIONS: '--max-semi-space-size=4' }, ['--initial-old-space-size=64'])?.execArgv, ['--max-old-space-size=256'], 'the user\'s initial old space is kept')
  t.same(memoryLaunch(['start'], { MALLOC_ARENA_MAX: '8' }, []), { execArgv: ['--max-old-space-size=256', '--initial-old-space-size=128', '--max-semi-space-size=8'], env: { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' }, budgetMib: 512 }, 'the user\'s arenas are kept')
  t.same(memoryLaunch(['start'], { MALLOC_ARENA_MAX: '8', GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0' }, ['--max-old-space-size=300', '--max-semi-space-size=8'])?.env, { GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1' }, 'huge pages added to the user\'s tunables')
  t.equal(memoryLaunch(['start'], { MALLOC_ARENA_MAX: '8', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, ['--max-old-space-size=300', '--max-semi-space-size=8']), null, 'all set (huge pages off by the user): nothing to do')
})
