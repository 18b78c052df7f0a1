// Container health check: exit 0 when GET /health/live answers 2xx within the timeout, else 1.
// Plain JavaScript with no imports so it runs on the image's Node with nothing else installed.
const port = process.env.REWARDS_HTTP_PORT || '8080'
const timeoutMs = 2500
try {
  const response = await fetch(`http://127.0.0.1:${port}/health/live`, { signal: AbortSignal.timeout(timeoutMs) })
  process.exit(response.ok ? 0 : 1)
} catch {
  process.exit(1)
}
