// KStream-KStream windowed inner join (Kafka Streams' KStream.join(KStream, ValueJoiner,
// JoinWindows)): two co-partitioned streams, each side's records kept in a window store for the
// join window; a record meets every record of the other side with the same key whose time lies
// within [t − before, t + after] (seen from the left; mirrored for the right), and each pair
// forwards joiner(left, right) with the later of the two timestamps.
//
// Each side's store holds, per (key, timestamp), the values that arrived with that timestamp (a
// window store keeps one value per window; Kafka Streams' join stores retain duplicates instead).
// Retention: before + after + grace of stream time, so a late record past it neither joins
// records already expired nor is kept.
import { StreamsError } from '../streams-error.ts'
import type { KeyValueStore, StoreKind } from '../../stores/key-value-store.ts'
import { KeyValueWindowStore } from '../../stores/window-store.ts'
import type { Processor, ProcessorContext } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'
import { Serdes, type Serde } from '../serdes.ts'
import { KStream, type StreamsBuilder } from '../streams-builder.ts'
import { windowedStoreDefinition } from './windowed-store-definition.ts'

function checkDuration (what: string, ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new StreamsError('TOPOLOGY_INVALID', `${what} must be a non-negative integer of ms, got ${ms}`)
}

/** How far apart two records of a stream-stream join may be (Kafka Streams' JoinWindows). */
export class JoinWindows {
  readonly beforeMs: number
  readonly afterMs: number
  readonly graceMs: number

  private constructor (beforeMs: number, afterMs: number, graceMs: number) {
    checkDuration('join window before', beforeMs)
    checkDuration('join window after', afterMs)
    checkDuration('grace period', graceMs)
    this.beforeMs = beforeMs
    this.afterMs = afterMs
    this.graceMs = graceMs
  }

  /** Records at most `differenceMs` apart, either way, join. */
  static ofTimeDifferenceWithNoGrace (differenceMs: number): JoinWindows {
    return new JoinWindows(differenceMs, differenceMs, 0)
  }

  static ofTimeDifferenceAndGrace (differenceMs: number, graceMs: number): JoinWindows {
    return new JoinWindows(differenceMs, differenceMs, graceMs)
  }

  /** Right records up to `beforeMs` before a left record join it. */
  before (beforeMs: number): JoinWindows {
    return new JoinWindows(beforeMs, this.afterMs, this.graceMs)
  }

  /** Right records up to `afterMs` after a left record join it. */
  after (afterMs: number): JoinWindows {
    return new JoinWindows(this.beforeMs, afterMs, this.graceMs)
  }
}

export interface StreamJoined<K, V1, V2> {
  /** Names the join's stores: `<name>-this-join-store` and `<name>-other-join-store` (stable
   *  names across versions); default generated. */
  readonly name?: string
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V1>
  readonly otherValueSerde?: Serde<V2>
  /** Default 'rocksdb'. */
  readonly kind?: StoreKind
}

type Bytes = KeyValueStore<Buffer, Buffer>

/** The inner windowed join of `left` and `right` (KStream.join(KStream, …) in Kafka Streams). */
export function joinStreams<K, V1, V2, VR> (builder: StreamsBuilder, left: KStream<K, V1>, right: KStream<K, V2>, joiner: (leftValue: V1, rightValue: V2, key: K) => VR, windows: JoinWindows, joined: StreamJoined<K, V1, V2> = {}): KStream<K, VR> {
  const keySerde = joined.keySerde ?? (Serdes.string() as unknown as Serde<K>)
  const base = joined.name ?? builder.nextName('JOIN')
  const thisStore = `${base}-this-join-store`
  const otherStore = `${base}-other-join-store`
  const retentionMs = windows.beforeMs + windows.afterMs + windows.graceMs
  const thisName = builder.nextName('JOINTHIS')
  const otherName = builder.nextName('JOINOTHER')
  const mergeName = builder.nextName('MERGE')

  function side<VS, VO> (ownStore: string, peerStore: string, ownSerde: Serde<VS>, peerSerde: Serde<VO>, before: number, after: number, join: (own: VS, peer: VO, key: K) => VR): () => Processor<K, VS, K, VR> {
    return () => {
      let ctx: ProcessorContext<K, VR>
      let own: KeyValueWindowStore<K, VS[]>
      let peer: KeyValueWindowStore<K, VO[]>
      return {
        init (c) {
          ctx = c
          own = new KeyValueWindowStore(c.getStateStore<Buffer, Buffer>(ownStore) as Bytes, { name: ownStore, keySerde, valueSerde: listSerde(ownSerde), retentionMs, windowSizeMs: 1 })
          peer = new KeyValueWindowStore(c.getStateStore<Buffer, Buffer>(peerStore) as Bytes, { name: peerStore, keySerde, valueSerde: listSerde(peerSerde), retentionMs, windowSizeMs: 1 })
        },
        process (record: Record<K, VS>) {
          // As Kafka Streams: joins skip records with a null key or value.
          if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) return
          const t = record.timestamp
          own.put(record.key, [...(own.fetchWindow(record.key, t) ?? []), record.value], t)
          for (const match of peer.fetch(record.key, t - before, t + after)) {
            for (const value of match.value) {
              ctx.forward({ key: record.key, value: join(record.value, value, record.key), timestamp: Math.max(t, match.windowStart), headers: record.headers })
            }
          }
        }
      }
    }
  }
  builder.topology.addProcessor(thisName, side<V1, V2>(thisStore, otherStore, joined.valueSerde ?? Serdes.json<V1>(), joined.otherValueSerde ?? Serdes.json<V2>(), windows.beforeMs, windows.afterMs, joiner), left.nodeName)
  builder.topology.addProcessor(otherName, side<V2, V1>(otherStore, thisStore, joined.otherValueSerde ?? Serdes.json<V2>(), joined.valueSerde ?? Serdes.json<V1>(), windows.afterMs, windows.beforeMs, (r, l, k) => joiner(l, r, k)), right.nodeName)
  for (const [store, serde] of [[thisStore, joined.valueSerde], [otherStore, joined.otherValueSerde]] as const) {
    builder.topology.addStateStore(windowedStoreDefinition(store, joined.kind ?? 'rocksdb', true, {
      type: 'window', keySerde, valueSerde: serde ?? Serdes.json<unknown>(), retentionMs, windowSizeMs: 1
    }), thisName, otherName)
  }
  builder.topology.addProcessor(mergeName, () => {
    let ctx: ProcessorContext<K, VR>
    return { init (c) { ctx = c }, process (r: Record<K, VR>) { ctx.forward(r) } }
  }, thisName, otherName)
  return new KStream<K, VR>(builder, mergeName, false)
}

/** The values of one (key, timestamp): a count, then each value's length and bytes. */
function listSerde<V> (inner: Serde<V>): Serde<V[]> {
  return {
    serialize: values => {
      const parts = values.map(v => inner.serialize(v))
      const out = Buffer.allocUnsafe(4 + parts.reduce((n, p) => n + 4 + p.length, 0))
      out.writeUInt32BE(parts.length, 0)
      let at = 4
      for (const p of parts) { out.writeUInt32BE(p.length, at); p.copy(out, at + 4); at += 4 + p.length }
      return out
    },
    deserialize: bytes => {
      const out: V[] = []
      for (let i = 0, at = 4, n = bytes.readUInt32BE(0); i < n; i++) {
        const length = bytes.readUInt32BE(at)
        out.push(inner.deserialize(bytes.subarray(at + 4, at + 4 + length)))
        at += 4 + length
      }
      return out
    }
  }
}
