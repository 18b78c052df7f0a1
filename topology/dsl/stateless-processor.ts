// The processors behind the DSL's record-at-a-time operations (filter, map, flatMap, peek, the
// branches of split, merge, a table's toStream): no state, no punctuation.
import type { ProcessorContext, ProcessorSupplier } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'

/** A processor that passes each record through `fn` (returning the records to forward). */
export function statelessProcessor<KIn, VIn, KOut, VOut> (fn: (record: Record<KIn, VIn>) => Iterable<Record<KOut, VOut>>): ProcessorSupplier<KIn, VIn, KOut, VOut> {
  return () => {
    let ctx: ProcessorContext<KOut, VOut>
    return {
      init (c) { ctx = c },
      process (record) { for (const out of fn(record)) ctx.forward(out) }
    }
  }
}

/** A processor that forwards what `fn` returns for each record, if anything (undefined: nothing):
 *  one record at most, without the array and iterator statelessProcessor costs per record (they
 *  showed among the engine's allocations, docs/benchmarks.md "Engine CPU per record"). */
export function oneToOneProcessor<KIn, VIn, KOut, VOut> (fn: (record: Record<KIn, VIn>) => Record<KOut, VOut> | undefined): ProcessorSupplier<KIn, VIn, KOut, VOut> {
  return () => {
    let ctx: ProcessorContext<KOut, VOut>
    return {
      init (c) { ctx = c },
      process (record) {
        const out = fn(record)
        if (out !== undefined) ctx.forward(out)
      }
    }
  }
}
