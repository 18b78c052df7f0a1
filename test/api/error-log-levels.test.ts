// Error responses and their log level: a retriable 503 (a store restoring, ownership moving) is an
// expected, retried condition and is logged at info with its code; an internal error is logged at
// error level with the error. Operators page on error logs: a rebalance must not page them.
import t from 'tap'
import Fastify from 'fastify'
import { Writable } from 'node:stream'
import { RewardsError } from '../../lib/errors.ts'
import { installErrorHandling } from '../../api/http-errors.ts'

t.test('a retriable 503 logs at info, an internal error at error', async t => {
  const lines: Array<{ level: number, msg: string, code?: string }> = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as { level: number, msg: string }); done() } })
  const app = Fastify({ logger: { level: 'info', stream } })
  installErrorHandling(app)
  app.get('/restoring', async () => { throw new RewardsError('STORE_NOT_READY', 'task 0_3 is restoring') })
  app.get('/broken', async () => { throw new Error('a bug') })
  t.teardown(() => app.close())

  const restoring = await app.inject({ url: '/restoring' })
  t.equal(restoring.statusCode, 503)
  t.ok(restoring.headers['retry-after'], 'answered with Retry-After')
  const broken = await app.inject({ url: '/broken' })
  t.equal(broken.statusCode, 500)

  const deferred = lines.filter(l => l.msg === 'request deferred: retry later')
  t.equal(deferred.length, 1, 'the 503 is logged once as deferred')
  t.equal(deferred[0]?.level, 30, 'at info')
  t.equal(deferred[0]?.code, 'STORE_NOT_READY', 'with its code')
  const failed = lines.filter(l => l.msg === 'request failed')
  t.equal(failed.length, 1, 'only the internal error is logged as failed')
  t.equal(failed[0]?.level, 50, 'at error')
})
