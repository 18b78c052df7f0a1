// The member tasks (the sub-topology of the balances store: balances, dedupe, activity) of an
// application: the points windows' tasks (docs/rewards.md "Points issued per property") are not
// counted when a test waits for the members' tasks to settle.
import type { StreamsApplication } from '../../topology/index.ts'

export function memberTasks (app: StreamsApplication): Array<{ task: string, ready: boolean }> {
  return app.localTasks('balances')
}
