import t from 'tap'
import { buf, tempLog } from './helpers.ts'

t.test('a newer producer with the same transactionalId fences the older one', async t => {
  const { log } = await tempLog(t)
  await log.admin.createTopics([{ name: 'out', partitions: 1 }])
  const old = await log.createProducer({ clientId: 'old', transactionalId: 'app-0_0' })
  await old.commitTransaction({ records: [{ topic: 'out', key: buf('a'), value: buf('1') }] })
  const other = await log.createProducer({ clientId: 'other', transactionalId: 'app-0_1' })
  const fresh = await log.createProducer({ clientId: 'new', transactionalId: 'app-0_0' })

  await t.rejects(old.commitTransaction({ records: [{ topic: 'out', key: buf('a'), value: buf('zombie') }] }), { code: 'LOG_PRODUCER_FENCED' })
  await t.rejects(old.send([{ topic: 'out', key: buf('a'), value: buf('zombie') }]), { code: 'LOG_PRODUCER_FENCED' }, 'plain sends of a fenced producer too')
  t.same(await log.admin.listOffsets([{ topic: 'out', partition: 0 }], 'latest'), [{ topic: 'out', partition: 0, offset: 1n }], 'nothing of the zombie written')

  await fresh.commitTransaction({ records: [{ topic: 'out', key: buf('a'), value: buf('2') }] })
  await other.commitTransaction({ records: [{ topic: 'out', key: buf('b'), value: buf('1') }] })
  t.same(await log.admin.listOffsets([{ topic: 'out', partition: 0 }], 'latest'), [{ topic: 'out', partition: 0, offset: 3n }], 'other ids are not fenced')
  await old.close()
  await t.rejects(old.commitTransaction({ records: [] }), { code: 'LOG_CLOSED' })
})
