-- Held activity definitions left out of a group commit.
--
-- A group of 100 of the load benchmark's statements brings 78 activities
-- with definitions, and once a platform's courses are known nearly all of
-- them are held and unchanged. lrs_write_statements looked up and compared
-- each one all the same: ~17 us of PostgreSQL's CPU a statement,
-- of ~100 (bench/pg_write_cost.py --parts; docs/benchmarks.md, "Session 27").
-- A worker now remembers which definitions it has seen held and leaves
-- those out (lrs/store/held_definitions.py). That is exact because of an
-- epoch per tenant:
-- - lrs_write_statements adds one to the tenant's epoch in any call that
--   changes a canonical definition (the DO UPDATE below; a new activity
--   changes no definition a worker could remember), under the tenant's
--   write lock; nothing else writes `activities`, and no row is removed;
-- - so a definition seen held when a call ended at epoch e is still held
--   while the epoch is e;
-- - a call that left definitions out names the epoch it relied on; if the
--   tenant's has moved on, the call writes nothing and says so (stored is
--   NULL, nothing found), and the caller sends all its definitions again.
-- Anything that changes a canonical definition in another way must add
-- one to the epoch too.
--
-- The epochs are a table of their own, not a column of tenants: an UPDATE
-- of tenants notifies every worker to reload its credentials (0006).
-- A tenant without a row is at epoch 0.

CREATE TABLE definition_epochs (
    tenant_id  integer PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    epoch      bigint NOT NULL
);

DROP FUNCTION lrs_write_statements(integer, text, bytea, jsonb, text, jsonb, jsonb, uuid[],
                                   text[], text[], bytea[], jsonb);

CREATE FUNCTION lrs_write_statements(
    p_tenant integer,
    -- per statement (see 0014): ids, payloads, and the other properties
    -- as JSON objects, a property left out when it has its default
    p_ids text, p_payloads bytea, p_statements jsonb, p_credential text,
    -- index rows: {"key": its hash, "at": position of the statement,
    -- "direct": true, or left out}
    p_agents jsonb, p_activities jsonb,
    -- ids the group's voiding statements target
    p_void_targets uuid[],
    -- attachment contents
    p_sha2_contents text[], p_content_types text[], p_contents bytea[],
    -- canonical definitions: [{"id", "expected" (held when the call's
    -- caller read it; left out: none), "definition" (left out: unchanged)}]
    p_definitions jsonb,
    -- the tenant's definitions epoch that p_definitions' omissions rely on
    -- (NULL: none left out)
    p_epoch bigint,
    OUT stored timestamptz, OUT existing_ids uuid[], OUT existing_payloads bytea[],
    OUT stale_ids text[], OUT stale_definitions text[],
    OUT voided integer, OUT attachment_bytes bigint,
    -- the tenant's definitions epoch when the call ends
    OUT epoch bigint)
LANGUAGE plpgsql
-- Planned once per connection (see 0007): the generic plans, with
-- sequential scans ruled out (tests/test_write_plans.py).
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off
AS $$
DECLARE
    ids uuid[] := string_to_array(p_ids, ',')::uuid[];
    seqs bigint[];
    voided_earlier uuid[];
    stored_text text;
    changed integer;
