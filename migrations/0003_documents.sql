-- Documents of the State, Activity Profile and Agent Profile resources
-- (xAPI 1.0.3 Communication 2.2-2.7, 2.0 LRS 4.1.6.2-4.1.6.6).
--
-- One table for the three kinds: they share every rule (content, ETag,
-- preconditions, merge) and differ only in which parts of the key they use.
-- Unused key parts are '' rather than NULL so that the whole key can be the
-- primary key (NULLs are distinct in a unique index):
--
--   kind              activity_id   agent_key   registration
--   state             the IRI       the IFI key  '' or the UUID (lowercase)
--   activity_profile  the IRI       ''           ''
--   agent_profile     ''            the IFI key  ''
--
-- agent_key is lrs.xapi.agents.agent_key of the `agent` parameter, the same
-- key the statement index uses. A State request without `registration`
-- addresses the documents stored without one (registration = ''), for single
-- documents, id lists and DELETE of all alike (REQUIREMENTS STATE-06).

CREATE TABLE documents (
    tenant_id     integer NOT NULL REFERENCES tenants (id),
    kind          text NOT NULL CHECK (kind IN ('state', 'activity_profile', 'agent_profile')),
    activity_id   text NOT NULL,
    agent_key     text NOT NULL,
    registration  text NOT NULL,
    doc_id        text NOT NULL,     -- stateId or profileId
    content_type  text NOT NULL,     -- as the client sent it, returned unchanged
    content       bytea NOT NULL,
    etag          text NOT NULL,     -- hex SHA-1 of content, unquoted
    updated       timestamptz NOT NULL,
    -- The id lists (`since`) and DELETE of all state scan a prefix of this key.
    PRIMARY KEY (tenant_id, kind, activity_id, agent_key, registration, doc_id)
);
