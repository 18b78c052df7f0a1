// Shared by the notifications tests on the real broker: confirmed records with current
// timestamps, reading the notifications DLQ with kafkajs (independently of the product's log
// port), metric values from a prom-client registry, and a bounded wait for a condition.
import { Kafka, logLevel } from 'kafkajs'
import type { Registry } from 'prom-client'
import type { ProducerRecord } from '../../../log/log-port.ts'
import { brokers, unique } from '../../cli/cli-helpers.ts'

const SOURCES = ['HOTEL', 'CASINO', 'DINING'] as const

export function rewardConfirmed (topic: string, eventId: string, i: number, headers?: Record<string, Buffer>): ProducerRecord {
  const memberId = `M-${i % 7}`
  const value = { eventId, memberId, source: SOURCES[i % 3], type: 'EARN', points: 100 + i, tier: 'MEMBER', ruleVersion: '2026-1', balance: { memberId }, occurredAt: new Date().toISOString(), processedAt: new Date().toISOString() }
  return { topic, key: Buffer.from(memberId), value: Buffer.from(JSON.stringify(value)), ...(headers === undefined ? {} : { headers }) }
}

export interface DlqRecord {
  readonly key: string
  readonly value: string
  readonly timestamp: number
  readonly headers: Record<string, string>
}

/** Reads `count` records of `topic` from the beginning with a throwaway kafkajs group. */
export async function readTopic (topic: string, count: number, timeoutMs = 60_000): Promise<DlqRecord[]> {
  const kafka = new Kafka({ brokers, clientId: unique('notify-verify'), logLevel: logLevel.NOTHING })
  const records: DlqRecord[] = []
  const consumer = kafka.consumer({ groupId: unique('notify-dlq-verify'), sessionTimeout: 60_000 })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic}: ${records.length}/${count} records within ${timeoutMs} ms`)), timeoutMs)
      consumer.run({
        eachMessage: async ({ message }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]))
          records.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? '', timestamp: Number(message.timestamp), headers })
          if (records.length >= count) { clearTimeout(timer); resolve() }
        }
      }).catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return records
}

export async function gauge (registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? []
  return values.find(v => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value
}

export async function counter (registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? []
  return values.filter(v => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0)
}

export async function until (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}
