// process() for processors that merge several streams and route each record to one of several
// named outputs (docs/engine.md, "DSL: processors with several inputs or outputs"):
//
//   processMerged(builder, [a, b], supplier, { name, stores })
//     one processor node with every input as a parent: Kafka Streams' a.merge(b).process(…)
//     without the merge node in between;
//   processRouted(builder, [a], supplier, { name, stores, outputs: ['valid', 'invalid'] })
//     the same, and the processor sends each record to one named output
//     (context.forward(record, outputs.valid)); each output is a stream of its own, like the
//     branches of Kafka Streams' split(Named.as(name)).branch(…, Branched.as(output)), and like
//     them it is a pass-through node named `<name>-<output>`.
//
// The processor itself decides (it may read and write stores) — where split()'s predicates
// only look at one record — so a validation, a dedupe or a ledger that emits both results and
// rejections is one node of the graph, not a map and a split.
import { StreamsError } from '../streams-error.ts'
import type { Processor, ProcessorContext, ProcessorSupplier } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'
import { KStream } from './kstream.ts'
import type { StreamsBuilder } from '../streams-builder.ts'

export interface MergedProcessOptions {
  /** The node's name (stable across versions: it shows in descriptions and errors); default
   *  KSTREAM-PROCESSOR-<index>. */
  readonly name?: string
  /** State stores the processor uses, declared with builder.topology.addStateStore. */
  readonly stores?: readonly string[]
}

export interface RoutedProcessOptions<O extends string> extends MergedProcessOptions {
  /** The outputs' names, at least one: every key of the output types (a stream is returned per
   *  name listed here). */
  readonly outputs: readonly O[]
}

/** Key and value types per output of a routed processor. */
export type OutputTypes<O extends string> = { readonly [P in O]: { readonly key: unknown, readonly value: unknown } }

/** The node names to forward to, per output. */
export type OutputNodes<O extends string> = { readonly [P in O]: string }

/** The streams of a routed processor's outputs. */
export type RoutedStreams<T extends OutputTypes<keyof T & string>> = { readonly [P in keyof T]: KStream<T[P]['key'], T[P]['value']> }

function inputsOf<K, V> (inputs: KStream<K, V> | ReadonlyArray<KStream<K, V>>): string[] {
  const streams = Array.isArray(inputs) ? inputs as ReadonlyArray<KStream<K, V>> : [inputs as KStream<K, V>]
  if (streams.length === 0) throw new StreamsError('TOPOLOGY_INVALID', 'a processor needs at least one input stream')
  return streams.map(s => s.nodeName)
}

function addProcessor<K, V> (builder: StreamsBuilder, parents: string[], supplier: ProcessorSupplier<K, V, unknown, unknown>, options: MergedProcessOptions): string {
  const name = options.name ?? builder.nextName('PROCESSOR')
  builder.topology.addProcessor(name, supplier, ...parents)
  for (const store of options.stores ?? []) builder.topology.connectProcessorAndStateStores(name, store)
  return name
}

/** A processor reading every record of `inputs` (in the task's order), forwarding to whatever
 *  follows the returned stream. */
export function processMerged<K, V, K2, V2> (builder: StreamsBuilder, inputs: KStream<K, V> | ReadonlyArray<KStream<K, V>>, supplier: ProcessorSupplier<K, V, K2, V2>, options: MergedProcessOptions = {}): KStream<K2, V2> {
  const name = addProcessor(builder, inputsOf(inputs), supplier as ProcessorSupplier<K, V, unknown, unknown>, options)
  // Like process(): what the processor forwards may have any key.
  return new KStream<K2, V2>(builder, name, true)
}

/** A pass-through node: one output of a routed processor. Cheaper than the DSL's stateless nodes
 *  (no array per record): it is on the path of every record the output carries. */
function passThrough (): Processor<unknown, unknown, unknown, unknown> {
  let context: ProcessorContext<unknown, unknown>
  return {
    init (c) { context = c },
    process (record: Record<unknown, unknown>) { context.forward(record) }
  }
}

/** A processor reading every record of `inputs` and forwarding each to one of `outputs`
 *  (context.forward(record, nodes[output])); returns one stream per output. `supplier` gets the
 *  node names of the outputs. */
export function processRouted<K, V, T extends OutputTypes<keyof T & string>> (
  builder: StreamsBuilder,
  inputs: KStream<K, V> | ReadonlyArray<KStream<K, V>>,
  supplier: (outputs: OutputNodes<keyof T & string>) => Processor<K, V, unknown, unknown>,
  options: RoutedProcessOptions<keyof T & string>
): RoutedStreams<T> {
  const outputs = options.outputs
  const parents = inputsOf(inputs)
  if (outputs.length === 0) throw new StreamsError('TOPOLOGY_INVALID', 'a routed processor needs at least one output')
  if (new Set(outputs).size !== outputs.length) throw new StreamsError('TOPOLOGY_INVALID', `a routed processor's outputs must have distinct names, got ${outputs.join(', ')}`)
  const name = options.name ?? builder.nextName('PROCESSOR')
  const nodes = Object.freeze(Object.fromEntries(outputs.map(o => [o, `${name}-${o}`]))) as OutputNodes<keyof T & string>
  addProcessor(builder, parents, () => supplier(nodes), { ...options, name })
  const streams: { [output: string]: KStream<unknown, unknown> } = {}
  for (const output of outputs) {
    builder.topology.addProcessor(nodes[output], passThrough, name)
    streams[output] = new KStream<unknown, unknown>(builder, nodes[output], true)
  }
  return streams as unknown as RoutedStreams<T>
}
