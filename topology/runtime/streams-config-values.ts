// The values of the engine's settings that the platform exposes as REWARDS_* variables: the
// allowed values and the defaults, defined once. The engine defaults its options with them
// (streams-config.ts) and the platform's settings table checks and documents its variables with
// them (lib/config-settings.ts). No imports, so the CLI's configuration reads them without
// loading the engine.

/** Outputs, changelog writes and input offsets in one transaction, or at-least-once. */
export type ProcessingGuarantee = 'exactly_once_v2' | 'at_least_once'
export const PROCESSING_GUARANTEES: readonly ProcessingGuarantee[] = Object.freeze(['exactly_once_v2', 'at_least_once'])

/** What the application does when its stream thread dies (docs/engine.md "Faults and recovery"). */
export type StreamErrorPolicy = 'replace-thread' | 'shutdown-instance'
export const STREAM_ERROR_POLICIES: readonly StreamErrorPolicy[] = Object.freeze(['replace-thread', 'shutdown-instance'])

/** How the group rebalances (docs/engine.md "Group protocol and rebalancing"). */
export type EngineRebalanceProtocol = 'cooperative' | 'eager'
export const REBALANCE_PROTOCOLS: readonly EngineRebalanceProtocol[] = Object.freeze(['cooperative', 'eager'])

/** Defaults of the engine's settings the platform exposes (the others: streams-config.ts). */
export const STREAMS_SETTING_DEFAULTS = Object.freeze({
  processingGuarantee: 'exactly_once_v2' as ProcessingGuarantee,
  onStreamError: 'replace-thread' as StreamErrorPolicy,
  /** With one instance there is no other client to put it on, so it costs nothing there. */
  numStandbyReplicas: 1,
  acceptableRecoveryLag: 10_000,
  maxWarmupReplicas: 2,
  probingRebalanceIntervalMs: 10 * 60_000,
  rebalanceProtocol: 'cooperative' as EngineRebalanceProtocol
})
