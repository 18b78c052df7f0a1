// A KTable-KTable join, and a KTable aggregation with a subtractor.
//
// `members` (member id → name and home hotel) and `balances` (member id → points) are tables:
// the latest value per key, a null value deleting the key. Their inner join is a third table,
// kept up to date as either side changes; a deleted member removes the joined row (a tombstone
// downstream). Then the members are grouped by hotel (a new key: through the repartition topic
// `<applicationId>-members-by-hotel-repartition`) and counted: when a member moves to another
// hotel, the old hotel's count goes down as the new one's goes up (the subtractor).
//
//   node examples/table-table-join.ts                                      # embedded log
//   REWARDS_KAFKA_BROKERS=127.0.0.1:9092 node examples/table-table-join.ts # Kafka
import { Serdes, StreamsApplication, StreamsBuilder } from '../topology/index.ts'
import { openExampleLog, type ExampleOptions } from './example-log.ts'

interface Member { readonly name: string, readonly hotel: string }

export interface TableJoinResult {
  /** member id → "name: points" (null: the row was deleted). */
  readonly statements: Map<string, unknown>
  /** hotel → members. */
  readonly perHotel: Map<string, unknown>
}

export async function tableTableJoin (options: ExampleOptions = {}): Promise<TableJoinResult> {
  const ex = await openExampleLog(options)
  const members = ex.name('members')
  const balances = ex.name('balances')
  const statements = ex.name('statements')
  const perHotel = ex.name('members-per-hotel')
  const applicationId = ex.name('table-join')
  await ex.createTopics([members, balances, statements, perHotel], 2)
  ex.alsoDelete(`${applicationId}-members-by-hotel-repartition`, ...['members', 'balances', 'per-hotel'].map(s => `${applicationId}-${s}-changelog`))

  const builder = new StreamsBuilder()
  const memberTable = builder.table<string, Member>(members, {}, { storeName: 'members' })
  const balanceTable = builder.table<string, number>(balances, { valueSerde: Serdes.json<number>() }, { storeName: 'balances' })
  memberTable
    .join(balanceTable, (member, points) => `${member.name}: ${points}`, undefined, 'statement')
    .toStream()
    .to(statements, { valueSerde: Serdes.json<string>() })
  memberTable
    .groupBy((id, member) => ({ key: member.hotel, value: id }), { name: 'members-by-hotel' })
    .count({ storeName: 'per-hotel' })
    .toStream()
    .to(perHotel, { valueSerde: Serdes.json<number>() })
  const app = new StreamsApplication(builder.build(), { log: ex.log, config: { applicationId, stateDir: ex.stateDir } })
  const json = (v: unknown): Buffer | null => v === null ? null : Buffer.from(JSON.stringify(v))
  try {
    await app.start()
    await app.waitForState('RUNNING')
    await ex.produce([
      { topic: members, key: Buffer.from('m1'), value: json({ name: 'Ana', hotel: 'lisbon' }) },
      { topic: members, key: Buffer.from('m2'), value: json({ name: 'Ben', hotel: 'lisbon' }) },
      { topic: members, key: Buffer.from('m3'), value: json({ name: 'Caro', hotel: 'porto' }) },
      { topic: balances, key: Buffer.from('m1'), value: json(120) },
      { topic: balances, key: Buffer.from('m2'), value: json(40) },
      { topic: balances, key: Buffer.from('m3'), value: json(5) }
    ])
    await ex.readLatest(perHotel, 2, m => m.get('lisbon') === 2 && m.get('porto') === 1)
    await ex.readLatest(statements, 2, m => m.get('m3') === 'Caro: 5')
    await ex.produce([
      { topic: balances, key: Buffer.from('m1'), value: json(150) }, // Ana earns points
      { topic: members, key: Buffer.from('m2'), value: json({ name: 'Ben', hotel: 'porto' }) }, // Ben moves
      { topic: members, key: Buffer.from('m3'), value: null }, // Caro leaves the programme
      { topic: balances, key: Buffer.from('m3'), value: json(10) } // no member any more: no statement
    ])
    const perHotelNow = await ex.readLatest(perHotel, 2, m => m.get('lisbon') === 1 && m.get('porto') === 1)
    const statementsNow = await ex.readLatest(statements, 2, m => m.get('m1') === 'Ana: 150' && m.get('m2') === 'Ben: 40' && m.get('m3') === null)
    return { statements: statementsNow, perHotel: perHotelNow }
  } finally {
    await app.close()
    await ex.close()
  }
}

if (import.meta.main) {
  const { statements, perHotel } = await tableTableJoin()
  console.log('statements (member: points):')
  for (const [id, line] of statements) console.log(`  ${id}\t${line === null ? '(deleted)' : String(line)}`)
  console.log('members per hotel:')
  for (const [hotel, n] of perHotel) console.log(`  ${hotel}\t${String(n)}`)
}
