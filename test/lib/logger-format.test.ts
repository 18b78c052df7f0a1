// lib/logger.ts formats: JSON lines off a terminal, pino-pretty's coloured text on one, and
// REWARDS_LOG_FORMAT (format option) overriding what the destination suggests.
import { PassThrough } from 'node:stream'
import t from 'tap'
import { createLogger, resolveLogFormat } from '../../lib/logger.ts'

function capture (isTTY: boolean): { stream: PassThrough & { isTTY?: boolean }, text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean }
  stream.isTTY = isTTY
  let text = ''
  stream.on('data', chunk => { text += chunk })
  return { stream, text: () => text }
}

t.test('auto: JSON lines off a terminal', async t => {
  const { stream, text } = capture(false)
  createLogger({ level: 'info', format: 'auto', destination: stream }).info({ role: 'api' }, 'ready on http://127.0.0.1:8080')
  const line = JSON.parse(text().trim()) as Record<string, unknown>
  t.match(line, { level: 'info', msg: 'ready on http://127.0.0.1:8080', role: 'api' })
})

t.test('auto: coloured text on a terminal', async t => {
  const { stream, text } = capture(true)
  createLogger({ level: 'info', format: 'auto', destination: stream }).warn({ role: 'api' }, 'archive write failed')
  t.throws(() => JSON.parse(text().trim()), 'not JSON')
  t.match(text(), /WARN/)
  t.match(text(), 'archive write failed')
  t.match(text().replaceAll('\u001b[35m', '').replaceAll('\u001b[39m', ''), 'role: "api"', 'context fields follow the message')
  t.match(text(), '\u001b[', 'ANSI colours')
})

t.test('the format setting overrides the destination', async t => {
  t.equal(resolveLogFormat('json', capture(true).stream), 'json')
  t.equal(resolveLogFormat('pretty', capture(false).stream), 'pretty')
  const { stream, text } = capture(false)
  createLogger({ level: 'info', format: 'pretty', destination: stream }).info('hello')
  t.match(text(), /INFO.*hello/)
  t.notMatch(text(), '\u001b[', 'no colours when the destination is not a terminal')
})

t.test('secrets are redacted in both formats', async t => {
  for (const isTTY of [false, true]) {
    const { stream, text } = capture(isTTY)
    createLogger({ level: 'info', format: 'auto', destination: stream }).info({ databaseUrl: 'postgres://u:s3cret@h/d' }, 'x')
    t.notMatch(text(), 's3cret', isTTY ? 'pretty' : 'json')
  }
})
