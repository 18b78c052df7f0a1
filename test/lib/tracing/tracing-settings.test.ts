// The OTEL_* variables: tracing is off unless an exporter or an OTLP endpoint is configured; bad
// values are refused at start with the variable named (exit 2), nothing started.
import t from 'tap'
import { tracingSettings } from '../../../lib/tracing/tracing-settings.ts'
import { cleanEnv, runCli } from '../../cli/cli-helpers.ts'

t.test('off unless configured', async t => {
  t.match(tracingSettings({}), { enabled: false, exporters: [], sampler: 'parentbased_always_on', samplerRatio: 1, serviceName: 'rewards' })
  t.match(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), { enabled: true, exporters: ['otlp'] })
  t.match(tracingSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), { enabled: true, exporters: ['otlp'] })
  t.match(tracingSettings({ OTEL_TRACES_EXPORTER: 'console,otlp', OTEL_SERVICE_NAME: 'rewards-eu' }), { enabled: true, exporters: ['console', 'otlp'], serviceName: 'rewards-eu' })
  t.match(tracingSettings({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), { enabled: false })
  t.match(tracingSettings({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }), { enabled: false })
  t.match(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }), { sampler: 'parentbased_traceidratio', samplerRatio: 0.25 })
})

t.test('bad values: every one named', async t => {
  t.throws(() => tracingSettings({ OTEL_TRACES_EXPORTER: 'zipkin' }), { code: 'CONFIG_INVALID', message: /OTEL_TRACES_EXPORTER="zipkin" is invalid: expected otlp, console or none/ })
  t.throws(() => tracingSettings({ OTEL_TRACES_SAMPLER: 'sometimes', OTEL_TRACES_SAMPLER_ARG: '2' }), { message: /OTEL_TRACES_SAMPLER="sometimes" is invalid[\s\S]*OTEL_TRACES_SAMPLER_ARG="2" is invalid: expected a ratio from 0 to 1/ })
  t.throws(() => tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), { message: /OTEL_EXPORTER_OTLP_\(TRACES_\)ENDPOINT is invalid: expected an http\(s\) URL/ })
  t.throws(() => tracingSettings({ OTEL_SDK_DISABLED: 'yes' }), { message: /OTEL_SDK_DISABLED="yes" is invalid/ })
})

t.test('rewards start refuses a bad OTEL_* value before starting anything', async t => {
  const dataDir = t.testdir({})
  const result = await runCli(['start'], { env: cleanEnv({ REWARDS_DATA_DIR: dataDir, REWARDS_HTTP_PORT: '0', OTEL_TRACES_SAMPLER: 'sometimes' }), timeoutMs: 60_000 })
  t.equal(result.code, 2, 'exit 2 (configuration)')
  t.match(result.stderr, /rewards start: \[CONFIG_INVALID\] Invalid configuration:\s+OTEL_TRACES_SAMPLER="sometimes" is invalid/)
  t.notMatch(result.stderr, /HTTP listening/, 'nothing started')
})
