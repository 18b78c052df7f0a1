// Tracing configuration from the standard OpenTelemetry variables, validated once at start-up
// (the command passes its environment in; nothing else reads process.env).
//
// Tracing is ON when OTEL_TRACES_EXPORTER names an exporter (otlp, console) or, with it unset,
// when an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).
// OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn it off. (The specification's default
// exporter is otlp; here "nothing configured" means no SDK at all, so a plain start pays nothing.)
// The OTLP exporter reads its own OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout,
// compression, certificates) and the resource its OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES.
import { RewardsError } from '../errors.ts'

export type TraceExporterName = 'otlp' | 'console'
export type SamplerName = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio'

export const SAMPLERS: readonly SamplerName[] = Object.freeze(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'])

export interface TracingSettings {
  readonly enabled: boolean
  readonly exporters: readonly TraceExporterName[]
  readonly sampler: SamplerName
  /** Ratio of the traceidratio samplers, 0–1. */
  readonly samplerRatio: number
  /** OTEL_SERVICE_NAME, or 'rewards'. */
  readonly serviceName: string
}

const TRACING_VARIABLES = ['OTEL_SDK_DISABLED', 'OTEL_TRACES_EXPORTER', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_SERVICE_NAME']

export function tracingSettings (env: Readonly<Record<string, string | undefined>>): TracingSettings {
  const value = (name: string): string | undefined => {
    const text = env[name]?.trim()
    return text === undefined || text === '' ? undefined : text
  }
  const problems: string[] = []
  const disabled = value('OTEL_SDK_DISABLED')
  if (disabled !== undefined && !['true', 'false'].includes(disabled.toLowerCase())) problems.push(`OTEL_SDK_DISABLED=${JSON.stringify(disabled)} is invalid: expected true or false`)

  const exporterText = value('OTEL_TRACES_EXPORTER')
  const named = exporterText?.split(',').map(s => s.trim().toLowerCase()).filter(Boolean) ?? []
  const unknown = named.filter(n => !['otlp', 'console', 'none'].includes(n))
  if (unknown.length > 0) problems.push(`OTEL_TRACES_EXPORTER=${JSON.stringify(exporterText)} is invalid: expected otlp, console or none (comma-separated); ${unknown.join(', ')} is not supported`)
  const endpoint = value('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? value('OTEL_EXPORTER_OTLP_ENDPOINT')
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(endpoint)) problems.push('OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is invalid: expected an http(s) URL')
  const exporters: TraceExporterName[] = exporterText === undefined
    ? (endpoint !== undefined ? ['otlp'] : [])
    : named.includes('none') ? [] : [...new Set(named.filter((n): n is TraceExporterName => n === 'otlp' || n === 'console'))]

  const samplerText = value('OTEL_TRACES_SAMPLER')?.toLowerCase() ?? 'parentbased_always_on'
  if (!(SAMPLERS as readonly string[]).includes(samplerText)) problems.push(`OTEL_TRACES_SAMPLER=${JSON.stringify(samplerText)} is invalid: expected one of ${SAMPLERS.join(', ')}`)
  const ratioText = value('OTEL_TRACES_SAMPLER_ARG')
  const ratio = ratioText === undefined ? 1 : Number(ratioText)
  if (!(ratio >= 0 && ratio <= 1)) problems.push(`OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(ratioText)} is invalid: expected a ratio from 0 to 1`)

  if (problems.length > 0) throw new RewardsError('CONFIG_INVALID', `Invalid configuration:\n  ${problems.join('\n  ')}`, { details: { problems } })
  return Object.freeze({
    enabled: disabled?.toLowerCase() !== 'true' && exporters.length > 0,
    exporters: Object.freeze(exporters),
    sampler: samplerText as SamplerName,
    samplerRatio: ratio,
    serviceName: value('OTEL_SERVICE_NAME') ?? 'rewards'
  })
}

/** For `rewards start --help` and docs. */
export const TRACING_HELP = `Tracing (OpenTelemetry, off unless configured; docs/observability.md): ${TRACING_VARIABLES.join(', ')}`
