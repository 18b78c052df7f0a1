// Shared by the store tests: temp dirs and the two bytes stores, so one test body runs on both.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BytesStore } from '../../stores/key-value-store.ts'
import { InMemoryStore } from '../../stores/in-memory-store.ts'
import { RocksDbStore } from '../../stores/rocksdb-store.ts'

export interface TestContext {
  teardown (fn: () => unknown): void
}

export function tempDir (t: TestContext, name = 'stores'): string {
  const dir = mkdtempSync(join(tmpdir(), `rewards-${name}-`))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export const BYTES_STORES: ReadonlyArray<{ kind: string, create: (name: string) => BytesStore }> = [
  { kind: 'rocksdb', create: name => new RocksDbStore(name) },
  { kind: 'in-memory', create: name => new InMemoryStore(name) }
]

/** An opened bytes store of `kind` in a temp dir, closed at teardown. */
export async function openBytesStore (t: TestContext, create: (name: string) => BytesStore, name = 'test-store'): Promise<BytesStore> {
  const dir = tempDir(t)
  const store = create(name)
  await store.open(join(dir, name))
  t.teardown(() => store.close())
  return store
}

export const b = (s: string): Buffer => Buffer.from(s, 'latin1')
export const s = (buf: Buffer): string => buf.toString('latin1')
export const keysOf = (rows: Array<[Buffer, Buffer]>): string[] => rows.map(([k]) => s(k))
