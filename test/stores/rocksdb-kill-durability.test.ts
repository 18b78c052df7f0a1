// An applied batch survives kill -9 of the process that wrote it (no close, no flush): the store
// reopens with it, as restore-from-checkpoint relies on.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { RocksDbStore } from '../../stores/rocksdb-store.ts'
import { tempDir } from './helpers.ts'

for (const syncWrites of [true, false]) {
  t.test(`rocksdb: applied writes survive SIGKILL (syncWrites ${syncWrites})`, async t => {
    const dir = join(tempDir(t), 'balances')
    const script = `
      import { RocksDbStore } from ${JSON.stringify(new URL('../../stores/rocksdb-store.ts', import.meta.url).href)}
      import { CachingChangelogStore } from ${JSON.stringify(new URL('../../stores/caching-changelogging-store.ts', import.meta.url).href)}
      const bytes = new RocksDbStore('balances', { syncWrites: ${syncWrites} })
      await bytes.open(${JSON.stringify(dir)})
      const cache = new CachingChangelogStore(bytes)
      for (let i = 0; i < 1000; i++) cache.put(Buffer.from('m' + i), Buffer.from(String(i)))
      cache.flush()
      await cache.applyFlushed()
      cache.put(Buffer.from('dirty'), Buffer.from('x'))
      process.kill(process.pid, 'SIGKILL')
    `
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
    t.equal(child.signal, 'SIGKILL', child.stderr)
    const store = new RocksDbStore('balances')
    await store.open(dir)
    t.teardown(() => store.close())
    t.equal(store.get(Buffer.from('m999'))?.toString(), '999')
    t.equal(store.range(undefined, undefined, { limit: 5000 }).length, 1000, 'the whole batch, nothing more')
  })
}
