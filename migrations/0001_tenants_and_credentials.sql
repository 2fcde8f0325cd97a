-- Tenants (agencies), their credentials, and the LRS's own signing key.
-- Every tenant-owned table leads its keys with tenant_id (DESIGN.md, Tenancy).

CREATE TABLE tenants (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Key/secret pairs for HTTP Basic. The secret is 32 random bytes, so one
-- SHA-256 is the right hash: a slow KDF protects low-entropy passwords and
-- would cost milliseconds on every request.
CREATE TABLE credentials (
    key          text PRIMARY KEY,
    tenant_id    integer NOT NULL REFERENCES tenants (id),
    secret_hash  bytea NOT NULL,
    scopes       text[] NOT NULL,
    label        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
CREATE INDEX credentials_tenant ON credentials (tenant_id, created_at);

-- Keys the LRS signs with (issued JWTs, `more` cursors). One row, generated
-- once, so that every worker and node verifies what any other one signed.
CREATE TABLE signing_keys (
    name        text PRIMARY KEY,
    secret      bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
