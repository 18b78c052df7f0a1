// KStream-KStream windowed joins, inner, left and outer (Kafka Streams' KStream.join / leftJoin /
// outerJoin(KStream, ValueJoiner, JoinWindows)): two co-partitioned streams, each side's records kept in a window store for the
// join window; a record meets every record of the other side with the same key whose time lies
// within [t − before, t + after] (seen from the left; mirrored for the right), and each pair
// forwards joiner(left, right) with the later of the two timestamps.
//
// Each side's store holds, per (key, timestamp), the values that arrived with that timestamp (a
// window store keeps one value per window; Kafka Streams' join stores retain duplicates instead).
// Retention: before + after + grace of stream time, so a late record past it neither joins
// records already expired nor is kept. Left and outer joins hold unmatched records in an
// outer-join store until their window closes (outer-join-store.ts).
import { StreamsError } from '../streams-error.ts'
import type { KeyValueStore, StoreKind } from '../../stores/key-value-store.ts'
import { KeyValueWindowStore } from '../../stores/window-store.ts'
import type { Processor, ProcessorContext } from '../processor/processor.ts'
import type { Record } from '../processor/record.ts'
import { Serdes, type Serde } from '../serdes.ts'
import { KStream } from './kstream.ts'
import type { StreamsBuilder } from '../streams-builder.ts'
import { windowedStoreDefinition } from './windowed-store-definition.ts'
import { OuterJoinStore, type JoinSide } from './outer-join-store.ts'

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
  return buildStreamJoin(builder, left, right, joiner as StreamJoiner<K, V1, V2, VR>, windows, joined, 'inner')
}

/** The left windowed join (KStream.leftJoin(KStream, …)): every pair as the inner join, and a left
 *  record that met no right record gets `joiner(left, undefined)` once its window has closed
 *  (end + grace behind stream time), never eagerly (docs/engine.md "Stream-stream join"). */
export function leftJoinStreams<K, V1, V2, VR> (builder: StreamsBuilder, left: KStream<K, V1>, right: KStream<K, V2>, joiner: (leftValue: V1, rightValue: V2 | undefined, key: K) => VR, windows: JoinWindows, joined: StreamJoined<K, V1, V2> = {}): KStream<K, VR> {
  return buildStreamJoin(builder, left, right, joiner as StreamJoiner<K, V1, V2, VR>, windows, joined, 'left')
}

/** The outer windowed join (KStream.outerJoin(KStream, …)): as the left join, and a right record
 *  that met no left record gets `joiner(undefined, right)` once its window has closed. */
export function outerJoinStreams<K, V1, V2, VR> (builder: StreamsBuilder, left: KStream<K, V1>, right: KStream<K, V2>, joiner: (leftValue: V1 | undefined, rightValue: V2 | undefined, key: K) => VR, windows: JoinWindows, joined: StreamJoined<K, V1, V2> = {}): KStream<K, VR> {
  return buildStreamJoin(builder, left, right, joiner as StreamJoiner<K, V1, V2, VR>, windows, joined, 'outer')
}

type StreamJoiner<K, V1, V2, VR> = (leftValue: V1 | undefined, rightValue: V2 | undefined, key: K) => VR
type JoinKind = 'inner' | 'left' | 'outer'

