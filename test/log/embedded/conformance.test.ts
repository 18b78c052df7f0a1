// The generic log port conformance suite, on the embedded backend: a fresh directory per Log.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openEmbeddedLog } from '../../../log/embedded/index.ts'
import { runPortConformance } from '../port-conformance.ts'

const dirs: string[] = []
t.teardown(async () => { for (const dir of dirs) await rm(dir, { recursive: true, force: true }) })

runPortConformance(t, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'embedded-log-conformance-'))
  dirs.push(dir)
  return openEmbeddedLog({ dir })
})
