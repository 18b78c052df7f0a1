// libuv's thread pool size for every `rewards` process, set before anything uses the pool (this
// module is the entry point's first import: ESM evaluates imports in order, and the pool starts at
// its first use, reading UV_THREADPOOL_SIZE then). RocksDB opens run on it, one thread each for
// their whole open, which is mostly fsyncs (MANIFEST, CURRENT, OPTIONS, the directory): with
// libuv's default of four, a cold start's 14 standby tasks (3-4 stores each) opened over 1-1.6 s,
// with 16 threads within ~0.3 s (docs/benchmarks.md "Cold start, sixth pass (branch coldstart5)").
// A size the user set is kept. The memory launcher's relaunch (memory-launch.ts) inherits it.

/** The pool size when UV_THREADPOOL_SIZE is not set. */
export const DEFAULT_UV_THREADPOOL_SIZE = 16

/** The UV_THREADPOOL_SIZE to set, or undefined to keep the environment's. */
export function uvThreadpoolSize (env: Readonly<Record<string, string | undefined>>): string | undefined {
  return env.UV_THREADPOOL_SIZE === undefined || env.UV_THREADPOOL_SIZE === '' ? String(DEFAULT_UV_THREADPOOL_SIZE) : undefined
}

const size = uvThreadpoolSize(process.env)
if (size !== undefined) process.env.UV_THREADPOOL_SIZE = size
