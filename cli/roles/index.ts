// The roles `rewards start` knows. A role whose factory is null is not built yet: `start` says so
// clearly and does not pretend to run it. Whoever builds one adds its factory here.
import { processorRole } from './processor-role.ts'
import type { RoleEntry, RoleName } from './role.ts'

export { ROLE_NAMES, type Role, type RoleContext, type RoleFactory, type RoleName } from './role.ts'

export const ROLES: Readonly<Record<RoleName, RoleEntry>> = Object.freeze({
  processor: { factory: processorRole, summary: 'runs the rewards topology (state stores, confirmations, dead letters)' },
  api: { factory: null, summary: 'public HTTP API (balances, activity, events, redemptions) — not available yet in this build: only the ops endpoints (/health, /metrics, /v1/topology) are served' },
  archiver: { factory: null, summary: 'PostgreSQL archive of every input and output record — not available yet in this build: nothing is archived' },
  auth: { factory: null, summary: 'OAuth2 token server (/oauth/token, JWKS) — not available yet in this build' }
})
