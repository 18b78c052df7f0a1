// `rewards --help` and every subcommand's --help exit 0 and describe the command; an unknown
// command and a bad option value exit non-zero with a message.
import t from 'tap'
import { runCli } from './cli-helpers.ts'

const COMMANDS: Array<{ args: string[], mentions: string[] }> = [
  { args: [], mentions: ['start', 'topics', 'topology', 'lag', 'store', 'config'] },
  { args: ['start'], mentions: ['--role', '--create-topics', '--kafka-brokers', 'REWARDS_KAFKA_BROKERS', 'processor', 'archiver'] },
  { args: ['topics'], mentions: ['create'] },
  { args: ['topics', 'create'], mentions: ['--partitions', 'REWARDS_PARTITIONS', '--topic-prefix'] },
  { args: ['topology'], mentions: ['--format', 'mermaid'] },
  { args: ['lag'], mentions: ['--group', '--json'] },
  { args: ['store'], mentions: ['get', 'scan'] },
  { args: ['store', 'get'], mentions: ['<store>', '<key>', '--data-dir'] },
  { args: ['store', 'scan'], mentions: ['--prefix', '--limit'] },
  { args: ['config'], mentions: ['--json', 'REWARDS_DATABASE_URL'] },
  { args: ['report'], mentions: ['points-issued', 'points-redeemed', 'top-members', 'dlq-codes', '--from', '--to', '--source', '--property', '--limit', '--format', 'REWARDS_DATABASE_URL'] }
]

for (const { args, mentions } of COMMANDS) {
  t.test(`rewards ${[...args, '--help'].join(' ')}`, async t => {
    const result = await runCli([...args, '--help'])
    t.equal(result.code, 0, 'exit 0')
    t.match(result.stdout, /Usage: rewards/)
    for (const word of mentions) t.match(result.stdout, word, `mentions ${word}`)
  })
}

t.test('an unknown command exits non-zero with a message', async t => {
  const result = await runCli(['no-such-command'])
  t.not(result.code, 0)
  t.match(result.stderr, /unknown command/)
})

t.test('a bad configuration value exits 2 naming the variable', async t => {
  const result = await runCli(['config'], { env: { ...process.env, REWARDS_PROCESSING_GUARANTEE: 'maybe' } as Record<string, string> })
  t.equal(result.code, 2)
  t.match(result.stderr, /REWARDS_PROCESSING_GUARANTEE="maybe" is invalid: expected exactly_once_v2 or at_least_once/)
})

t.test('a bad --role exits non-zero and lists the roles', async t => {
  const result = await runCli(['start', '--role', 'cook', '--data-dir', '/nonexistent-never-created'])
  t.equal(result.code, 1)
  t.match(result.stderr, /--role "cook": expected all, or one or more of processor, api, archiver, auth/)
})

t.test('rewards config masks secrets and shows sources', async t => {
  const result = await runCli(['config', '--json', '--database-url', 'postgres://app:s3cret@db:5432/r'])
  t.equal(result.code, 0)
  t.notMatch(result.stdout, 's3cret')
  const parsed = JSON.parse(result.stdout) as Record<string, { value: string, source: string }>
  t.same(parsed.REWARDS_DATABASE_URL, { value: 'postgres://app:***@db:5432/r', source: 'flag' })
  t.same(parsed.REWARDS_HTTP_PORT, { value: '8080', source: 'default' })
})

t.test('rewards topology prints text, mermaid and JSON', async t => {
  const text = await runCli(['topology'])
  t.equal(text.code, 0)
  t.match(text.stdout, /Sub-topology: 0/)
  t.match(text.stdout, /reward-events/)
  const mermaid = await runCli(['topology', '--format', 'mermaid', '--topic-prefix', 'x.'])
  t.equal(mermaid.code, 0)
  t.match(mermaid.stdout, /x\.reward-events/)
  t.match(mermaid.stdout, /flowchart|graph/)
  const json = await runCli(['topology', '--format', 'json'])
  t.equal(json.code, 0)
  t.same((JSON.parse(json.stdout) as { stores: Array<{ name: string }> }).stores.map(s => s.name).sort(), ['activity', 'balances', 'dedupe-expiry', 'event-dedupe', 'points-per-property-day', 'points-per-property-hour', 'redemption-dedupe', 'redemption-index'])
})
