-- Statements and the narrow index tables the read path filters on.
--
-- Store order: `seq` comes from one sequence, but it is drawn while the
-- writer holds its tenant's advisory lock and `stored` is taken under the
-- same lock, strictly increasing per tenant. So within a tenant, seq order
-- is stored order is commit order: a reader paging by seq never misses a
-- statement that commits later with a smaller seq (there is none).

CREATE SEQUENCE statements_seq AS bigint CACHE 1;

CREATE TABLE statements (
    tenant_id        integer NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL,
    seq              bigint NOT NULL,
    stored           timestamptz NOT NULL,
    verb_id          text NOT NULL,
    registration     uuid,
    ref_target       uuid,              -- the object's id when it is a StatementRef
    is_voiding       boolean NOT NULL,  -- verb voided with a StatementRef object
    voided           boolean NOT NULL DEFAULT false,
    credential       text NOT NULL,     -- who stored it, for statements/read/mine
    attachment_sha2  text[],            -- attachment contents to send with attachments=true
    payload          bytea NOT NULL,    -- the statement as returned, JSON (UTF-8)
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX statements_order ON statements (tenant_id, seq);
CREATE INDEX statements_stored ON statements (tenant_id, stored, seq);
CREATE INDEX statements_verb ON statements (tenant_id, verb_id, seq);
CREATE INDEX statements_registration ON statements (tenant_id, registration, seq)
    WHERE registration IS NOT NULL;
-- Statements that point at another: the StatementRef filter rule and voiding.
CREATE INDEX statements_refs ON statements (tenant_id, ref_target)
    WHERE ref_target IS NOT NULL;
CREATE INDEX statements_referrers ON statements (tenant_id, seq)
    WHERE ref_target IS NOT NULL;
CREATE INDEX statements_credential ON statements (tenant_id, credential, seq);

-- One row per statement and agent (by IFI key) it relates to. `direct`: the
-- agent is the actor or object (or a member of that group), which the
-- `agent` filter matches; the others match only with related_agents=true.
CREATE TABLE statement_agents (
    tenant_id  integer NOT NULL,
    agent_key  text NOT NULL,
    seq        bigint NOT NULL,
    direct     boolean NOT NULL,
    PRIMARY KEY (tenant_id, agent_key, seq)
);

-- Likewise for activities: `direct` when the statement's object is it.
CREATE TABLE statement_activities (
    tenant_id    integer NOT NULL,
    activity_id  text NOT NULL,
    seq          bigint NOT NULL,
    direct       boolean NOT NULL,
    PRIMARY KEY (tenant_id, activity_id, seq)
);

-- The canonical Activity definitions, merged from the statements that
-- carried them (by credentials holding the `define` scope).
CREATE TABLE activities (
    tenant_id    integer NOT NULL REFERENCES tenants (id),
    activity_id  text NOT NULL,
    definition   jsonb NOT NULL,
    updated      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, activity_id)
);

-- Attachment contents, once per tenant and hash.
CREATE TABLE attachments (
    tenant_id     integer NOT NULL REFERENCES tenants (id),
    sha2          text NOT NULL,
    content_type  text NOT NULL,
    content       bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sha2)
);
