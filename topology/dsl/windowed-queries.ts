// Interactive queries over window and session stores (Kafka Streams' ReadOnlyWindowStore and
// ReadOnlySessionStore through KafkaStreams.store()). The stores are key-value stores of bytes to
// the runtime, so a query reads the same committed view as key-value queries do, through the
// readers of stores/window-store.ts and stores/session-store.ts; a key is owned by the task of
// its own partition (the window never changes it).
import { StreamsError } from '../streams-error.ts'
import type { KeyValue, StoreDefinition } from '../../stores/key-value-store.ts'
import { SessionStoreReader, type ReadOnlySessionStore } from '../../stores/session-store.ts'
import { WindowStoreReader, type OrderedBytes, type ReadOnlyWindowStore, type Windowed, type WindowValue } from '../../stores/window-store.ts'
import { valueOnlySerde } from './windowed-serdes.ts'
import { isWindowedStoreDefinition, type WindowedStoreInfo } from './windowed-store-definition.ts'

function windowedInfo (name: string, definition: StoreDefinition<unknown, unknown> | undefined, type: 'window' | 'session'): WindowedStoreInfo {
  if (definition === undefined) throw new StreamsError('STORE_NOT_FOUND', `no state store "${name}" in this topology`)
  if (!isWindowedStoreDefinition(definition) || definition.windowed.type !== type) {
    throw new StreamsError('STORE_NOT_FOUND', `state store "${name}" is not a ${type} store`)
  }
  return definition.windowed
}

/** A window store's reader over one task's committed bytes. */
export function windowStoreReader<K, V> (name: string, definition: StoreDefinition<unknown, unknown> | undefined, bytes: OrderedBytes): ReadOnlyWindowStore<K, V> {
  const info = windowedInfo(name, definition, 'window')
  return new WindowStoreReader<K, V>(bytes, { name, keySerde: info.keySerde, valueSerde: valueOnlySerde(info.valueSerde), retentionMs: info.retentionMs, windowSizeMs: info.windowSizeMs })
}

export function sessionStoreReader<K, V> (name: string, definition: StoreDefinition<unknown, unknown> | undefined, bytes: OrderedBytes): ReadOnlySessionStore<K, V> {
  const info = windowedInfo(name, definition, 'session')
  return new SessionStoreReader<K, V>(bytes, { name, keySerde: info.keySerde, valueSerde: valueOnlySerde(info.valueSerde), retentionMs: info.retentionMs })
}

/** What the application offers the query views: its stores' bytes and who owns a key. */
export interface WindowedQueryHost {
  definition (name: string): StoreDefinition<unknown, unknown> | undefined
  /** The committed bytes of the local task owning `keyBytes`; throws KEY_OWNED_ELSEWHERE or
   *  STORE_NOT_READY as key-value queries do. */
  bytesForKey (name: string, keyBytes: Buffer): OrderedBytes
  /** Every local task's committed bytes (STORE_NOT_READY unless all are ready). */
  localBytes (name: string): OrderedBytes[]
}

/** Application-wide window store view: fetch by key routes to the key's task; fetchAll and all
 *  cover this instance's tasks. */
export function queryableWindowStore<K, V> (host: WindowedQueryHost, name: string): ReadOnlyWindowStore<K, V> {
  const definition = host.definition(name)
  const info = windowedInfo(name, definition, 'window')
  const forKey = (key: K): ReadOnlyWindowStore<K, V> => windowStoreReader(name, definition, host.bytesForKey(name, info.keySerde.serialize(key)))
  const local = (): Array<ReadOnlyWindowStore<K, V>> => host.localBytes(name).map(bytes => windowStoreReader<K, V>(name, definition, bytes))
  const byStart = (a: KeyValue<Windowed<K>, V>, b: KeyValue<Windowed<K>, V>): number => a.key.window.start - b.key.window.start
  return {
    name,
    fetchWindow: (key, windowStart) => forKey(key).fetchWindow(key, windowStart),
    fetch: (key, timeFrom, timeTo): WindowValue<V>[] => forKey(key).fetch(key, timeFrom, timeTo),
    fetchAll: (timeFrom, timeTo) => local().flatMap(s => s.fetchAll(timeFrom, timeTo)).sort(byStart),
    all: () => local().flatMap(s => s.all()).sort(byStart),
    observedStreamTime: key => forKey(key).observedStreamTime(key)
  }
}

export function queryableSessionStore<K, V> (host: WindowedQueryHost, name: string): ReadOnlySessionStore<K, V> {
  const definition = host.definition(name)
  const info = windowedInfo(name, definition, 'session')
  const forKey = (key: K): ReadOnlySessionStore<K, V> => sessionStoreReader(name, definition, host.bytesForKey(name, info.keySerde.serialize(key)))
  return {
    name,
    findSessions: (key, earliestSessionEnd, latestSessionStart) => forKey(key).findSessions(key, earliestSessionEnd, latestSessionStart),
    fetch: key => forKey(key).fetch(key),
    fetchSession: (key, start, end) => forKey(key).fetchSession(key, start, end)
  }
}
