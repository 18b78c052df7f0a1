// The member tasks (sub-topology 0: balances, dedupe, activity) of an application: the points
// windows' tasks (1_N, docs/rewards.md "Points issued per property") are not counted when a test
// waits for the members' tasks to settle.
import type { StreamsApplication } from '../../topology/index.ts'

export function memberTasks (app: StreamsApplication): Array<{ task: string, ready: boolean }> {
  return app.localTasks().filter(t => t.task.startsWith('0_'))
}
