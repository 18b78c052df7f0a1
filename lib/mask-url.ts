// Masking of secrets in URLs, for everything meant for printing (docs/cli.md "Configuration":
// secrets are never printed). Its own file so that both the settings table and the loader use it.

/** Query parameters that carry secrets (libpq's `password`/`sslpassword`, tokens, keys). */
const SECRET_PARAMETER = /pass|secret|token|key|auth|credential|signature/i

/** Masks the password of a URL ('postgres://app:***@db:5432/x') and the values of query
 *  parameters named like secrets ('?sslpassword=***'); unparsable text is masked whole. */
export function maskUrl (text: string): string {
  try {
    const url = new URL(text)
    if (url.password !== '') url.password = '***'
    for (const name of [...new Set(url.searchParams.keys())]) {
      if (SECRET_PARAMETER.test(name)) url.searchParams.set(name, '***')
    }
    return url.toString()
  } catch {
    return '***'
  }
}
