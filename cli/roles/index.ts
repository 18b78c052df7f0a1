// The roles `rewards start` knows. A role whose factory is null is not built yet: `start` says so
// clearly and does not pretend to run it. Whoever builds one adds its factory here (and updates
// its description in ./role.ts).
import { apiRole } from './api-role.ts'
import { archiverRole } from './archiver-role.ts'
import { authRole } from './auth-role.ts'
import { notificationsRole } from './notifications-role.ts'
import { processorRole } from './processor-role.ts'
import { ROLE_DESCRIPTIONS, type RoleEntry, type RoleName } from './role.ts'

export { ROLE_DESCRIPTIONS, ROLE_NAMES, type Role, type RoleContext, type RoleFactory, type RoleName } from './role.ts'

export const ROLES: Readonly<Record<RoleName, RoleEntry>> = Object.freeze({
  processor: { factory: processorRole, summary: ROLE_DESCRIPTIONS.processor },
  api: { factory: apiRole, summary: ROLE_DESCRIPTIONS.api },
  archiver: { factory: archiverRole, summary: ROLE_DESCRIPTIONS.archiver },
  auth: { factory: authRole, summary: ROLE_DESCRIPTIONS.auth },
  notifications: { factory: notificationsRole, summary: ROLE_DESCRIPTIONS.notifications }
})
