// Start-up of the OpenTelemetry SDK, only when tracing is configured (tracing-settings.ts). The
// SDK packages are loaded here by dynamic import, so a process without tracing never loads them;
// they are ordinary dependencies (not optional ones) so that the same container image turns
// tracing on with environment variables alone.
//
// registerTracing() is what the SDK start-up and the tests share: the AsyncLocalStorage context
// manager (spans follow async calls), the W3C propagator, the provider, and the Kafka client's
// diagnostics-channel spans.
import { context, propagation, trace, type TracerProvider } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { installKafkaClientSpans } from './kafka-client-spans.ts'
import type { TracingSettings } from './tracing-settings.ts'

export interface RunningTracing {
  /** Flushes pending spans and unregisters everything registerTracing() set. */
  shutdown (): Promise<void>
}

/** Registers `provider` (with its `shutdown`, if any, called on shutdown) as the global one. */
export async function registerTracing (provider: TracerProvider & { shutdown?: () => Promise<void> }): Promise<RunningTracing> {
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks')
  const contextManager = new AsyncLocalStorageContextManager().enable()
  context.setGlobalContextManager(contextManager)
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(provider)
  const uninstall = installKafkaClientSpans()
  return {
    async shutdown () {
      uninstall()
      try {
        await provider.shutdown?.()
      } finally {
        trace.disable()
        propagation.disable()
        context.disable()
      }
    }
  }
}

/** Starts the SDK as the settings say; null when tracing is off. */
export async function startTracing (settings: TracingSettings): Promise<RunningTracing | null> {
  if (!settings.enabled) return null
  const sdk = await import('@opentelemetry/sdk-trace')
  const { detectResources, envDetector, resourceFromAttributes, defaultResource } = await import('@opentelemetry/resources')
  const ratio = new sdk.TraceIdRatioBasedSampler(settings.samplerRatio)
  const sampler = {
    always_on: new sdk.AlwaysOnSampler(),
    always_off: new sdk.AlwaysOffSampler(),
    traceidratio: ratio,
    parentbased_always_on: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }),
    parentbased_always_off: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }),
    parentbased_traceidratio: new sdk.ParentBasedSampler({ root: ratio })
  }[settings.sampler]
  const spanProcessors = []
  for (const name of settings.exporters) {
    if (name === 'console') spanProcessors.push(new sdk.SimpleSpanProcessor({ exporter: new sdk.ConsoleSpanExporter() }))
    else {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http')
      spanProcessors.push(new sdk.BatchSpanProcessor({ exporter: new OTLPTraceExporter() }))
    }
  }
  const provider = new sdk.TracerProvider({
    resource: defaultResource()
      .merge(resourceFromAttributes({ 'service.name': settings.serviceName }))
      .merge(detectResources({ detectors: [envDetector] })),
    sampler,
    // One link per record of an archive batch (archive-batch-span.ts): above the largest batch.
    spanLimits: { linkCountLimit: 1024 },
    spanProcessors
  })
  return await registerTracing(provider)
}
