// The task state machine (task-lifecycle.ts): every allowed move of an active task goes through,
// every other one throws IllegalTaskTransitionError and leaves the state as it was; a standby
// never restores (it applies its changelogs while RUNNING).
import t from 'tap'
import { allowedTransitions, IllegalTaskTransitionError, TaskLifecycle, type TaskState } from '../../../topology/runtime/task-lifecycle.ts'

const STATES: TaskState[] = ['CREATED', 'RESTORING', 'RUNNING', 'SUSPENDED', 'CLOSED']

/** A lifecycle driven to `state` along allowed moves. */
function at (state: TaskState, type: 'active' | 'standby' = 'active'): TaskLifecycle {
  const paths: Record<TaskState, TaskState[]> = type === 'active'
    ? { CREATED: [], RESTORING: ['RESTORING'], RUNNING: ['RESTORING', 'RUNNING'], SUSPENDED: ['RESTORING', 'RUNNING', 'SUSPENDED'], CLOSED: ['CLOSED'] }
    : { CREATED: [], RESTORING: [], RUNNING: ['RUNNING'], SUSPENDED: ['RUNNING', 'SUSPENDED'], CLOSED: ['CLOSED'] }
  const lifecycle = new TaskLifecycle('0_1', type)
  for (const next of paths[state]) lifecycle.transitionTo(next)
  return lifecycle
}

t.test('an active task goes created → restoring → running ⇄ suspended → closed', async t => {
  const lifecycle = new TaskLifecycle('0_1')
  t.equal(lifecycle.state, 'CREATED')
  for (const next of ['RESTORING', 'RUNNING', 'SUSPENDED', 'RUNNING', 'SUSPENDED', 'CLOSED'] as const) {
    lifecycle.transitionTo(next)
    t.equal(lifecycle.state, next, `→ ${next}`)
  }
  t.ok(lifecycle.is('CLOSED', 'RUNNING'))
  t.notOk(lifecycle.is('RUNNING'))
})

t.test('every move outside the table throws and leaves the state unchanged', async t => {
  const expected: Record<TaskState, TaskState[]> = {
    CREATED: ['RESTORING', 'CLOSED'],
    RESTORING: ['RUNNING', 'CLOSED'],
    RUNNING: ['SUSPENDED', 'CLOSED'],
    SUSPENDED: ['RUNNING', 'CLOSED'],
    CLOSED: []
  }
  for (const from of STATES) {
    t.same([...allowedTransitions('active', from)].sort(), [...expected[from]].sort(), `allowed from ${from}`)
    for (const to of STATES) {
      const lifecycle = at(from)
      if (expected[from].includes(to)) {
        lifecycle.transitionTo(to)
        t.equal(lifecycle.state, to, `${from} → ${to} allowed`)
        continue
      }
      t.throws(() => lifecycle.transitionTo(to), IllegalTaskTransitionError, `${from} → ${to} refused`)
      t.equal(lifecycle.state, from, `still ${from}`)
    }
  }
  // The error names the task and the move (it surfaces as the thread's fatal error).
  const error = t.throws(() => at('CLOSED').transitionTo('RUNNING')) as IllegalTaskTransitionError
  t.match(error, { task: '0_1', from: 'CLOSED', to: 'RUNNING' })
  t.match(error.message, /active task 0_1: illegal transition CLOSED → RUNNING/)
})

t.test('a standby task never restores: it runs (applies changelogs) from creation', async t => {
  const lifecycle = new TaskLifecycle('0_2', 'standby')
  t.throws(() => lifecycle.transitionTo('RESTORING'), IllegalTaskTransitionError)
  lifecycle.transitionTo('RUNNING')
  lifecycle.transitionTo('SUSPENDED')
  lifecycle.transitionTo('RUNNING')
  lifecycle.transitionTo('CLOSED')
  t.equal(lifecycle.state, 'CLOSED')
  t.same(allowedTransitions('standby', 'RESTORING'), [])
  t.throws(() => at('SUSPENDED', 'standby').transitionTo('RESTORING'), IllegalTaskTransitionError)
})
