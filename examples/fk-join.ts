// A foreign-key KTable-KTable join (docs/engine.md "Foreign-key table joins").
//
// `members` (member id → name and home hotel id) and `hotels` (hotel id → hotel name) are tables
// keyed differently, with different partition counts: a member row names its hotel by a foreign
// key. leftJoinOnForeignKey joins each member with the row of its hotel, through the internal
// topics `<applicationId>-member-hotel-subscription-registration-topic` (member → hotel's task)
// and `…-subscription-response-topic` (back to the member's task). A renamed hotel reaches every
// member of it, a member who moves sees the new hotel, a deleted member's row goes (tombstone),
// and a member of a closed hotel stays, without hotel (left join).
//
//   node examples/fk-join.ts                                      # embedded log
//   REWARDS_KAFKA_BROKERS=127.0.0.1:9092 node examples/fk-join.ts # Kafka
import { Serdes, StreamsApplication, StreamsBuilder } from '../topology/index.ts'
import { openExampleLog, type ExampleOptions } from './example-log.ts'

interface Member { readonly name: string, readonly hotel: string }

/** member id → "name @ hotel name" (null: the member was deleted). */
export type MemberHotels = Map<string, unknown>

export async function fkJoin (options: ExampleOptions = {}): Promise<MemberHotels> {
  const ex = await openExampleLog(options)
  const members = ex.name('members')
  const hotels = ex.name('hotels')
  const memberHotels = ex.name('member-hotels')
  const applicationId = ex.name('fk-join')
  await ex.createTopics([members, memberHotels], 3)
  await ex.createTopics([hotels], 2) // not co-partitioned with members: the join does not need it
  ex.alsoDelete(
    ...['registration', 'response'].map(s => `${applicationId}-member-hotel-subscription-${s}-topic`),
    ...['members', 'hotels', 'member-hotel-subscription-store', 'member-hotel-output-store'].map(s => `${applicationId}-${s}-changelog`))

  const builder = new StreamsBuilder()
  const memberTable = builder.table<string, Member>(members, {}, { storeName: 'members' })
  const hotelTable = builder.table<string, string>(hotels, { valueSerde: Serdes.string() }, { storeName: 'hotels' })
  memberTable
    .leftJoinOnForeignKey(hotelTable, member => member.hotel, (member, hotel) => `${member.name} @ ${hotel ?? '-'}`, { name: 'member-hotel' })
    .toStream()
    .to(memberHotels, { valueSerde: Serdes.json<string>() })
  const app = new StreamsApplication(builder.build(), { log: ex.log, config: { applicationId, stateDir: ex.stateDir } })
  const json = (v: unknown): Buffer | null => v === null ? null : Buffer.from(JSON.stringify(v))
  const hotel = (id: string, name: string | null): { topic: string, key: Buffer, value: Buffer | null } => ({ topic: hotels, key: Buffer.from(id), value: name === null ? null : Buffer.from(name) })
  try {
    await app.start()
    await app.waitForState('RUNNING')
    await ex.produce([
      hotel('h1', 'Lisboa Plaza'),
      hotel('h2', 'Porto Riverside'),
      { topic: members, key: Buffer.from('m1'), value: json({ name: 'Ana', hotel: 'h1' }) },
      { topic: members, key: Buffer.from('m2'), value: json({ name: 'Ben', hotel: 'h1' }) },
      { topic: members, key: Buffer.from('m3'), value: json({ name: 'Caro', hotel: 'h2' }) },
      { topic: members, key: Buffer.from('m4'), value: json({ name: 'Dan', hotel: 'h3' }) } // no such hotel yet
    ])
    await ex.readLatest(memberHotels, 3, m => m.get('m2') === 'Ben @ Lisboa Plaza' && m.get('m3') === 'Caro @ Porto Riverside' && m.get('m4') === 'Dan @ -')
    await ex.produce([
      hotel('h1', 'Lisboa Grand'), // renamed: Ana and Ben see it
      { topic: members, key: Buffer.from('m2'), value: json({ name: 'Ben', hotel: 'h2' }) }, // Ben moves
      { topic: members, key: Buffer.from('m3'), value: null }, // Caro leaves the programme
      hotel('h3', 'Faro Beach'), // Dan's hotel opens
      hotel('h2', null) // Porto closes: Ben stays, without hotel
    ])
    return await ex.readLatest(memberHotels, 3, m => m.get('m1') === 'Ana @ Lisboa Grand' && m.get('m2') === 'Ben @ -' && m.get('m3') === null && m.get('m4') === 'Dan @ Faro Beach')
  } finally {
    await app.close()
    await ex.close()
  }
}

if (import.meta.main) {
  const rows = await fkJoin()
  console.log('members and their hotels:')
  for (const [id, line] of rows) console.log(`  ${id}\t${line === null ? '(deleted)' : String(line)}`)
}
