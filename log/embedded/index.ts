// The embedded durable log: the backend used when no Kafka brokers are configured, so the whole
// platform runs in one process with no services. See docs/decisions/0004-embedded-log.md.
import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { StreamsError } from '../../topology/streams-error.ts'
import { EmbeddedLog } from './embedded-log.ts'
import { LogStorage } from './log-storage.ts'
import { createRocksDatabase } from './rocks-database.ts'
import type { OffsetResetOptions } from '../log-port.ts'

export interface EmbeddedLogOptions {
  /** Directory of the log's RocksDB database; created when missing. One process at a time. */
  readonly dir: string
  /** Compacted topics: compact a partition once this many records were appended to it since the
   *  last compaction (and at least as many as that one left). Default 10,000. */
  readonly compactionMinDirtyRecords?: number
  /** Default reset policy and listener of every group consumer (a consumer's own options win). */
  readonly offsetReset?: OffsetResetOptions
}

export type { EmbeddedLog }

/** Opens (creating if needed) the embedded log in `dir`. Fails with STATE_DIR_LOCKED when the
 *  directory is already open, in this process or another. */
export async function openEmbeddedLog (options: EmbeddedLogOptions): Promise<EmbeddedLog> {
  const dir = resolve(options.dir)
  try {
    await mkdir(dir, { recursive: true })
  } catch (error) {
    throw new StreamsError('LOG_CONNECTION', `Cannot create the embedded log directory ${dir}: ${(error as Error).message}`, { cause: error })
  }
  const db = createRocksDatabase(dir)
  try {
    await db.open({ createIfMissing: true })
  } catch (error) {
    const text = `${(error as Error).message} ${((error as Error).cause as Error | undefined)?.message ?? ''}`
    if (/\block\b/i.test(text)) {
      throw new StreamsError('STATE_DIR_LOCKED', `The embedded log directory ${dir} is already open in another process (or twice in this one); only one process may open it at a time`, { cause: error, details: { dir } })
    }
    throw new StreamsError('LOG_CONNECTION', `Cannot open the embedded log in ${dir}: ${text.trim()}`, { cause: error, details: { dir } })
  }
  try {
    const storage = await LogStorage.load(db)
    return new EmbeddedLog(dir, db, storage, {
      ...(options.compactionMinDirtyRecords === undefined ? {} : { minDirtyRecords: options.compactionMinDirtyRecords }),
      ...(options.offsetReset === undefined ? {} : { offsetReset: options.offsetReset })
    })
  } catch (error) {
    await db.close().catch(() => {})
    throw new StreamsError('LOG_CONNECTION', `Cannot load the embedded log in ${dir}: ${(error as Error).message}`, { cause: error, details: { dir } })
  }
}
