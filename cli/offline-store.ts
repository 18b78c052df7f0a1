// Reads a state store of a stopped instance straight from its state directory:
//   <dataDir>/state/<applicationId>/<task>/<store>/   one RocksDB per task
// The application's state-directory lock is taken for the duration of the read, so a running
// instance (which holds it) is never read behind its back: that case is refused with
// STATE_DIR_LOCKED and a pointer to the HTTP API, which answers from the live stores.
import { runningPlatformUrl } from '../api/auth/admin-run-file.ts'
import { existsSync } from 'node:fs'
import type { RewardsConfig } from '../lib/config.ts'
import { RewardsError, isRewardsError } from '../lib/errors.ts'
import { prefixUpperBound } from '../stores/bytes-range.ts'
import { describeHolder, type LockHolder } from '../stores/directory-lock.ts'
import { RocksDbStore } from '../stores/rocksdb-store.ts'
import { StateDirectory } from '../stores/state-directory.ts'
import type { AnyStoreDefinition, Topology } from '../topology/topology.ts'

export interface StoreEntry {
  readonly task: string
  readonly key: unknown
  readonly value: unknown
}

export interface OfflineStore {
  readonly name: string
  readonly tasks: string[]
  get (key: string): StoreEntry | undefined
  /** Entries whose key starts with `prefix` (all when empty), in key byte order across tasks. */
  scan (prefix: string, limit: number): StoreEntry[]
  close (): Promise<void>
}

export async function openOfflineStore (config: Pick<RewardsConfig, 'stateDir' | 'dataDir' | 'applicationId' | 'httpHost' | 'httpPort'>, topology: Topology, storeName: string): Promise<OfflineStore> {
  const definition: AnyStoreDefinition | undefined = topology.storeDefinition(storeName)
  if (definition === undefined) {
    throw new RewardsError('STORE_NOT_FOUND', `no store "${storeName}" in the rewards topology; stores: ${topology.storeDefinitions().map(d => d.name).join(', ')}`)
  }
  const directory = new StateDirectory(config.stateDir, config.applicationId)
  if (!existsSync(directory.appDir)) {
    throw new RewardsError('STORE_NOT_FOUND', `no state for application "${config.applicationId}" in ${config.stateDir} (wrong REWARDS_DATA_DIR or REWARDS_APPLICATION_ID?)`)
  }
  try {
    directory.lock()
  } catch (error) {
    if (isRewardsError(error, 'STATE_DIR_LOCKED')) {
      // The lock's error carries the holder its lock file names (docs/cli.md "rewards store get").
      const holder = describeHolder(error.details?.holder as LockHolder | undefined)
      throw new RewardsError('STATE_DIR_LOCKED', `the state directory ${directory.appDir} is in use by a running instance (${holder}); ` +
        `stop it first, or query the live stores over its HTTP API (e.g. GET ${runningPlatformUrl(config)}/v1/members/<memberId>/balance)`, { cause: error, details: error.details ?? {} })
    }
    throw error
  }
  const opened: Array<{ task: string, store: RocksDbStore }> = []
  try {
    for (const task of directory.listTaskDirs()) {
      const dir = directory.storeDir(task, storeName)
      if (!existsSync(dir)) continue
      const store = new RocksDbStore(`${storeName}@${task}`, { syncWrites: false })
      await store.open(dir)
      opened.push({ task, store })
    }
  } catch (error) {
    await Promise.allSettled(opened.map(o => o.store.close()))
    directory.unlock()
    throw error
  }
  if (opened.length === 0) {
    directory.unlock()
    throw new RewardsError('STORE_NOT_FOUND', `store "${storeName}" has no task data under ${directory.appDir} (the instance never ran a task of it here)`)
  }
  const decode = (task: string, key: Buffer, value: Buffer): StoreEntry => ({ task, key: definition.keySerde.deserialize(key), value: definition.valueSerde.deserialize(value) })
  return {
    name: storeName,
    tasks: opened.map(o => o.task),
    get (key: string): StoreEntry | undefined {
      const bytes = definition.keySerde.serialize(key)
      for (const { task, store } of opened) {
        const value = store.get(bytes)
        if (value !== undefined) return decode(task, bytes, value)
      }
      return undefined
    },
    scan (prefix: string, limit: number): StoreEntry[] {
      const from = prefix === '' ? undefined : definition.keySerde.serialize(prefix) as Buffer
      const to = from === undefined ? undefined : prefixUpperBound(from)
      const rows: Array<{ task: string, key: Buffer, value: Buffer }> = []
      for (const { task, store } of opened) {
        for (const [key, value] of store.range(from, to, { limit, toExclusive: to !== undefined })) rows.push({ task, key, value })
      }
      rows.sort((a, b) => Buffer.compare(a.key, b.key))
      return rows.slice(0, limit).map(r => decode(r.task, r.key, r.value))
    },
    async close (): Promise<void> {
      await Promise.allSettled(opened.map(o => o.store.close()))
      directory.unlock()
    }
  }
}
