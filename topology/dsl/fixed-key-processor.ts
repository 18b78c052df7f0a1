// processValues() (Kafka Streams' FixedKeyProcessor): a user processor that may change values but
// never keys, so the stream after it needs no repartition before a grouping or a join. Kafka
// Streams enforces that with a record type whose key cannot be set; here the context's forward()
// checks it: a record forwarded while one is being processed must carry that record's key
// (the same value, compared with Object.is, as a record passed on with `{ ...record, value }`
// does). Forwarding from a punctuation is not checked (no record is being processed; Kafka
// Streams lets a punctuation forward records it kept, whose keys are fixed by construction).
import type { Processor, ProcessorContext, ProcessorSupplier } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'
import { StreamsError } from '../streams-error.ts'

export function fixedKeyProcessor<K, V, V2> (nodeName: string, supplier: ProcessorSupplier<K, V, K, V2>): ProcessorSupplier<K, V, K, V2> {
  return () => {
    const processor: Processor<K, V, K, V2> = supplier()
    let current: Record<K, V> | undefined
    const wrapped: Processor<K, V, K, V2> = {
      process (record) {
        current = record
        try {
          processor.process(record)
        } finally {
          current = undefined
        }
      }
    }
    if (processor.init !== undefined) {
      wrapped.init = (context) => processor.init!(checkedContext(nodeName, context, () => current))
    }
    if (processor.close !== undefined) wrapped.close = () => processor.close!()
    return wrapped
  }
}

function checkedContext<K, V2> (nodeName: string, context: ProcessorContext<K, V2>, current: () => Record<K, unknown> | undefined): ProcessorContext<K, V2> {
  const forward = (record: Record<K, V2>, childName?: string): void => {
    const input = current()
    if (input !== undefined && !Object.is(record.key, input.key)) {
      throw new StreamsError('TOPOLOGY_INVALID', `processValues node "${nodeName}" forwarded a record with another key than the one it processes; use process() to change keys`)
    }
    context.forward(record, childName)
  }
  return new Proxy(context, {
    get (target, property) {
      if (property === 'forward') return forward
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    }
  })
}
