-- Agencies' access settings: their own identity providers, browser origins
-- and request rates.

-- Tokens from an agency's identity provider: which issuer, which keys
-- (a PEM public key, or a JWKS URL fetched and cached), which algorithms,
-- and the claim names that IdP uses. One issuer may serve several tenants
-- (a government-wide IdP): the token's tenant claim then picks one.
CREATE TABLE trusted_issuers (
    tenant_id      integer NOT NULL REFERENCES tenants (id),
    issuer         text NOT NULL,
    algorithms     text[] NOT NULL,
    public_key     text,
    jwks_url       text,
    audience       text,            -- NULL: LRS_JWT_AUDIENCE
    tenant_claim   text NOT NULL DEFAULT 'tenant',
    scope_claim    text NOT NULL DEFAULT 'scope',
    subject_claim  text NOT NULL DEFAULT 'sub',
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, issuer),
    CHECK ((public_key IS NULL) <> (jwks_url IS NULL))
);
CREATE INDEX trusted_issuers_by_issuer ON trusted_issuers (issuer);

ALTER TABLE tenants
    -- Origins whose browser content may call the xAPI with this tenant's credentials.
    ADD COLUMN cors_origins text[] NOT NULL DEFAULT '{}',
    -- Per-credential request rate (tokens per second) and burst; NULL: no limit.
    ADD COLUMN rate_limit_per_second real CHECK (rate_limit_per_second > 0),
    ADD COLUMN rate_limit_burst integer CHECK (rate_limit_burst > 0);
