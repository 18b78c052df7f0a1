import t from 'tap'
import { openEmbeddedLog } from '../../../log/embedded/index.ts'
import { tempDir } from './helpers.ts'

t.test('a second open of the same directory fails with a clear error naming it; it opens again once closed', async t => {
  const dir = await tempDir(t)
  const log = await openEmbeddedLog({ dir })
  const error = await openEmbeddedLog({ dir }).then(() => null, (e: unknown) => e as { code?: string, message: string })
  t.equal(error?.code, 'STATE_DIR_LOCKED')
  t.ok(error?.message.includes(dir), `the message names the directory: ${error?.message}`)
  t.match(error?.message, /already open/)
  await log.close()
  const again = await openEmbeddedLog({ dir })
  await again.close()
})

t.test('another process cannot open a directory this one holds', async t => {
  const { execFile } = await import('node:child_process')
  const { join } = await import('node:path')
  const dir = await tempDir(t)
  const log = await openEmbeddedLog({ dir })
  t.teardown(() => log.close())
  const root = join(import.meta.dirname, '..', '..', '..')
  const script = `import { openEmbeddedLog } from ${JSON.stringify(join(root, 'log', 'embedded', 'index.ts'))}
try { await openEmbeddedLog({ dir: ${JSON.stringify(dir)} }); console.log('opened') } catch (e) { console.log(e.code) }`
  const output = await new Promise<string>((resolve, reject) => {
    execFile(join(root, 'node_modules', '.bin', 'node'), ['--input-type=module', '-e', script], (error, stdout) => { if (error) reject(error); else resolve(stdout.trim()) })
  })
  t.equal(output, 'STATE_DIR_LOCKED')
})
