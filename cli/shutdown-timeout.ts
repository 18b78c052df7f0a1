/** Bound on a graceful shutdown: under the 30 s a container orchestrator (ECS, Kubernetes) waits
 *  between SIGTERM and SIGKILL, so we exit on our own terms. */
export const SHUTDOWN_TIMEOUT_MS = 25_000
