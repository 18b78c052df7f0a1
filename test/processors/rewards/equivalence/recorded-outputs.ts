// What a rewards topology writes for a scenario (scenarios.ts), as lines that can be recorded once
// and compared later: per input record, every output record it caused, in order, with its topic,
// partition, key and a digest of its exact bytes (key, value, headers in order, timestamp); after
// the last input, a digest of every store of every task (the activity heads mapped back to the
// recorded key layout).
//
// The digest covers every byte but one text: in a MALFORMED_JSON dead letter's error.message, the
// words after "record value is not valid JSON: " are V8's JSON.parse message, which can change with
// the Node version while the topology stays the same; they are masked.
import { createHash } from 'node:crypto'
import { partitionForKey } from '../../../../log/murmur2-partitioner.ts'
import { REWARDS_STORES, REWARDS_TOPICS } from '../../../../processors/rewards/index.ts'
import { Serdes, TopologyTestDriver, type Headers, type Topology } from '../../../../topology/index.ts'
import type { Scenario } from './scenarios.ts'

const PARSER_WORDS = /^(record value is not valid JSON: ).*$/s

function digest (parts: Array<Buffer | string>): string {
  const hash = createHash('sha256')
  for (const p of parts) {
    const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : p
    hash.update(String(bytes.length)).update(':').update(bytes)
  }
  return hash.digest('hex').slice(0, 16)
}

function bytesOf (b: Buffer | null): Array<Buffer | string> {
  return b === null ? ['null'] : ['bytes', b]
}

function headerParts (headers: Headers): Array<Buffer | string> {
  return Object.entries(headers).flatMap(([name, value]) => {
    const masked = name === 'error.message' ? Buffer.from(value.toString('utf8').replace(PARSER_WORDS, '$1<parser>'), 'utf8') : value
    return [name, masked]
  })
}

/** Printable key for the line (the digest has the exact bytes). */
function keyText (key: Buffer | null): string {
  if (key === null) return '~'
  const text = key.toString('utf8')
  return /^[\x21-\x7e]{1,80}$/.test(text) ? text : `0x${key.toString('hex').slice(0, 32)}`
}

/** What the record says, readable: a dead letter's code, a decision's status, a reward's type. */
function detail (value: Buffer | null, headers: Headers): string {
  const code = headers['error.code']
  if (code !== undefined) return code.toString()
  const parsed = value === null ? undefined : JSON.parse(value.toString('utf8')) as { status?: string, type?: string }
  return parsed?.status ?? parsed?.type ?? '-'
}

/** A store's entries as the recorded processor laid them out: it kept the activity heads under the
 *  bare member id, now under `!memberId` (processors/rewards/activity.ts); same values. */
function inRecordedLayout (store: string, entries: Array<{ key: string, value: unknown }>): Array<{ key: string, value: unknown }> {
  if (store !== REWARDS_STORES.activity) return entries
  return entries.map(e => e.key.startsWith('!') ? { key: e.key.slice(1), value: e.value } : e)
    .sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
}

/** Runs the scenario through `topology` on the test driver; returns the lines. */
export async function recordOutputs (scenario: Scenario, topology: Topology): Promise<string[]> {
  const driver = new TopologyTestDriver(topology, { applicationId: 'rewards-equivalence', partitions: scenario.partitions, startTimeMs: scenario.startTimeMs })
  const lines: string[] = [`# ${scenario.name}`]
  try {
    const raw = Serdes.bytesOrNull()
    const inputs = {
      'reward-events': driver.createInputTopic(REWARDS_TOPICS.rewardEvents, raw, raw),
      'redeem-events': driver.createInputTopic(REWARDS_TOPICS.redeemEvents, raw, raw)
    }
    const outputs = [REWARDS_TOPICS.rewardConfirmed, REWARDS_TOPICS.redeemConfirmed, REWARDS_TOPICS.rewardEventsDlq, REWARDS_TOPICS.redeemEventsDlq]
      .map(topic => ({ topic, reader: driver.createOutputTopic(topic, raw, raw) }))
    scenario.steps.forEach((step, i) => {
      if (step.advanceWallMs > 0) driver.advanceWallClockTime(step.advanceWallMs)
      inputs[step.topic].pipeInput(step.key, step.value, step.timestamp, step.headers)
      // One input has at most one output, so reading the topics in a fixed order keeps its order.
      for (const { topic, reader } of outputs) {
        for (const r of reader.readRecordsToList()) {
          const partition = r.key === null ? '-' : String(partitionForKey(r.key, scenario.partitions))
          const hash = digest([topic, ...bytesOf(r.key), ...bytesOf(r.value), String(r.timestamp), ...headerParts(r.headers)])
          lines.push(`${i}\t${topic}\t${partition}\t${keyText(r.key)}\t${detail(r.value, r.headers)}\t${hash}`)
        }
      }
    })
    for (const store of Object.values(REWARDS_STORES)) {
      for (let p = 0; p < scenario.partitions; p++) {
        const entries = inRecordedLayout(store, driver.getKeyValueStore<string, unknown>(store, p).range(undefined, undefined, { limit: 10_000_000 }))
        lines.push(`store\t${store}\t${p}\t${entries.length}\t${digest(entries.flatMap(e => [e.key, JSON.stringify(e.value)]))}`)
      }
    }
  } finally {
    await driver.close()
  }
  return lines
}
