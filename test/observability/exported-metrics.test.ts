// What a running platform exports in /metrics against what is written about it:
//   1. docs/metrics.md lists every exported metric (with its type and labels), and every metric it
//      lists for the started roles is exported;
//   2. every metric and label that the Grafana dashboard's queries use is exported;
//   3. the Prometheus alert rules are well-formed (valid PromQL, `for`, severity, summary,
//      description) and every metric and label they use is exported.
// One platform run (platform-scrape.ts) on the real Kafka broker, PostgreSQL and Redis serves all
// three. To cover a new role: add it to ROLES, configure it through scrapeDrivenPlatform's `env`
// and drive what creates its series in drive().
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { parse as parseYaml } from 'yaml'
import { ROOT } from '../cli/cli-helpers.ts'
import { waitFor } from '../archive/archive-helpers.ts'
import { grafanaToPromQL, parsePromQL } from './promql-names.ts'
import { WebhookReceiver } from '../processors/notifications/webhook-receiver.ts'
import { sampleSum, scrapeDrivenPlatform, type RunningPlatform } from './platform-scrape.ts'

/** The roles started for the check. Rows of docs/metrics.md for other roles are not required. */
const ROLES = ['processor', 'api', 'archiver', 'auth', 'notifications']

const DOC = join(ROOT, 'docs/metrics.md')
const DASHBOARD = join(ROOT, 'infra/observability/grafana/rewards-dashboard.json')
const ALERTS = join(ROOT, 'infra/observability/prometheus/rewards-alerts.yml')
const PROMETHEUS_EXAMPLE = join(ROOT, 'infra/observability/prometheus/prometheus.example.yml')
/** Series Prometheus makes itself for each target (not exported by the platform). */
const PROMETHEUS_SERIES = new Set(['up'])
/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = new Set(['instance', 'job'])

interface DocRow { name: string, type: string, labels: string[], roles: string[] }

function docRows (markdown: string): DocRow[] {
  const rows: DocRow[] = []
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').slice(1, -1).map(c => c.trim())
    const name = /^`([a-zA-Z_:][a-zA-Z0-9_:]*\*?)`$/.exec(cells[0] ?? '')?.[1]
    if (name === undefined || cells.length !== 6) continue
    rows.push({
      name,
      type: cells[1]!,
      labels: [...cells[2]!.matchAll(/`([a-zA-Z_][a-zA-Z0-9_]*)`/g)].map(m => m[1]!),
      roles: cells[4]!.split(',').map(r => r.trim()).filter(Boolean)
    })
  }
  return rows
}

const now = (): string => new Date(Date.now() - 1000).toISOString()

async function call (p: RunningPlatform, method: string, path: string, body?: unknown, token: string | null = p.token): Promise<Response> {
  return await fetch(`${p.base}${path}`, {
    method,
    headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })
}

