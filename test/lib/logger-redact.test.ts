// lib/logger.ts: the redact list is the second line of defence behind safeConfigSummary(): fields
// that carry credentials (Kafka SASL, URLs with passwords, client secrets) are logged as ***.
import { PassThrough } from 'node:stream'
import t from 'tap'
import { createLogger } from '../../lib/logger.ts'

t.test('credential fields are censored wherever they sit', async t => {
  const out = new PassThrough()
  let text = ''
  out.on('data', chunk => { text += chunk })
  const logger = createLogger({ level: 'info', destination: out })
  logger.info({
    kafkaSaslPassword: 'pw-top',
    config: { kafkaSaslUsername: 'user-nested', databaseUrl: 'postgres://a:db-pw@h/d' },
    security: { sasl: { mechanism: 'SCRAM-SHA-512', password: 'pw-nested' } },
    clientSecret: 'cs-top'
  }, 'configured')
  const line = JSON.parse(text) as Record<string, unknown>
  for (const secret of ['pw-top', 'user-nested', 'db-pw', 'pw-nested', 'cs-top']) t.notMatch(text, secret, `${secret} is not logged`)
  t.match(line, { kafkaSaslPassword: '***', config: { kafkaSaslUsername: '***' }, security: { sasl: { mechanism: 'SCRAM-SHA-512', password: '***' } } }, 'the fields stay, censored; the rest is kept')
})
