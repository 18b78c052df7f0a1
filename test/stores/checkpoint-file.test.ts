// .checkpoint: atomic write and read, missing file reads as empty, offsets never go down unless
// the file was deleted.
import t from 'tap'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CheckpointFile, checkpointKey } from '../../stores/checkpoint-file.ts'
import { tempDir } from './helpers.ts'

const tp = (partition: number, offset: bigint): { topic: string, partition: number, offset: bigint } => ({ topic: 'rewards-balances-changelog', partition, offset })

t.test('checkpoint write, read, invariant, delete', async t => {
  const dir = tempDir(t)
  const file = new CheckpointFile(dir)
  t.equal(file.path, join(dir, '.checkpoint'))
  t.same(file.read(), [], 'missing file: no offsets')

  file.write([tp(3, 10n), { topic: 'rewards-dedupe-changelog', partition: 3, offset: 2n ** 40n }])
  t.same(JSON.parse(readFileSync(file.path, 'utf8')), {
    'rewards-balances-changelog:3': '10',
    'rewards-dedupe-changelog:3': String(2n ** 40n)
  }, 'JSON with string offsets')
  t.same(readdirSync(dir), ['.checkpoint'], 'no temp file left behind')

  const reader = new CheckpointFile(join(dir, '.checkpoint'))
  t.same(reader.read(), [tp(3, 10n), { topic: 'rewards-dedupe-changelog', partition: 3, offset: 2n ** 40n }])
  t.equal(reader.readMap().get(checkpointKey(tp(3, 0n))), 10n)

  file.write([tp(3, 10n)])
  file.write([tp(3, 25n)])
  t.throws(() => file.write([tp(3, 24n)]), /invariant/, 'an offset going down is refused')
  t.same(file.read(), [tp(3, 25n)], 'and nothing was written')
  t.throws(() => reader.write([tp(3, 5n)]), /invariant/, 'a reader knows the offsets it read')

  file.delete()
  t.notOk(existsSync(file.path))
  t.same(file.read(), [])
  file.write([tp(3, 1n)])
  t.same(file.read(), [tp(3, 1n)], 'after a delete, offsets may start lower')
  file.delete()
  file.delete()
  t.pass('deleting a missing file is fine')

  writeFileSync(file.path, '{"x:1": 5}')
  t.throws(() => new CheckpointFile(dir).read(), /not a non-negative integer string/, 'corrupt file throws')
})