BEGIN
    PERFORM pg_advisory_xact_lock(21332, p_tenant);  -- WRITE_LOCK_SPACE "ST"
    -- The tenant must exist, and stays until this transaction ends (0013).
    PERFORM FROM tenants t WHERE t.id = p_tenant FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tenant % does not exist', p_tenant
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    epoch := coalesce((SELECT d.epoch FROM definition_epochs d WHERE d.tenant_id = p_tenant), 0);
    IF p_epoch IS NOT NULL AND p_epoch <> epoch THEN
        -- Definitions were left out on the strength of an epoch that has
        -- moved on: nothing is written, and the caller sends them all.
        voided := 0;
        attachment_bytes := 0;
        RETURN;
    END IF;

    SELECT array_agg(s.id), array_agg(s.payload) INTO existing_ids, existing_payloads
    FROM statements s WHERE s.tenant_id = p_tenant AND s.id = ANY (ids);
    -- (A scalar subquery per activity, OFFSET 0, `e.held <> ...` first:
    -- see 0010.)
    SELECT array_agg(e.activity_id), array_agg(e.held::text) INTO stale_ids, stale_definitions
    FROM (SELECT u.id AS activity_id, u.expected, u.definition,
                 (SELECT a.definition FROM activities a
                  WHERE a.tenant_id = p_tenant AND a.activity_id = u.id) AS held
          FROM jsonb_to_recordset(p_definitions) AS u (id text, expected jsonb, definition jsonb)
          OFFSET 0) AS e
    WHERE CASE WHEN e.expected IS NULL
               THEN e.held IS NOT NULL AND e.held <> e.definition
                    AND NOT lrs_definition_holds(e.held, e.definition)
               ELSE e.held IS DISTINCT FROM e.expected END;
    IF existing_ids IS NOT NULL OR stale_ids IS NOT NULL THEN
        voided := 0;
        attachment_bytes := 0;
        RETURN;
    END IF;

    -- IMM-05/IMM-06, one look-up for the group (see 0007, 0009).
    voided_earlier := ARRAY(SELECT v.ref_target FROM statements v
                            WHERE v.tenant_id = p_tenant AND v.ref_target IS NOT NULL
                              AND v.ref_target = ANY (ids) AND v.is_voiding);
    stored := greatest(date_trunc('milliseconds', clock_timestamp()),
                       (SELECT g.stored + interval '1 millisecond' FROM statement_groups g
                        WHERE g.tenant_id = p_tenant ORDER BY g.stored DESC LIMIT 1));
    seqs := ARRAY(SELECT n FROM (SELECT nextval('statements_seq') AS n
                                 FROM generate_series(1, cardinality(ids))) AS drawn
                  ORDER BY n);
    stored_text := '"' || to_char(stored AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"';

    INSERT INTO statements (tenant_id, id, seq, stored, verb_id, registration, ref_target,
                            is_voiding, voided, credential, attachment_sha2, payload)
    SELECT p_tenant, u.id, seqs[u.at], stored, u.verb, u.registration, u.ref_target,
           u.voids IS TRUE,
           u.voided IS TRUE OR (u.voids IS NOT TRUE AND u.id = ANY (voided_earlier)),
           coalesce(u.credential, p_credential), string_to_array(u.sha2, ' '),
           convert_to(u.payload
                      || CASE WHEN u.assign_timestamp THEN ',"timestamp":' || stored_text
                              ELSE '' END
                      || ',"stored":' || stored_text || '}', 'UTF8')
    FROM ROWS FROM (unnest(ids), string_to_table(convert_from(p_payloads, 'UTF8'), E'\n'),
                    jsonb_to_recordset(p_statements)
                    AS (verb text, registration uuid, ref_target uuid, voids boolean,
                        voided boolean, credential text, sha2 text, assign_timestamp boolean))
         WITH ORDINALITY AS u (id, payload, verb, registration, ref_target, voids, voided,
                               credential, sha2, assign_timestamp, at);
    INSERT INTO statement_groups (tenant_id, stored, last_seq)
    VALUES (p_tenant, stored, seqs[cardinality(seqs)]);

    INSERT INTO statement_agents (tenant_id, agent_hash, seq, direct)
    SELECT p_tenant, u.key, seqs[u.at], u.direct IS TRUE
    FROM jsonb_to_recordset(p_agents) AS u (key uuid, at integer, direct boolean);
    INSERT INTO statement_activities (tenant_id, activity_hash, seq, direct)
    SELECT p_tenant, u.key, seqs[u.at], u.direct IS TRUE
    FROM jsonb_to_recordset(p_activities) AS u (key uuid, at integer, direct boolean);

    UPDATE statements s SET voided = true
    WHERE s.tenant_id = p_tenant AND s.id = ANY (p_void_targets)
      AND NOT s.is_voiding AND NOT s.voided;
    GET DIAGNOSTICS voided = ROW_COUNT;

    WITH added AS (
        INSERT INTO attachments (tenant_id, sha2, content_type, content)
        SELECT p_tenant, u.h, u.t, u.c
        FROM unnest(p_sha2_contents, p_content_types, p_contents) AS u (h, t, c)
        ON CONFLICT (tenant_id, sha2) DO NOTHING
        RETURNING octet_length(content) AS bytes)
    SELECT coalesce(sum(bytes), 0) INTO attachment_bytes FROM added;

    INSERT INTO activities (tenant_id, activity_id, definition)
    SELECT p_tenant, u.id, u.definition
    FROM jsonb_to_recordset(p_definitions) AS u (id text, expected jsonb, definition jsonb)
    WHERE u.expected IS NULL AND u.definition IS NOT NULL
    ON CONFLICT (tenant_id, activity_id) DO NOTHING;  -- held already
    INSERT INTO activities (tenant_id, activity_id, definition)
    SELECT p_tenant, u.id, u.definition
    FROM jsonb_to_recordset(p_definitions) AS u (id text, expected jsonb, definition jsonb)
    WHERE u.expected IS NOT NULL AND u.definition IS NOT NULL
    ON CONFLICT (tenant_id, activity_id)
    DO UPDATE SET definition = EXCLUDED.definition, updated = now();
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed > 0 THEN
        INSERT INTO definition_epochs AS d (tenant_id, epoch) VALUES (p_tenant, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET epoch = d.epoch + 1
        RETURNING d.epoch INTO epoch;
    END IF;
END $$;
