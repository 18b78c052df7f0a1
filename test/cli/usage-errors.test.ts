// A user's mistakes on the command line (docs/cli.md "Exit status"): each answer says what is
// wrong and what to do, through the CLI as a user runs it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { StateDirectory } from '../../stores/state-directory.ts'
import { cleanEnv, runCli } from './cli-helpers.ts'

t.test('store get on a locked state directory names the holder: pid, host, since when', async t => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rewards-usage-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  // This test process stands for the running instance: it holds the application's lock.
  const held = new StateDirectory(join(dataDir, 'state'), 'rewards')
  held.lock()
  t.teardown(() => held.unlock())
  const result = await runCli(['store', 'get', 'balances', 'M-1', '--data-dir', dataDir], { env: cleanEnv() })
  t.equal(result.code, 1)
  t.match(result.stderr, /\[STATE_DIR_LOCKED\] .*in use by a running instance/)
  t.match(result.stderr, new RegExp(`pid ${process.pid} on host \\S+.*, since \\d{4}-\\d\\d-\\d\\dT`), 'the holder as the lock file names it')
  t.notMatch(result.stderr, /pid \?/)
})
