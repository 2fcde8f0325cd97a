-- statements.tenant_id without a foreign key: the tenant is checked once
-- per group commit instead of once per statement row.
--
-- The foreign key ran its check (an SPI query taking FOR KEY SHARE on the
-- tenant) for every inserted statement: 5-7 us of the backend's CPU a
-- statement, of ~60 (docs/benchmarks.md, "Session 21"). lrs_write_statements,
-- the only writer of statements, now takes that lock once, and a trigger on
-- tenants refuses what the key refused: deleting a tenant, or changing its
-- id, while it has statements. A DELETE racing a write waits for the write's
-- lock, then sees its statements.
--
-- lrs_write_statements is 0010's, with the check after the write lock.

ALTER TABLE statements DROP CONSTRAINT statements_tenant_id_fkey;

CREATE FUNCTION lrs_tenant_keeps_statements() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR NEW.id <> OLD.id)
       AND EXISTS (SELECT FROM statements s WHERE s.tenant_id = OLD.id) THEN
        RAISE EXCEPTION 'tenant % still has statements', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER tenants_keep_statements BEFORE DELETE OR UPDATE OF id ON tenants
    FOR EACH ROW EXECUTE FUNCTION lrs_tenant_keeps_statements();

CREATE OR REPLACE FUNCTION lrs_write_statements(
    p_tenant integer,
    -- per statement: its id and payload, and the rest as JSON objects
    -- (jsonb_to_recordset below): one value to send instead of an array per
    -- column, whose every element the client library checks and encodes
    p_ids uuid[], p_payloads bytea[], p_statements jsonb,
    -- index rows: {"key": its hash, "at": position of the statement, "direct"}
    p_agents jsonb, p_activities jsonb,
    -- ids the group's voiding statements target
    p_void_targets uuid[],
    -- attachment contents
    p_sha2_contents text[], p_content_types text[], p_contents bytea[],
    -- canonical definitions (see 1. above)
    p_definition_ids text[], p_expected text[], p_definitions text[],
    OUT stored timestamptz, OUT existing_ids uuid[], OUT existing_payloads bytea[],
    OUT stale_ids text[], OUT stale_definitions text[],
    OUT voided integer, OUT attachment_bytes bigint)
LANGUAGE plpgsql
-- Planned once per connection. With the default, PostgreSQL planned every
-- statement of the function afresh on every call (the generic plans'
-- estimates looked worse than the custom ones): 0.7 ms of server CPU for a
-- one-statement group, 0.35 ms with generic plans. A plan kept that long
-- must not be one made while the tables were empty, when a sequential scan
-- was cheapest: every statement here is a look-up by key, so sequential
-- scans are ruled out (tests/test_write_plans.py).
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off
AS $$
DECLARE
    seqs bigint[];
    voided_earlier uuid[];
    stored_json bytea;