function buildStreamJoin<K, V1, V2, VR> (builder: StreamsBuilder, left: KStream<K, V1>, right: KStream<K, V2>, joiner: StreamJoiner<K, V1, V2, VR>, windows: JoinWindows, joined: StreamJoined<K, V1, V2>, kind: JoinKind): KStream<K, VR> {
  const keySerde = joined.keySerde ?? (Serdes.string() as unknown as Serde<K>)
  const base = joined.name ?? builder.nextName('JOIN')
  const thisStore = `${base}-this-join-store`
  const otherStore = `${base}-other-join-store`
  // Kafka Streams' name for the store of held unmatched records.
  const outerStore = kind === 'inner' ? undefined : `${base}-outer-shared-join-store`
  const retentionMs = windows.beforeMs + windows.afterMs + windows.graceMs
  const thisName = builder.nextName('JOINTHIS')
  const otherName = builder.nextName('JOINOTHER')
  const mergeName = builder.nextName('MERGE')
  const leftSerde = listSerde(joined.valueSerde ?? Serdes.json<V1>())
  const rightSerde = listSerde(joined.otherValueSerde ?? Serdes.json<V2>())
  // How long after its own timestamp a held record of each side can still be joined: a left
  // record's window is [t − before, t + after], a right record's the mirror [t − after, t + before].
  const lookAheadMs = { left: windows.afterMs, right: windows.beforeMs }
  const closedBefore = (streamTime: number): number => streamTime - Math.min(windows.afterMs, windows.beforeMs) - windows.graceMs

  function side<VS, VO> (me: JoinSide, ownStore: string, peerStore: string, ownSerde: Serde<VS[]>, peerSerde: Serde<VO[]>, before: number, after: number, join: (own: VS | undefined, peer: VO | undefined, key: K) => VR, emitsUnmatched: boolean): () => Processor<K, VS, K, VR> {
    const peerSide: JoinSide = me === 'left' ? 'right' : 'left'
    return () => {
      let ctx: ProcessorContext<K, VR>
      let own: KeyValueWindowStore<K, VS[]>
      let peer: KeyValueWindowStore<K, VO[]>
      let held: OuterJoinStore<K> | undefined
      /** Emits the held records whose window has closed, oldest first, and forgets them. */
      const emitClosed = (streamTime: number, headers: Record<K, VS>['headers']): void => {
        for (const h of held!.heldBefore(closedBefore(streamTime))) {
          if (h.timestamp + lookAheadMs[h.side] + windows.graceMs >= streamTime) continue
          held!.deleteStoreKey(h.storeKey)
          const values = h.side === 'left' ? leftSerde.deserialize(h.values) : rightSerde.deserialize(h.values)
          for (const value of values) {
            const result = h.side === 'left' ? joiner(value as V1, undefined, h.key) : joiner(undefined, value as V2, h.key)
            ctx.forward({ key: h.key, value: result, timestamp: h.timestamp, headers })
          }
        }
      }
      return {
        init (c) {
          ctx = c
          own = new KeyValueWindowStore(c.getStateStore<Buffer, Buffer>(ownStore) as Bytes, { name: ownStore, keySerde, valueSerde: ownSerde, retentionMs, windowSizeMs: 1 })
          peer = new KeyValueWindowStore(c.getStateStore<Buffer, Buffer>(peerStore) as Bytes, { name: peerStore, keySerde, valueSerde: peerSerde, retentionMs, windowSizeMs: 1 })
          if (outerStore !== undefined) held = new OuterJoinStore(c.getStateStore<Buffer, Buffer>(outerStore) as Bytes, keySerde)
        },
        process (record: Record<K, VS>) {
          // As Kafka Streams: joins skip records with a null key or value.
          if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) return
          const t = record.timestamp
          // The task's stream time (the largest timestamp of its inputs, both sides of the join).
          const streamTime = Math.max(ctx.currentStreamTimeMs(), t)
          // As Kafka Streams, held records are emitted when a record advances stream time; one that
          // advances it can join no closed record (see lookAheadMs).
          if (held !== undefined && t >= streamTime) emitClosed(streamTime, record.headers)
          own.put(record.key, [...(own.fetchWindow(record.key, t) ?? []), record.value], t)
          let matched = false
          for (const match of peer.fetch(record.key, t - before, t + after)) {
            matched = true
            // The peer's held records of this (key, timestamp) are joined now: never unmatched.
            held?.delete(peerSide, record.key, match.windowStart)
            for (const value of match.value) {
              ctx.forward({ key: record.key, value: join(record.value, value, record.key), timestamp: Math.max(t, match.windowStart), headers: record.headers })
            }
          }
          if (matched || !emitsUnmatched || held === undefined) return
          if (t + lookAheadMs[me] + windows.graceMs < streamTime) {
            // Out of order, its window already closed: nothing can join it any more.
            ctx.forward({ key: record.key, value: join(record.value, undefined, record.key), timestamp: t, headers: record.headers })
            return
          }
          const previous = held.get(me, record.key, t)
          held.put(me, record.key, t, ownSerde.serialize([...(previous === undefined ? [] : ownSerde.deserialize(previous)), record.value]))
        }
      }
    }
  }
  builder.topology.addProcessor(thisName, side<V1, V2>('left', thisStore, otherStore, leftSerde, rightSerde, windows.beforeMs, windows.afterMs, (l, r, k) => joiner(l, r, k), kind !== 'inner'), left.nodeName)
  builder.topology.addProcessor(otherName, side<V2, V1>('right', otherStore, thisStore, rightSerde, leftSerde, windows.afterMs, windows.beforeMs, (r, l, k) => joiner(l, r, k), kind === 'outer'), right.nodeName)
  for (const [store, serde] of [[thisStore, joined.valueSerde], [otherStore, joined.otherValueSerde]] as const) {
    builder.topology.addStateStore(windowedStoreDefinition(store, joined.kind ?? 'rocksdb', true, {
      type: 'window', keySerde, valueSerde: serde ?? Serdes.json<unknown>(), retentionMs, windowSizeMs: 1
    }), thisName, otherName)
  }
  if (outerStore !== undefined) {
    builder.topology.addStateStore({ name: outerStore, kind: joined.kind ?? 'rocksdb', keySerde: Serdes.bytes(), valueSerde: Serdes.bytes(), changelog: true }, thisName, otherName)
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
