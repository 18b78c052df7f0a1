// Which records of a produce request the broker refused. A Produce response answers per partition
// batch: an error code for the batch and, for some errors (INVALID_TIMESTAMP, INVALID_RECORD),
// `record_errors` naming the refused records by their index in the batch (KIP-467). A batch-level
// refusal without record errors (MESSAGE_TOO_LARGE: the whole batch is over max.message.bytes)
// names only the partition: every record of that partition in the request is a suspect, and the
// caller isolates them (one record per request) on its next attempt to find the one refused.
import type { ProducerRecord } from '../log-port.ts'

/** Produce errors about the records themselves: the same records sent again are refused again. */
export const RECORD_REFUSAL_CODES: ReadonlyMap<number, string> = new Map([
  [2, 'CORRUPT_MESSAGE'],
  [10, 'MESSAGE_TOO_LARGE'],
  [18, 'RECORD_LIST_TOO_LARGE'],
  [32, 'INVALID_TIMESTAMP'],
  [87, 'INVALID_RECORD']
])

export interface RefusedRecord {
  /** Index of the record in the batch given to send() / commitTransaction(). */
  readonly index: number
  /** Where it was to go (the partition the producer chose when the record named none). */
  readonly topic: string
  readonly partition: number
  /** The broker's error id, e.g. INVALID_TIMESTAMP. */
  readonly code: string
  readonly message: string
}

export interface Refusal {
  readonly refused: RefusedRecord[]
  /** false: the broker named a partition batch only, and `refused` lists every record of it that
   *  was in the request (suspects); send them one per request to learn which. */
  readonly exact: boolean
}

interface PartitionResponse {
  readonly index: number
  readonly errorCode: number
  readonly errorMessage?: string | null
  readonly recordErrors?: ReadonlyArray<{ batchIndex: number, batchIndexErrorMessage: string | null }>
}

interface ProduceResponse {
  readonly responses: ReadonlyArray<{ name: string, partitionResponses: readonly PartitionResponse[] }>
}

function produceResponses (error: unknown): ProduceResponse[] {
  const out = new Set<ProduceResponse>()
  const seen = new Set<unknown>()
  const visit = (node: unknown, depth: number): void => {
    if (node === null || typeof node !== 'object' || seen.has(node) || depth > 12) return
    seen.add(node)
    const record = node as { response?: unknown, errors?: unknown, cause?: unknown }
    const response = record.response as Partial<ProduceResponse> | undefined
    if (response !== undefined && response !== null && Array.isArray(response.responses) && response.responses.every(r => Array.isArray((r as { partitionResponses?: unknown }).partitionResponses))) {
      out.add(response as ProduceResponse)
    }
    if (Array.isArray(record.errors)) for (const inner of record.errors) visit(inner, depth + 1)
    visit(record.cause, depth + 1)
  }
  visit(error, 0)
  return [...out]
}

/** The records of `sent` (indexes offset by `baseIndex`) that a failed produce refused, or null
 *  when the failure is not a refusal of records. `sent` must carry explicit partitions. */
export function refusedRecords (error: unknown, sent: ReadonlyArray<Pick<ProducerRecord, 'topic' | 'partition'>>, baseIndex = 0): Refusal | null {
  const refused: RefusedRecord[] = []
  let exact = true
  for (const response of produceResponses(error)) {
    for (const topic of response.responses) {
      for (const p of topic.partitionResponses) {
        const code = RECORD_REFUSAL_CODES.get(p.errorCode)
        if (code === undefined) continue
        const positions: number[] = []
        sent.forEach((r, i) => { if (r.topic === topic.name && r.partition === p.index) positions.push(baseIndex + i) })
        const recordErrors = (p.recordErrors ?? []).filter(e => e.batchIndex >= 0 && e.batchIndex < positions.length)
        if (recordErrors.length > 0) {
          for (const e of recordErrors) refused.push({ index: positions[e.batchIndex]!, topic: topic.name, partition: p.index, code, message: e.batchIndexErrorMessage ?? p.errorMessage ?? code })
        } else {
          if (positions.length !== 1) exact = false
          for (const index of positions) refused.push({ index, topic: topic.name, partition: p.index, code, message: p.errorMessage ?? code })
        }
      }
    }
  }
  return refused.length === 0 ? null : { refused, exact }
}
