-- OAuth2 clients of the built-in token server (api/auth) and its signing keys.
-- Secrets are never stored: secret_hash is scrypt (see api/auth/client-secrets.ts).
CREATE TABLE IF NOT EXISTS oauth_clients (
  client_id   text PRIMARY KEY,
  name        text NOT NULL,
  secret_hash text NOT NULL,
  scopes      text NOT NULL,            -- space-separated, as in OAuth2 `scope`
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

-- ES256 signing keys shared by every instance that issues or checks built-in tokens. A key is
-- retired by a rotation and stays in the JWKS until the tokens it signed have expired.
CREATE TABLE IF NOT EXISTS oauth_signing_keys (
  kid         text PRIMARY KEY,
  private_jwk text NOT NULL,
  public_jwk  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz
);