/** Events, a redemption, a duplicate, a dead letter, reads (cache miss and hit), a 401, a 404. */
async function drive (p: RunningPlatform): Promise<void> {
  const events = [
    { eventId: `${p.memberId}-stay`, memberId: p.memberId, source: 'HOTEL', type: 'EARN', amountCents: 48_900, currency: 'USD', occurredAt: now(), propertyId: 'LV-STRIP-01' },
    { eventId: `${p.memberId}-dinner`, memberId: p.memberId, source: 'DINING', type: 'EARN', amountCents: 12_000, currency: 'USD', occurredAt: now(), propertyId: 'LV-STRIP-01' }
  ]
  const posted = await call(p, 'POST', '/v1/events', events)
  if (posted.status !== 202) throw new Error(`POST /v1/events: ${posted.status} ${await posted.text()}`)
  // The same events again: the processor ignores them as duplicates.
  const again = await call(p, 'POST', '/v1/events', events)
  if (again.status !== 202) throw new Error(`POST /v1/events again: ${again.status} ${await again.text()}`)
  const redemption = await call(p, 'POST', '/v1/redemptions', { redemptionId: `${p.memberId}-r1`, memberId: p.memberId, points: 100, rewardCode: 'ROOM-NIGHT', channel: 'ONLINE', requestedAt: now() })
  if (redemption.status !== 200 && redemption.status !== 202) throw new Error(`POST /v1/redemptions: ${redemption.status} ${await redemption.text()}`)
  // A malformed record straight to the topic: a dead letter (the API refuses such input itself).
  const producer = await p.log.createProducer({ clientId: `${p.memberId}-producer` })
  await producer.send([{ topic: p.topics.rewardEvents, key: Buffer.from(p.memberId), value: Buffer.from('{not json') }])
  await producer.close()
  // Two reads in a row until the second is a hot-balance cache hit (entries live 1 s).
  await waitFor('a balance read served from the cache', async () => {
    const first = await call(p, 'GET', `/v1/members/${p.memberId}/balance`)
    await first.arrayBuffer()
    if (first.status !== 200) return false
    const second = await call(p, 'GET', `/v1/members/${p.memberId}/balance`)
    await second.arrayBuffer()
    return second.headers.get('x-cache') === 'hit'
  }, 120_000, 250)
  await (await call(p, 'GET', `/v1/members/${p.memberId}/activity?limit=10`)).arrayBuffer()
  const anonymous = await call(p, 'GET', `/v1/members/${p.memberId}/balance`, undefined, null)
  if (anonymous.status !== 401) throw new Error(`no token: ${anonymous.status}`)
  await (await call(p, 'GET', '/no/such/route')).arrayBuffer()
}

/** Two partner webhooks on a real local receiver: `partner` answers 200 (deliveries), `failing`
 *  always 500, with two attempts, a breaker that opens after two failures and a short budget, so
 *  its records reach the notifications DLQ within seconds. Returns the platform's environment. */
function notificationsEnv (receiver: WebhookReceiver, dataDir: string): Record<string, string> {
  const secrets = { METRICS_PARTNER_SECRET: randomBytes(32).toString('hex'), METRICS_FAILING_SECRET: randomBytes(32).toString('hex') }
  const kinds = ['reward-confirmed', 'redeem-confirmed']
  const file = join(dataDir, 'notifications.json')
  writeFileSync(file, JSON.stringify({
    endpoints: [
      { id: 'partner', url: receiver.endpoint('/partner', secrets.METRICS_PARTNER_SECRET, 'ok'), secretEnv: 'METRICS_PARTNER_SECRET', kinds },
      {
        id: 'failing',
        url: receiver.endpoint('/failing', secrets.METRICS_FAILING_SECRET, 'fail'),
        secretEnv: 'METRICS_FAILING_SECRET',
        kinds,
        maxAttempts: 2,
        backoffInitialMs: 10,
        backoffMaxMs: 50,
        breakerFailureThreshold: 2,
        breakerOpenMs: 500,
        timeoutMs: 1000,
        maxDeliveryMs: 3000
      }
    ]
  }))
  return { REWARDS_NOTIFICATIONS_FILE: file, ...secrets }
}

