// A restore's fetch copies a partition's records that span the socket's chunks into an arena of
// the reader, reused once the answer is released (log/kafka/kafka-partition-reader.ts
// releaseEntries, log/kafka/fetch-response.ts FetchArena): the next fetch's entries are exact in
// the reused bytes, an answer not released keeps its own, and a fetch that copies little lets
// the reader's arenas go.
import t from 'tap'
import type { PartitionEntries } from '../../../log/log-port.ts'
import { FetchArena } from '../../../log/kafka/fetch-response.ts'
import { kafkaLog, settledEnds, unique } from './kafka-test-helpers.ts'

const PARTITIONS = 3
const RECORDS = 1500
const value = (partition: number, i: number): string => `${partition}:${i}:`.padEnd(1000, String.fromCharCode(97 + ((partition + i) % 26)))

t.test('entries are exact in an arena reused after release, and untouched while not released', async t => {
  const changelog = unique('arena-changelog')
  const log = await kafkaLog(t, [{ name: changelog, partitions: PARTITIONS }])
  const producer = await log.createProducer({ clientId: 'arena' })
  t.teardown(() => producer.close())
  for (let partition = 0; partition < PARTITIONS; partition++) {
    for (let from = 0; from < RECORDS; from += 250) {
      await producer.send(Array.from({ length: 250 }, (_, j) => ({ topic: changelog, partition, key: Buffer.from(`k${from + j}`), value: Buffer.from(value(partition, from + j)) })))
    }
  }
  await settledEnds(log, Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: changelog, partition, atLeast: BigInt(RECORDS) })))
  const reader = log.createPartitionReader({ clientId: 'arena-restore' })
  t.teardown(() => reader.close())
  // Each answer of pollEntries() (the array a release names) by the fetch that returned it.
  const answers = new Map<PartitionEntries[], PartitionEntries[][]>()
  const readAll = async (): Promise<PartitionEntries[]> => {
    reader.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: changelog, partition, offset: 0n })))
    const runs: PartitionEntries[] = []
    const returned: PartitionEntries[][] = []
    for (let i = 0; i < 100 && runs.length < PARTITIONS; i++) {
      const answer = await reader.pollEntries!(500)
      returned.push(answer)
      runs.push(...answer)
    }
    answers.set(runs, returned)
    return runs
  }
  const release = (runs: PartitionEntries[]): void => { for (const answer of answers.get(runs)!) reader.releaseEntries!(answer) }
  const check = (runs: PartitionEntries[], what: string): void => {
    t.equal(runs.length, PARTITIONS, `${what}: every partition in one fetch`)
    for (const run of runs) {
      const entries = run.entries
      t.equal(entries.length, RECORDS, `${what}: partition ${run.partition} whole`)
      t.ok(entries.every((e, i) => e.key.toString() === `k${i}` && e.value!.toString() === value(run.partition, i)), `${what}: partition ${run.partition} exact`)
    }
  }
  const first = await readAll()
  check(first, 'first fetch')
  // ~1.5 MB a partition: more than a socket chunk, so copied into the fetch's arena.
  const arenaOf = (runs: PartitionEntries[]): ArrayBufferLike[] => runs.map(r => r.columnBuffer!.buffer).filter(b => b.byteLength === FetchArena.CAPACITY)
  t.ok(arenaOf(first).length > 0, 'copied into an arena')
  const firstArena = arenaOf(first)[0]!

  // Not released: the next fetch gets its own arena, and the first answer stays as it was.
  const second = await readAll()
  check(second, 'second fetch, first not released')
  t.ok(arenaOf(second).every(b => b !== firstArena), 'another arena')
  check(first, 'first answer after the second fetch')

  // Released: the next fetch reuses its bytes, and its entries are exact in them.
  release(first)
  release(second)
  const third = await readAll()
  t.ok(arenaOf(third).some(b => b === firstArena || arenaOf(second).includes(b)), 'a released arena reused')
  check(third, 'third fetch, in a reused arena')
  release(third)
  release(third) // twice: nothing more

  // A fetch that copies little (a few records): the reader keeps no arena.
  reader.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: changelog, partition, offset: BigInt(RECORDS - 2) })))
  const small: PartitionEntries[] = []
  for (let i = 0; i < 100 && small.length < PARTITIONS; i++) {
    const runs = await reader.pollEntries!(500)
    small.push(...runs)
    reader.releaseEntries!(runs)
  }
  t.same(small.map(r => r.entries.length), Array(PARTITIONS).fill(2), 'the tails')
  const after = await readAll()
  check(after, 'after a small fetch')
  t.ok(arenaOf(after).every(b => b !== firstArena && !arenaOf(third).includes(b)), 'arenas dropped after a fetch that copied little: a new one')
})
