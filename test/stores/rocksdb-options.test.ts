// The options a store opens RocksDB with, as RocksDB itself records them (its OPTIONS file).
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { RocksDbStore } from '../../stores/rocksdb-store.ts'
import { tempDir } from './helpers.ts'

function optionsFile (dir: string): string {
  const name = readdirSync(dir).filter(n => n.startsWith('OPTIONS-')).sort().at(-1)
  if (name === undefined) throw new Error(`no OPTIONS file in ${dir}`)
  return readFileSync(join(dir, name), 'utf8')
}

t.test('rocksdb: ZSTD below L1 without a dictionary', async t => {
  const dir = join(tempDir(t), '0_0', 'balances')
  const store = new RocksDbStore('balances')
  await store.open(dir)
  await store.close()
  const options = optionsFile(dir)
  t.match(options, /compression_per_level=kNoCompression:kNoCompression:kZSTD/, 'L0 and L1 plain, ZSTD below')
  // A dictionary makes every compaction into a ZSTD level buffer its output for the training
  // (docs/benchmarks.md "Memory at 500k, fourth pass (branch memory5)").
  t.match(options, /\bcompression_opts=\{[^}]*\bmax_dict_bytes=0;/, 'no dictionary')
  t.match(options, /\bcompression_opts=\{[^}]*\bzstd_max_train_bytes=0;/, 'no training samples')
  t.match(options, /\bwal_compression=kNoCompression\b/, 'WAL uncompressed')
})