t.test('a running platform exports what docs/metrics.md, the dashboard and the alert rules say', async t => {
  const receiver = new WebhookReceiver()
  await receiver.start()
  t.teardown(() => receiver.close())
  let topics: RunningPlatform['topics'] | undefined
  const scrape = await scrapeDrivenPlatform(t, ROLES, async p => { topics = p.topics; await drive(p) }, text =>
    sampleSum(text, 'rewards_notifications_deliveries_total', { endpoint: 'partner', result: 'delivered' }) >= 1 &&
    sampleSum(text, 'rewards_notifications_deliveries_total', { endpoint: 'failing', result: 'dead_lettered' }) >= 1 &&
    sampleSum(text, 'rewards_notifications_dlq_records_total', { endpoint: 'failing' }) >= 1 &&
    sampleSum(text, 'rewards_dlq_records_total', { topic: topics!.rewardEventsDlq, code: 'MALFORMED_JSON' }) >= 1 &&
    sampleSum(text, 'rewards_duplicate_records_total', { topic: topics!.rewardEvents }) >= 2 &&
    sampleSum(text, 'rewards_archive_rows_total', { topic: topics!.rewardEventsDlq }) >= 1 &&
    sampleSum(text, 'rewards_archive_rows_total', { topic: topics!.redeemConfirmed }) >= 1 &&
    sampleSum(text, 'rewards_api_cache_requests_total', { result: 'hit' }) >= 1 &&
    /^streams_consumer_lag_records\{/m.test(text) &&
    /^rewards_archive_lag_records\{/m.test(text) &&
    /^streams_store_entries\{/m.test(text), { env: dataDir => notificationsEnv(receiver, dataDir) })

  t.test('notifications reached the real receiver, signed, and the failing endpoint\'s went to the DLQ', async t => {
    const partner = receiver.at('/partner')
    const failing = receiver.at('/failing')
    t.ok(partner.some(r => r.answered === 200), `the partner answered 200 (${partner.length} requests)`)
    t.ok(failing.length >= 2 && failing.every(r => r.answered === 500), `the failing endpoint answered 500 to every call (${failing.length})`)
    t.same([...partner, ...failing].filter(r => !r.signatureValid).map(r => r.path), [], 'every request carries a valid signature')
    t.ok(sampleSum(scrape.text, 'rewards_notifications_attempt_duration_seconds_count', { endpoint: 'failing', outcome: 'http_error' }) >= 2, 'the failed calls are timed with outcome http_error')
    t.same(Object.keys(Object.fromEntries([...scrape.text.matchAll(/^rewards_notifications_circuit_state\{endpoint="([^"]+)"\}/gm)].map(m => [m[1], true]))).sort(), ['failing', 'partner'], 'a circuit state per endpoint')
  })

  t.test('each task\'s restore is timed and logged (the AWS RestoreTime alarm reads the log line)', async t => {
    const logged = scrape.logLines.filter(l => l.event === 'restore.completed')
    // 3 partitions: the member tasks (0_*) and the points-window tasks (1_*).
    t.same(logged.map(l => l.task).sort(), ['0_0', '0_1', '0_2', '1_0', '1_1', '1_2'], 'one restore.completed line per task')
    t.ok(logged.every(l => Number.isInteger(l.durationMs) && (l.durationMs as number) >= 0), 'with durationMs')
    t.equal(sampleSum(scrape.text, 'streams_task_restore_duration_seconds_count'), 6, 'streams_task_restore_duration_seconds counts the six')
    const progress = scrape.logLines.filter(l => l.event === 'restore.progress')
    // restore.progress lines only when there was something to restore (then a last one says done).
    if (logged.every(l => l.records === 0)) t.same(progress, [], 'nothing restored: no restore.progress lines')
    else t.ok(progress.some(l => l.done === true && l.tasks === 0 && l.remaining === 0), `a last restore.progress line says done (${JSON.stringify(progress.at(-1))})`)
  })

  t.test('docs/metrics.md lists every exported metric, and only exported ones', async t => {
    const rows = docRows(readFileSync(DOC, 'utf8'))
    t.ok(rows.length >= 20, `the table parses (${rows.length} rows)`)
    const exact = new Map(rows.filter(r => !r.name.endsWith('*')).map(r => [r.name, r]))
    const families = rows.filter(r => r.name.endsWith('*')).map(r => r.name.slice(0, -1))
    t.same(families.sort(), ['nodejs_', 'process_'], 'wildcard rows only for the default process metrics')
    t.equal(exact.size, rows.length - families.length, 'no metric listed twice')

    const undocumented = [...scrape.families.keys()].filter(name => !exact.has(name) && !families.some(f => name.startsWith(f)))
    t.same(undocumented, [], 'every exported metric is in docs/metrics.md')
    const started = new Set(ROLES)
    const expected = [...exact.values()].filter(r => r.roles.includes('every') || r.roles.some(role => started.has(role)))
    t.same(expected.filter(r => !scrape.families.has(r.name)).map(r => `${r.name} (${r.roles.join(', ')})`), [], `every documented metric of ${ROLES.join(', ')} is exported`)
    t.same(rows.filter(r => !r.roles.every(role => role === 'every' || /^[a-z-]+$/.test(role)) || r.roles.length === 0).map(r => r.name), [], 'every row names its roles')

    for (const [name, type] of scrape.families) {
      const row = exact.get(name)
      if (row === undefined) continue
      t.equal(row.type, type, `${name}: documented type`)
      const seen = [...scrape.labels.get(name) ?? []]
      t.same(seen.filter(l => !row.labels.includes(l)), [], `${name}: exported labels are documented`)
      t.same(row.labels.filter(l => seen.length > 0 && !seen.includes(l)), [], `${name}: documented labels are exported`)
    }
  })

  const checkQuery = (t: Test, where: string, expr: string): void => {
    const parsed = parsePromQL(expr)
    t.same(parsed.errors, [], `${where}: valid PromQL`)
    t.ok(parsed.metrics.length > 0, `${where}: selects at least one metric`)
    for (const metric of parsed.metrics) {
      t.ok(scrape.selectable.has(metric) || PROMETHEUS_SERIES.has(metric), `${where}: ${metric} is exported`)
    }
    for (const { metric, labels } of parsed.selectors) {
      const family = scrape.families.has(metric) ? metric : metric.replace(/_(bucket|sum|count)$/, '')
      const seen = scrape.labels.get(family)
      if (seen === undefined || seen.size === 0) continue // no samples to compare with
      t.same(labels.filter(l => !seen.has(l) && !TARGET_LABELS.has(l)), [], `${where}: labels of ${metric} exist`)
    }
  }

  t.test('the Grafana dashboard queries only exported metrics and labels', async t => {
    interface Panel { title?: string, type?: string, panels?: Panel[], targets?: Array<{ expr?: string }> }
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid?: string, title?: string, panels: Panel[], templating?: { list: Array<{ name: string, definition?: string }> } }
    t.ok(dashboard.uid && dashboard.title, 'uid and title (stable import)')
    const panels = dashboard.panels.flatMap(p => [p, ...(p.panels ?? [])]).filter(p => p.type !== 'row')
    t.ok(panels.length >= 20, `${panels.length} panels`)
    let queries = 0
    for (const panel of panels) {
      t.ok((panel.targets ?? []).length > 0, `panel "${panel.title}" has queries`)
      for (const target of panel.targets ?? []) {
        queries++
        checkQuery(t, `panel "${panel.title}"`, grafanaToPromQL(target.expr ?? ''))
      }
    }
    for (const variable of dashboard.templating?.list ?? []) {
      const inner = /^label_values\((.+),\s*[a-zA-Z_]+\)$/.exec(variable.definition ?? '')?.[1]
      if (inner !== undefined) checkQuery(t, `variable ${variable.name}`, inner)
    }
    const covered = new Set(panels.flatMap(p => (p.targets ?? []).flatMap(q => parsePromQL(grafanaToPromQL(q.expr ?? '')).metrics)))
    for (const required of ['streams_consumer_lag_records', 'streams_store_restore_remaining_records', 'rewards_dlq_records_total', 'rewards_archive_lag_records', 'rewards_http_request_duration_seconds_bucket', 'rewards_api_cache_requests_total',
      'rewards_notifications_deliveries_total', 'rewards_notifications_attempt_duration_seconds_bucket', 'rewards_notifications_circuit_state', 'rewards_notifications_dlq_records_total',
      'rewards_notifications_queued_deliveries', 'rewards_notifications_in_flight_deliveries', 'rewards_notifications_lag_records', 'rewards_notifications_paused_partitions']) {
      t.ok(covered.has(required), `the dashboard shows ${required}`)
    }
    t.comment(`${queries} dashboard queries checked`)
  })

  t.test('the Prometheus alert rules are well-formed and use only exported metrics and labels', async t => {
    const file = parseYaml(readFileSync(ALERTS, 'utf8')) as { groups?: Array<{ name?: string, rules?: Array<Record<string, unknown>> }> }
    t.ok(Array.isArray(file.groups) && file.groups.length > 0, 'groups')
    t.same(Object.keys(file), ['groups'], 'nothing but groups at the top level')
    const groupNames = file.groups!.map(g => g.name)
    t.equal(new Set(groupNames).size, groupNames.length, 'unique group names')
    const alerts: string[] = []
    for (const group of file.groups!) {
      t.ok(typeof group.name === 'string' && group.name.length > 0, 'group has a name')
      t.ok(Array.isArray(group.rules) && group.rules.length > 0, `group ${group.name} has rules`)
      for (const rule of group.rules ?? []) {
        const name = String(rule.alert)
        alerts.push(name)
        t.match(name, /^Rewards[A-Z][A-Za-z0-9]+$/, `${name}: an alert rule named Rewards…`)
        t.same(Object.keys(rule).filter(k => !['alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(k)), [], `${name}: only alerting-rule fields`)
        t.match(rule.for, /^\d+[smh]$/, `${name}: a for: duration`)
        const labels = rule.labels as Record<string, unknown> | undefined
        t.ok(['critical', 'warning'].includes(String(labels?.severity)), `${name}: severity critical or warning`)
        const annotations = rule.annotations as Record<string, unknown> | undefined
        t.ok(typeof annotations?.summary === 'string' && annotations.summary.length > 10, `${name}: a summary`)
        t.ok(typeof annotations?.description === 'string' && annotations.description.length > 20, `${name}: a description`)
        if (annotations?.runbook !== undefined) t.ok(readFileSync(join(ROOT, String(annotations.runbook)), 'utf8').length > 0, `${name}: its runbook exists`)
        t.equal(typeof rule.expr, 'string', `${name}: an expression`)
        checkQuery(t, name, String(rule.expr))
      }
    }
    t.equal(new Set(alerts).size, alerts.length, 'unique alert names')
    // Prometheus' own checker where it is installed (not needed: the checks above cover the format).
    const promtool = spawnSync('promtool', ['check', 'rules', ALERTS], { encoding: 'utf8' })
    if (promtool.error === undefined) t.equal(promtool.status, 0, `promtool check rules: ${promtool.stdout}${promtool.stderr}`)
    else t.comment('promtool not installed: rule file checked structurally only')
    const example = parseYaml(readFileSync(PROMETHEUS_EXAMPLE, 'utf8')) as { rule_files?: string[], scrape_configs?: Array<{ job_name?: string }> }
    t.same(example.rule_files, ['rewards-alerts.yml'], 'the example Prometheus configuration loads these rules')
    t.ok(example.scrape_configs?.some(c => /^rewards/.test(c.job_name ?? '')), 'with a scrape job RewardsInstanceDown selects (job=~"rewards.*")')
    for (const required of ['RewardsConsumerLagHigh', 'RewardsRestoreSlow', 'RewardsDlqGrowth', 'RewardsArchiveLagHigh', 'RewardsApiErrorRate', 'RewardsApiLatencyP99High', 'RewardsProcessorNotRunning', 'RewardsRedisDown', 'RewardsCommitsAborting',
      'RewardsNotificationsDlqGrowth', 'RewardsNotificationsCircuitOpen', 'RewardsNotificationsLagGrowing', 'RewardsNotificationsPausedLong']) {
      t.ok(alerts.includes(required), `alert ${required} exists`)
    }
  })
})
