// The outputs of one run of the rewards topology (confirmations and dead letters), read back from
// its four output topics and reduced to what two runs must agree on: per output topic and key, the
// records in order, each as its key, timestamp, value and headers. Wall-clock fields differ between
// runs by nature and are masked: processedAt in confirmations, and the parser's own words after
// "record value is not valid JSON:" in a MALFORMED_JSON error.message (V8's and Jackson's differ).
// The runs' own topic prefix is taken off the source.topic header as the records are read.
import type { Log, LogRecord } from '../../log/log-port.ts'
import type { RewardsTopics } from '../../processors/rewards/topics.ts'
import { redeemSummary, rewardSummary, type ModelOutcome } from '../../test/processors/rewards/reference-model.ts'
import { portRead } from './baselines.ts'
import { partitionsOf } from './logs.ts'

export const OUTPUT_KINDS = ['rewardConfirmed', 'redeemConfirmed', 'rewardEventsDlq', 'redeemEventsDlq'] as const
export type OutputKind = typeof OUTPUT_KINDS[number]

/** Per output topic, per key: the records in the order they were written (one partition per key). */
export type KeyedRecords = Map<OutputKind, Map<string, LogRecord[]>>

const MALFORMED_PREFIX = 'record value is not valid JSON:'

/** `prefix`: the run's topic prefix, taken off the source.topic header of its dead letters. */
export async function readOutputs (log: Log, topics: RewardsTopics, partitions: number, prefix: string): Promise<{ records: KeyedRecords, count: number }> {
  const records: KeyedRecords = new Map(OUTPUT_KINDS.map(kind => [kind, new Map()]))
  let count = 0
  for (const kind of OUTPUT_KINDS) {
    const tps = partitionsOf(topics[kind], partitions)
    const ends = await log.admin.listOffsets(tps, 'latest')
    const byKey = records.get(kind)!
    await portRead(log, tps, ends, record => {
      const key = keyText(record.key)
      const list = byKey.get(key) ?? []
      const source = record.headers['source.topic']?.toString('utf8')
      list.push(source?.startsWith(prefix) === true ? { ...record, headers: { ...record.headers, 'source.topic': Buffer.from(source.slice(prefix.length)) } } : record)
      byKey.set(key, list)
      count++
    })
  }
  return { records, count }
}

function keyText (key: Buffer | null): string {
  return key === null ? '(null)' : key.toString('utf8')
}

/** One record as two runs must agree on it. */
export function normalized (kind: OutputKind, record: LogRecord): string {
  const headers = Object.entries(record.headers).map(([name, value]) => {
    let text = value.toString('utf8')
    if (name === 'error.message' && record.headers['error.code']?.toString('utf8') === 'MALFORMED_JSON' && text.startsWith(MALFORMED_PREFIX)) text = `${MALFORMED_PREFIX} …`
    return `${name}=${text}`
  })
  let value = record.value === null ? '(null)' : record.value.toString('utf8')
  if (kind === 'rewardConfirmed' || kind === 'redeemConfirmed') value = value.replace(/"processedAt":"[^"]*"/, '"processedAt":"…"')
  return `p${record.partition} t${record.timestamp} ${value} [${headers.join(', ')}]`
}

export interface Comparison {
  /** Keys (over the four topics) whose records differ. */
  readonly differingKeys: number
  readonly keys: number
  readonly examples: string[]
}

function compareLists (name: string, keys: Set<string>, left: (key: string) => string[], right: (key: string) => string[], examples: string[]): number {
  let differing = 0
  for (const key of keys) {
    const a = left(key)
    const b = right(key)
    const at = a.findIndex((x, i) => x !== b[i])
    const firstDiff = at >= 0 ? at : a.length !== b.length ? Math.min(a.length, b.length) : -1
    if (firstDiff < 0) continue
    differing++
    if (examples.length < 5) examples.push(`${name} key ${key}, record ${firstDiff + 1} of ${a.length} vs ${b.length}:\n    ${a[firstDiff] ?? '(none)'}\n    ${b[firstDiff] ?? '(none)'}`)
  }
  return differing
}

/** Two runs' outputs, record by record per topic and key. */
export function compareOutputs (a: KeyedRecords, b: KeyedRecords): Comparison {
  const examples: string[] = []
  let differingKeys = 0
  let keys = 0
  for (const kind of OUTPUT_KINDS) {
    const left = a.get(kind)!
    const right = b.get(kind)!
    const all = new Set([...left.keys(), ...right.keys()])
    keys += all.size
    differingKeys += compareLists(kind, all, k => (left.get(k) ?? []).map(r => normalized(kind, r)), k => (right.get(k) ?? []).map(r => normalized(kind, r)), examples)
  }
  return { differingKeys, keys, examples }
}

/** What the reference model says each output topic holds, per key: summaries of the confirmations
 *  (reference-model.ts rewardSummary / redeemSummary) and the dead-letter codes. */
export type ModelOutputs = Map<OutputKind, Map<string, string[]>>

export function emptyModelOutputs (): ModelOutputs {
  return new Map(OUTPUT_KINDS.map(kind => [kind, new Map()]))
}

/** Adds the model's outcome of one input record (key: the input record's key). */
export function addModelOutcome (expected: ModelOutputs, outcome: ModelOutcome, inputKey: string): void {
  const push = (kind: OutputKind, key: string, summary: string): void => {
    const byKey = expected.get(kind)!
    byKey.set(key, [...(byKey.get(key) ?? []), summary])
  }
  if (outcome.kind === 'reward') push('rewardConfirmed', outcome.memberId, rewardSummary(outcome))
  else if (outcome.kind === 'redeem') push('redeemConfirmed', outcome.memberId, redeemSummary(outcome))
  else if (outcome.kind === 'dlq') push(outcome.topic === 'reward-events' ? 'rewardEventsDlq' : 'redeemEventsDlq', inputKey, outcome.code)
}

function summary (kind: OutputKind, record: LogRecord): string {
  if (kind === 'rewardConfirmed') return rewardSummary(JSON.parse(record.value!.toString('utf8')) as Parameters<typeof rewardSummary>[0])
  if (kind === 'redeemConfirmed') return redeemSummary(JSON.parse(record.value!.toString('utf8')) as Parameters<typeof redeemSummary>[0])
  return record.headers['error.code']?.toString('utf8') ?? '(no error.code)'
}

/** One run's outputs against the model: every confirmation's balance, every dead-letter code. */
export function compareWithModel (actual: KeyedRecords, expected: ModelOutputs): Comparison {
  const examples: string[] = []
  let differingKeys = 0
  let keys = 0
  for (const kind of OUTPUT_KINDS) {
    const got = actual.get(kind)!
    const want = expected.get(kind)!
    const all = new Set([...got.keys(), ...want.keys()])
    keys += all.size
    differingKeys += compareLists(kind, all, k => (got.get(k) ?? []).map(r => summary(kind, r)), k => want.get(k) ?? [], examples)
  }
  return { differingKeys, keys, examples }
}
