// A StreamsApplication's states and the transitions allowed between them (Kafka Streams'
// KafkaStreams.State); an illegal transition is a bug, so it throws.
//
//   CREATED -> REBALANCING <-> RUNNING -> PENDING_SHUTDOWN -> NOT_RUNNING
//                     \__________\______________________________-> ERROR

export type ApplicationState = 'CREATED' | 'REBALANCING' | 'RUNNING' | 'PENDING_SHUTDOWN' | 'NOT_RUNNING' | 'ERROR'

export type StateListener = (newState: ApplicationState, oldState: ApplicationState, error?: unknown) => void

const TRANSITIONS: Record<ApplicationState, ApplicationState[]> = {
  CREATED: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  REBALANCING: ['RUNNING', 'PENDING_SHUTDOWN', 'ERROR', 'REBALANCING'],
  RUNNING: ['REBALANCING', 'PENDING_SHUTDOWN', 'ERROR'],
  PENDING_SHUTDOWN: ['NOT_RUNNING', 'ERROR'],
  NOT_RUNNING: [],
  ERROR: ['PENDING_SHUTDOWN', 'NOT_RUNNING']
}

/** Every state (one gauge series each). */
export const APPLICATION_STATES = Object.keys(TRANSITIONS) as ApplicationState[]

/** Throws on a transition the state machine does not allow. */
export function assertTransition (from: ApplicationState, to: ApplicationState): void {
  if (!TRANSITIONS[from].includes(to)) throw new Error(`illegal state transition ${from} -> ${to}`)
}
