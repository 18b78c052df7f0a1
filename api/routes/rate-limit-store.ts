// The store of every rate limit (@fastify/rate-limit): the library's own Redis store (one Lua call
// per request, keys `rewards:ratelimit:…`) while Redis is up, its in-process store while Redis is
// down or fails — through the shared cache's outage policy (api/cache/shared-cache.ts), so a
// Redis outage never fails a request and each instance counts on its own meanwhile
// (docs/api.md "Rate limits"). Without REWARDS_REDIS_URL the in-process store alone.
import { createRequire } from 'node:module'
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { Redis } from 'ioredis'
import type { SharedCache } from '../cache/shared-cache.ts'

type Count = { current: number, ttl: number }
type Callback = (error: Error | null, result?: Count) => void
interface LibraryStore {
  incr (key: string, callback: Callback, timeWindow: number, max: number): void
  read (key: string, callback: Callback, timeWindow: number, max: number): void
}

// The library's stores are not in its typed entry point; their constructors are stable API (its
// README documents them as the reference for custom stores).
const require = createRequire(import.meta.url)
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as new (continueExceeding: boolean, exponentialBackoff: boolean, cache?: number) => LibraryStore
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, key?: string) => LibraryStore

function call (store: LibraryStore, method: 'incr' | 'read', key: string, timeWindow: number, max: number): Promise<Count> {
  return new Promise((resolve, reject) => {
    store[method](key, (error, result) => { if (error !== null) reject(error); else resolve(result!) }, timeWindow, max)
  })
}

/** A store class for the plugin's `store` option. Every limiter of the process shares one local
 *  store and one Redis store: their keys say which limit they count (`api:…`, `token-…`). */
export function rateLimitStore (cache: SharedCache): FastifyRateLimitStoreCtor {
  const local = new LocalStore(false, false, 20_000)
  let remote: LibraryStore | undefined
  const run = (method: 'incr' | 'read', key: string, callback: Callback, timeWindow: number, max: number): void => {
    // No Redis configured: the in-process store directly, without the outage policy's promises
    // (this runs on every /v1 request).
    if (cache.kind === 'memory') { local[method](key, callback, timeWindow, max); return }
    cache.withRedis('rateLimit', async redis => {
      remote ??= new RedisStore(false, false, redis, 'ratelimit:')
      return await call(remote, method, key, timeWindow, max)
    }, () => call(local, method, key, timeWindow, max)).then(result => { callback(null, result) }, (error: unknown) => { callback(error as Error) })
  }
  return class SharedRateLimitStore implements FastifyRateLimitStore {
    /** Without Redis every count is made in process, its callback called before incr/read return. */
    readonly countsInProcess = cache.kind === 'memory'
    incr (key: string, callback: Callback, timeWindow: number, max: number): void { run('incr', key, callback, timeWindow, max) }
    read (key: string, callback: Callback, timeWindow: number, max: number): void { run('read', key, callback, timeWindow, max) }
    child (): FastifyRateLimitStore { return this }
  }
}
