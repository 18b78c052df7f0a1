// `rewards clients …` against a running platform's client-admin routes
// (api/auth/client-admin-routes.ts), for the embedded default: the platform holds the PGlite
// database, so the command asks it instead of opening the directory. Found through
// <data-dir>/admin.json (api/auth/admin-run-file.ts).
import type { AdminRunFile } from '../api/auth/admin-run-file.ts'
import type { OAuthClient } from '../api/auth/client-store.ts'

export interface ClientAdmin {
  /** Where the clients live, for messages. */
  readonly where: string
  create (input: { name: string, scopes: readonly string[] }): Promise<{ client: OAuthClient, clientSecret: string }>
  list (): Promise<OAuthClient[]>
  revoke (clientId: string): Promise<boolean>
  rotateKey (): Promise<string>
}

export function remoteClientAdmin (running: AdminRunFile, timeoutMs = 30_000): ClientAdmin {
  const call = async <T> (method: string, path: string, body?: unknown): Promise<T> => {
    let response: Response
    try {
      response = await fetch(`${running.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${running.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs)
      })
    } catch (error) {
      throw new Error(`the running platform (pid ${running.pid}) holds the embedded database, but its admin endpoint ${running.url} did not answer; is it still starting? (${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message})`, { cause: error })
    }
    const answer = await response.json().catch(() => undefined) as { error?: { message?: string } } | undefined
    if (response.status === 400) throw new RangeError(answer?.error?.message ?? 'bad request')
    if (!response.ok) throw new Error(`the running platform (pid ${running.pid}) answered ${response.status}: ${answer?.error?.message ?? 'no details'}`)
    return answer as T
  }
  return {
    where: `the running platform (pid ${running.pid}, ${running.url})`,
    create: input => call('POST', '/admin/v1/clients', { name: input.name, scopes: input.scopes }),
    list: () => call('GET', '/admin/v1/clients'),
    revoke: async clientId => (await call<{ revoked: boolean }>('DELETE', `/admin/v1/clients/${encodeURIComponent(clientId)}`)).revoked,
    rotateKey: async () => (await call<{ kid: string }>('POST', '/admin/v1/signing-keys')).kid
  }
}