BEGIN
    PERFORM pg_advisory_xact_lock(21332, p_tenant);  -- WRITE_LOCK_SPACE "ST"
    -- The tenant must exist (what the foreign key checked per row), and
    -- stays until this transaction ends: FOR KEY SHARE makes a concurrent
    -- DELETE of it wait, then find these statements (tenants_keep_statements).
    -- Taken under the write lock, so one tenant's writers never share it.
    PERFORM FROM tenants t WHERE t.id = p_tenant FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tenant % does not exist', p_tenant
            USING ERRCODE = 'foreign_key_violation';
    END IF;

    SELECT array_agg(s.id), array_agg(s.payload) INTO existing_ids, existing_payloads
    FROM statements s WHERE s.tenant_id = p_tenant AND s.id = ANY (p_ids);
    -- (A scalar subquery per activity: a join was planned as a hash of the
    -- tenant's every activity, call after call. OFFSET 0 keeps the subquery
    -- from being flattened, which would repeat the look-up wherever `held`
    -- is used: twice a row, three times for one handed back.)
    SELECT array_agg(e.activity_id), array_agg(e.held::text) INTO stale_ids, stale_definitions
    FROM (SELECT u.activity_id, u.expected, u.definition,
                 (SELECT a.definition FROM activities a
                  WHERE a.tenant_id = p_tenant AND a.activity_id = u.activity_id) AS held
          FROM unnest(p_definition_ids, p_expected, p_definitions)
               AS u (activity_id, expected, definition)
          OFFSET 0) AS e
    -- (`e.held <> ...` first: a definition equal to the held one changes
    -- nothing, and most are, as a platform names its courses over and over.
    -- lrs_definition_holds cannot be inlined, having subqueries, and costs a
    -- call of the SQL-function executor.)
    WHERE CASE WHEN e.expected IS NULL
               THEN e.held IS NOT NULL AND e.held <> e.definition::jsonb
                    AND NOT lrs_definition_holds(e.held, e.definition::jsonb)
               ELSE e.held IS DISTINCT FROM e.expected::jsonb END;
    IF existing_ids IS NOT NULL OR stale_ids IS NOT NULL THEN
        voided := 0;
        attachment_bytes := 0;
        RETURN;
    END IF;

    -- IMM-05: a statement is voided whichever arrives first, it or the
    -- voiding statement; a voiding statement is never voided (IMM-06).
    -- One look-up for the group (a correlated one per statement was planned
    -- as a hash of every voiding statement of the tenant, call after call).
    -- (`IS NOT NULL` spelled out: a generic plan cannot infer it from
    -- `= ANY` of an array parameter, and statements_refs is partial on it.)
    voided_earlier := ARRAY(SELECT v.ref_target FROM statements v
                            WHERE v.tenant_id = p_tenant AND v.ref_target IS NOT NULL
                              AND v.ref_target = ANY (p_ids) AND v.is_voiding);
    stored := greatest(date_trunc('milliseconds', clock_timestamp()),
                       (SELECT s.stored + interval '1 millisecond' FROM statements s
                        WHERE s.tenant_id = p_tenant ORDER BY s.seq DESC LIMIT 1));
    seqs := ARRAY(SELECT n FROM (SELECT nextval('statements_seq') AS n
                                 FROM generate_series(1, cardinality(p_ids))) AS drawn
                  ORDER BY n);
    stored_json := convert_to('"' || to_char(stored AT TIME ZONE 'UTC',
                                             'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"', 'UTF8');

    INSERT INTO statements (tenant_id, id, seq, stored, verb_id, registration, ref_target,
                            is_voiding, voided, credential, attachment_sha2, payload)
    SELECT p_tenant, u.id, seqs[u.at], stored, u.verb, u.registration, u.ref_target,
           u.is_voiding,
           u.voided OR (NOT u.is_voiding AND u.id = ANY (voided_earlier)),
           u.credential, CASE WHEN u.sha2 = '' THEN NULL ELSE string_to_array(u.sha2, ' ') END,
           substring(u.payload FROM 1 FOR octet_length(u.payload) - 1)
           || CASE WHEN u.assign_timestamp
                   THEN ',"timestamp":'::bytea || stored_json ELSE ''::bytea END
           || ',"stored":'::bytea || stored_json || '}'::bytea
    FROM ROWS FROM (unnest(p_ids), unnest(p_payloads), jsonb_to_recordset(p_statements)
                    AS (verb text, registration uuid, ref_target uuid, is_voiding boolean,
                        voided boolean, credential text, sha2 text, assign_timestamp boolean))
         WITH ORDINALITY AS u (id, payload, verb, registration, ref_target, is_voiding, voided,
                               credential, sha2, assign_timestamp, at);

    INSERT INTO statement_agents (tenant_id, agent_hash, seq, direct)
    SELECT p_tenant, u.key, seqs[u.at], u.direct
    FROM jsonb_to_recordset(p_agents) AS u (key uuid, at integer, direct boolean);
    INSERT INTO statement_activities (tenant_id, activity_hash, seq, direct)
    SELECT p_tenant, u.key, seqs[u.at], u.direct
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
    SELECT p_tenant, u.a, u.d::jsonb
    FROM unnest(p_definition_ids, p_expected, p_definitions) AS u (a, e, d)
    WHERE u.e IS NULL AND u.d IS NOT NULL
    ON CONFLICT (tenant_id, activity_id) DO NOTHING;  -- held already
    INSERT INTO activities (tenant_id, activity_id, definition)
    SELECT p_tenant, u.a, u.d::jsonb
    FROM unnest(p_definition_ids, p_expected, p_definitions) AS u (a, e, d)
    WHERE u.e IS NOT NULL AND u.d IS NOT NULL
    ON CONFLICT (tenant_id, activity_id)
    DO UPDATE SET definition = EXCLUDED.definition, updated = now();
END $$;
