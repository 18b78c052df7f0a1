// cli/graceful-stop.ts in a real process (close-with-grace ends the process, so each case is a
// child): a signal that arrives before the platform took over is replayed to it; the same signal
// repeated at once (npm forwarding what the terminal already sent) is one request; another signal
// during the stop forces exit 1; a failed stop exits 1.
import { spawn } from 'node:child_process'
import t from 'tap'
import { NODE } from './cli-helpers.ts'

const MODULE = new URL('../../cli/graceful-stop.ts', import.meta.url).href

/** Runs `body` in a child with `stop` (gracefulStop) and `say` in scope; resolves its exit. */
function child (body: string): Promise<{ code: number | null, output: string }> {
  const script = `import { gracefulStop } from ${JSON.stringify(MODULE)}
const say = line => process.stdout.write(line + '\\n')
const stop = gracefulStop({ timeoutMs: 5000, say })
let finish
stop.outcome(new Promise(resolve => { finish = resolve }))
setInterval(() => {}, 1000) // keeps the process alive as a server would
${body}`
  return new Promise((resolve, reject) => {
    const proc = spawn(NODE, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    proc.stdout.on('data', chunk => { output += chunk })
    proc.stderr.on('data', chunk => { output += chunk })
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`no exit within 20 s: ${output}`)) }, 20_000)
    proc.on('close', code => { clearTimeout(timer); resolve({ code, output }) })
  })
}

t.test('a signal before the platform took over is replayed to it: graceful, exit 0', async t => {
  const { code, output } = await child(`process.kill(process.pid, 'SIGTERM')
setTimeout(() => stop.handle(signal => { say('stopping on ' + signal); setTimeout(() => { say('stopped'); finish(0) }, 100) }), 300)`)
  t.equal(code, 0, output)
  t.match(output, /stopping on SIGTERM\nstopped/)
})

t.test('SIGHUP is a stop signal too', async t => {
  const { code, output } = await child(`stop.handle(signal => { say('stopping on ' + signal); finish(0) })
process.kill(process.pid, 'SIGHUP')`)
  t.equal(code, 0, output)
  t.match(output, 'stopping on SIGHUP')
})

t.test('the same signal twice at once is one request', async t => {
  const { code, output } = await child(`stop.handle(signal => { say('stopping on ' + signal); setTimeout(() => { say('stopped'); finish(0) }, 300) })
process.kill(process.pid, 'SIGINT')
setTimeout(() => process.kill(process.pid, 'SIGINT'), 50)`)
  t.equal(code, 0, output)
  t.equal(output.match(/stopping on/g)?.length, 1, 'one stop')
  t.notMatch(output, /second/)
  t.match(output, 'stopped')
})

t.test('another signal during the stop exits 1 at once', async t => {
  const { code, output } = await child(`stop.handle(signal => { say('stopping on ' + signal) })
process.kill(process.pid, 'SIGTERM')
setTimeout(() => process.kill(process.pid, 'SIGINT'), 100)`)
  t.equal(code, 1, output)
  t.match(output, 'second SIGINT: exiting without finishing the shutdown')
})

t.test('the same signal again after the window forces too', async t => {
  const { code, output } = await child(`stop.handle(signal => { say('stopping on ' + signal) })
process.kill(process.pid, 'SIGTERM')
setTimeout(() => process.kill(process.pid, 'SIGTERM'), 1500)`)
  t.equal(code, 1, output)
  t.match(output, 'second SIGTERM: exiting without finishing the shutdown')
})

t.test('a stop that fails exits 1; one that never ends is cut at the timeout', async t => {
  const failed = await child(`stop.handle(() => finish(1))
process.kill(process.pid, 'SIGTERM')`)
  t.equal(failed.code, 1, failed.output)
  const stuck = await child(`stop.handle(() => {})
process.kill(process.pid, 'SIGTERM')`)
  t.equal(stuck.code, 1, stuck.output)
  t.match(stuck.output, 'shutdown did not finish within 5000 ms; exiting')
})
