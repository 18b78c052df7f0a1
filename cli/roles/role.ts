// A role is one part of the platform that `rewards start` can run: processor, api, archiver,
// auth, notifications. Roles share one process-wide context (configuration, logger, metrics registry, readiness,
// the HTTP server, the log) and are started and closed in a fixed order:
//
//   setup (every role; may register Fastify plugins and readiness checks; nothing listens yet)
//   → HTTP listen → start (every role, in order) → … → close (reverse order) → HTTP close → log close
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import type { Liveness } from '../../api/health/liveness.ts'
import type { Readiness } from '../../api/health/readiness.ts'
import type { RewardsConfig } from '../../lib/config.ts'
import type { DependencyHealth } from '../../lib/dependency-health.ts'
import type { Logger } from '../../lib/logger.ts'
import type { Log } from '../../log/log-port.ts'
import type { StateDirectory } from '../../stores/state-directory.ts'
import type { RewardsPlatform } from '../rewards-platform.ts'

export type RoleName = 'processor' | 'api' | 'archiver' | 'auth' | 'notifications'
export const ROLE_NAMES: readonly RoleName[] = Object.freeze(['processor', 'api', 'archiver', 'auth', 'notifications'])

/** What each role is for and, for a role not built yet, what is missing (shown by --help and
 *  logged by `start`). Whoever builds a role updates its line and its factory in ./index.ts. */
export const ROLE_DESCRIPTIONS: Readonly<Record<RoleName, string>> = Object.freeze({
  processor: 'runs the rewards topology (state stores, confirmations, dead letters)',
  api: 'public HTTP API (balances, activity, events, redemptions, OpenAPI); alone, a stateless front forwarding queries to the processor instances',
  archiver: 'PostgreSQL archive of every input and output record (REWARDS_DATABASE_URL, or embedded PostgreSQL in <data-dir>/pg); migrates the schema on start',
  auth: 'OAuth2 token server (/oauth/token, JWKS, discovery); clients and signing keys in PostgreSQL (rewards clients)',
  notifications: 'partner webhooks for reward-confirmed and redeem-confirmed (REWARDS_NOTIFICATIONS_FILE; idle without it): signed, retried, circuit breaker per endpoint, notifications-dlq'
})

export interface RoleContext {
  readonly config: RewardsConfig
  readonly logger: Logger
  readonly registry: Registry
  readonly readiness: Readiness
  /** /health/live fails while a check fails: a role adds one for what must keep running. */
  readonly liveness: Liveness
  /** Kafka, PostgreSQL and Redis as this process sees them (cli/dependency-monitor.ts): roles
   *  read it for their readiness detail and report what they see themselves (Redis). */
  readonly dependencies: DependencyHealth
  /** The main HTTP server, not yet listening during setup: register plugins on it then. */
  readonly server: FastifyInstance
  readonly platform: RewardsPlatform
  /** The process's one connection to the log (Kafka or embedded), opened on first use and closed
   *  by `start` after every role has closed. */
  readonly log: () => Promise<Log>
  /** Create the platform topics when missing (embedded log, or --create-topics). */
  readonly createTopics: boolean
  /** host:port where this instance's HTTP API answers (known once the server listens). */
  readonly advertisedAddress: () => string
  /** A role that can no longer work calls this: the process shuts down and exits 1. */
  readonly fatal: (error: unknown) => void
  /** The application's state directory, locked before any role was set up (so before any log
   *  client exists) when the processor role runs; undefined otherwise. */
  readonly stateDirectory?: StateDirectory
}

export interface Role {
  readonly name: RoleName
  /** Long work (connect, restore, join the group). Readiness reports progress meanwhile. */
  start (): Promise<void>
  /** Finish in-flight work and release what the role owns. Called once, even if start failed. */
  close (): Promise<void>
}

/** Setup of a role: registers what it serves, returns the role. */
export type RoleFactory = (ctx: RoleContext) => Role | Promise<Role>

export interface RoleEntry {
  readonly factory: RoleFactory | null
  /** What the role is for; for unavailable roles, what is missing. */
  readonly summary: string
}
