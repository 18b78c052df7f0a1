// Where a record goes when the archive database refuses its row (docs/archive.md, "Rows the
// database refuses"): the archive_dead_letters table (raw key and value bytes, the refusal's
// SQLSTATE and message), or, when even that insert is refused, a dead-letter topic. Either way
// the record is kept and the archiver can commit past it.
import type { Queryable } from '../../lib/db/database.ts'
import { sqlStateOf } from '../../lib/db/database-errors.ts'
import type { Log, LogProducer } from '../../topology/index.ts'
import type { ArchiveRow } from './archive-row.ts'

export interface Refusal {
  /** SQLSTATE, e.g. 22P02; 'unknown' when the error carried none. */
  readonly code: string
  readonly message: string
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/** Text PostgreSQL and every log reader can hold: no NUL, no lone surrogate. */
export function storableText (text: string): string {
  return text.replaceAll('\u0000', '\\u0000').replace(LONE_SURROGATE, c => `\\u${c.charCodeAt(0).toString(16)}`)
}

export function refusalOf (error: unknown): Refusal {
  const { message, detail } = error as { message?: unknown, detail?: unknown }
  const text = `${typeof message === 'string' ? message : String(error)}${typeof detail === 'string' && detail !== '' ? ` (${detail})` : ''}`
  return { code: sqlStateOf(error) ?? 'unknown', message: storableText(text).slice(0, 2000) }
}

const INSERT_DEAD_LETTER = `
INSERT INTO archive_dead_letters (topic, "partition", "offset", record_timestamp, "key", "value", error_code, error_message)
VALUES ($1, $2, $3, $4, decode($5, 'hex'), decode($6, 'hex'), $7, $8)
ON CONFLICT ON CONSTRAINT archive_dead_letters_topic_partition_offset DO NOTHING`

export async function writeArchiveDeadLetter (db: Queryable, row: ArchiveRow, refusal: Refusal): Promise<void> {
  await db.query(INSERT_DEAD_LETTER, [
    storableText(row.topic), row.partition, String(row.offset), new Date(row.timestamp).toISOString(),
    row.key?.toString('hex') ?? null, row.value?.toString('hex') ?? null, refusal.code, refusal.message
  ])
}

/** The dead-letter topic of last resort: the record as it was, with where it came from and why. */
export class DeadLetterTopic {
  readonly #log: Log
  readonly #clientId: string
  readonly topic: string
  #producer: Promise<LogProducer> | undefined

  constructor (log: Log, topic: string, clientId: string) {
    this.#log = log
    this.topic = topic
    this.#clientId = clientId
  }

  async send (row: ArchiveRow, refusal: Refusal, tableError: Refusal): Promise<void> {
    this.#producer ??= (async () => {
      await this.#log.admin.createTopics([{ name: this.topic, partitions: 1 }])
      return await this.#log.createProducer({ clientId: this.#clientId })
    })()
    let producer: LogProducer
    try {
      producer = await this.#producer
    } catch (error) {
      this.#producer = undefined
      throw error
    }
    await producer.send([{
      topic: this.topic,
      key: row.key,
      value: row.value,
      headers: {
        'archive.topic': Buffer.from(row.topic),
        'archive.partition': Buffer.from(String(row.partition)),
        'archive.offset': Buffer.from(String(row.offset)),
        'error.code': Buffer.from(refusal.code),
        'error.message': Buffer.from(refusal.message),
        'archive.table-error': Buffer.from(`${tableError.code} ${tableError.message}`)
      }
    }])
  }

  async close (): Promise<void> {
    const producer = this.#producer
    this.#producer = undefined
    if (producer !== undefined) await (await producer.catch(() => undefined))?.close()
  }
}
