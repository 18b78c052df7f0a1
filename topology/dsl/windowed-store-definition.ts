// How the windowed DSL declares its window and session stores: to the runtime they are ordered
// key-value stores of bytes (stores/window-key-schema.ts), opened, changelogged, checkpointed and
// restored like any other; the `windowed` part tells interactive queries how to read them.
import type { StoreDefinition, StoreKind } from '../../stores/key-value-store.ts'
import { Serdes, type Serde } from '../serdes.ts'
import { CHANGELOG_ADDITIONAL_RETENTION_MS } from './windows.ts'

export interface WindowedStoreInfo {
  readonly type: 'window' | 'session'
  /* eslint-disable @typescript-eslint/no-explicit-any -- one definition type for every key and value */
  readonly keySerde: Serde<any>
  /** The aggregate's serde (the store holds it timestamped, dsl/windowed-serdes.ts). */
  readonly valueSerde: Serde<any>
  /* eslint-enable @typescript-eslint/no-explicit-any */
  readonly retentionMs: number
  /** Window size (window stores; 0 for sessions). */
  readonly windowSizeMs: number
}

export interface WindowedStoreDefinition extends StoreDefinition<Buffer, Buffer> {
  readonly windowed: WindowedStoreInfo
}

export function windowedStoreDefinition (name: string, kind: StoreKind, changelog: boolean, info: WindowedStoreInfo): WindowedStoreDefinition {
  return {
    name,
    kind,
    keySerde: Serdes.bytes(),
    valueSerde: Serdes.bytes(),
    changelog,
    // Kafka Streams' window changelogs: compacted (one record per window) and deleted after the
    // store's retention plus a day, so the topic does not grow with every window ever opened.
    changelogConfig: { 'cleanup.policy': 'compact,delete', 'retention.ms': String(info.retentionMs + CHANGELOG_ADDITIONAL_RETENTION_MS) },
    windowed: info
  }
}

export function isWindowedStoreDefinition (definition: StoreDefinition<unknown, unknown> | undefined): definition is StoreDefinition<unknown, unknown> & WindowedStoreDefinition {
  return definition !== undefined && (definition as Partial<WindowedStoreDefinition>).windowed !== undefined
}
