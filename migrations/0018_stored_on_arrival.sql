-- `stored` as the time a request arrived, where that is safe.
--
-- lrs_write_statements drew `stored` from the clock under the tenants'
-- write locks, after the request had been read, validated and queued for
-- its group commit, so a statement's `stored` was closer to its answer than
-- to its arrival. A client that reads its clock after the answer and asks
-- for `until` that instant less the time its first statement took to be
-- stored (ADL's 1.0.3 suite, XAPI-00162) then missed the statement about
-- half the time (conformance/README.md, "ADL's suite as an outside judge").
--
-- Now the caller passes when its newest request arrived (p_arrived), and
-- `stored` is that instant, but never more than lrs_stored_lead() before
-- the clock under the locks, never after it, and as before past each
-- tenant's last group. Consistent-Through stays truthful
-- (lrs/store/consistency.py): a reader that finds no writer holding the
-- tenant's lock answers the clock less lrs_stored_lead() (or the newest
-- stored statement, if later), and every later writer takes the lock later,
-- so draws a `stored` past that answer. Otherwise this is 0017's function.

-- How long before the clock under the locks a `stored` may be: longer than
-- a request usually takes from arriving to its group commit, and what
-- Consistent-Through trails the clock by when no one is writing.
CREATE FUNCTION lrs_stored_lead() RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT interval '50 milliseconds' $$;

DROP FUNCTION lrs_write_statements(integer[], text, bytea, jsonb, text, integer[], jsonb, jsonb,
                                   integer[], uuid[], integer[], text[], text[], bytea[], jsonb,
                                   bigint[]);

CREATE FUNCTION lrs_write_statements(
    -- the call's tenants, each with at least one statement: the first one
    -- waited for, the others only tried
    p_tenants integer[],
    -- per statement (see 0014): ids, payloads, and the other properties
    -- as JSON objects, a property left out when it has its default
    p_ids text, p_payloads bytea, p_statements jsonb, p_credential text,
    -- per statement: its tenant
    p_at_tenants integer[],
    -- index rows: {"key": its hash, "at": position of the statement,
    -- "direct": true, or left out}
    p_agents jsonb, p_activities jsonb,
    -- the statements the call's voiding statements target: tenant and id
    p_void_tenants integer[], p_void_targets uuid[],
    -- attachment contents, with their tenants
    p_content_tenants integer[], p_sha2_contents text[], p_content_types text[],
    p_contents bytea[],
    -- canonical definitions: [{"tenant", "id", "expected" (held when the
    -- call's caller read it; left out: none), "definition" (left out:
    -- unchanged)}]
    p_definitions jsonb,
    -- per tenant, the definitions epoch that p_definitions' omissions rely
    -- on (NULL: none left out; see 0016)
    p_epochs bigint[],
    -- when the newest of the call's requests arrived (NULL: now)
    p_arrived timestamptz,
    OUT stored timestamptz,
    OUT existing_tenants integer[], OUT existing_ids uuid[], OUT existing_payloads bytea[],
    OUT stale_tenants integer[], OUT stale_ids text[], OUT stale_definitions text[],
    -- per tenant id (as text), where not 0
    OUT voided jsonb, OUT attachment_bytes jsonb,
    -- per tenant, its definitions epoch when the call ends
    OUT epochs bigint[],
    -- tenants whose lock another transaction held: nothing was written
    OUT busy_tenants integer[])
LANGUAGE plpgsql
-- Planned once per connection (see 0007): the generic plans, with
-- sequential scans ruled out (tests/test_write_plans.py).
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off
AS $$
DECLARE
    ids uuid[] := string_to_array(p_ids, ',')::uuid[];
    tenant integer;
    tenant_ids uuid[];
    found_ids uuid[];
    found_payloads bytea[];
    locked integer;
    seqs bigint[];
    voided_tenants integer[];
    voided_earlier uuid[];
    stored_text text;
    changed integer;
    now_under_lock timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(21332, p_tenants[1]);  -- WRITE_LOCK_SPACE "ST"
    busy_tenants := ARRAY(SELECT x.t FROM unnest(p_tenants[2:]) AS x (t)
                          WHERE NOT pg_try_advisory_xact_lock(21332, x.t));
    IF cardinality(busy_tenants) > 0 THEN
        RETURN;
    END IF;
    -- The tenants must exist, and stay until this transaction ends (0013).
    PERFORM FROM tenants t WHERE t.id = ANY (p_tenants) FOR KEY SHARE;
    GET DIAGNOSTICS locked = ROW_COUNT;
    IF locked <> cardinality(p_tenants) THEN
        RAISE EXCEPTION 'a tenant of % does not exist', p_tenants
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    epochs := ARRAY(SELECT coalesce((SELECT d.epoch FROM definition_epochs d
                                     WHERE d.tenant_id = x.t), 0)
                    FROM unnest(p_tenants) WITH ORDINALITY AS x (t, o) ORDER BY x.o);
    IF EXISTS (SELECT FROM unnest(p_epochs, epochs) AS e (relied_on, now)
               WHERE e.relied_on <> e.now) THEN
        -- Definitions were left out on the strength of an epoch that has
        -- moved on: nothing is written, and the caller sends them all.
        RETURN;
    END IF;

    -- Per tenant, its ids: one index probe an id (`tenant_id = ANY (...)
    -- AND id = ANY (...)` probed every tenant for every id; and as a join
    -- of the pairs with statements, even LATERAL ... LIMIT 1, the generic
    -- plan made on an empty table probed by tenant alone and read all of
    -- the tenant's statements for each).
    existing_tenants := '{}';
    existing_ids := '{}';
    existing_payloads := '{}';
    voided_tenants := '{}';
    voided_earlier := '{}';
    FOREACH tenant IN ARRAY p_tenants LOOP
        tenant_ids := CASE WHEN cardinality(p_tenants) = 1 THEN ids
                           ELSE ARRAY(SELECT u.id FROM unnest(p_at_tenants, ids) AS u (t, id)
                                      WHERE u.t = tenant) END;
        SELECT array_agg(s.id), array_agg(s.payload) INTO found_ids, found_payloads
        FROM statements s WHERE s.tenant_id = tenant AND s.id = ANY (tenant_ids);
        IF found_ids IS NOT NULL THEN
            existing_tenants := existing_tenants
                                || array_fill(tenant, ARRAY[cardinality(found_ids)]);
            existing_ids := existing_ids || found_ids;
            existing_payloads := existing_payloads || found_payloads;
        END IF;
        -- IMM-05/IMM-06 (see 0007, 0009): statements voided before they came.
        found_ids := ARRAY(SELECT v.ref_target FROM statements v
                           WHERE v.tenant_id = tenant AND v.ref_target IS NOT NULL
                             AND v.ref_target = ANY (tenant_ids) AND v.is_voiding);
        voided_tenants := voided_tenants || array_fill(tenant, ARRAY[cardinality(found_ids)]);
        voided_earlier := voided_earlier || found_ids;
    END LOOP;
    -- (A scalar subquery per activity, OFFSET 0, `e.held <> ...` first:
    -- see 0010.)
    SELECT array_agg(e.tenant), array_agg(e.activity_id), array_agg(e.held::text)
    INTO stale_tenants, stale_ids, stale_definitions
    FROM (SELECT u.tenant, u.id AS activity_id, u.expected, u.definition,
                 (SELECT a.definition FROM activities a
                  WHERE a.tenant_id = u.tenant AND a.activity_id = u.id) AS held
          FROM jsonb_to_recordset(p_definitions)
               AS u (tenant integer, id text, expected jsonb, definition jsonb)
          OFFSET 0) AS e
    WHERE CASE WHEN e.expected IS NULL
               THEN e.held IS NOT NULL AND e.held <> e.definition
                    AND NOT lrs_definition_holds(e.held, e.definition)
               ELSE e.held IS DISTINCT FROM e.expected END;
    IF cardinality(existing_ids) > 0 OR stale_ids IS NOT NULL THEN
        RETURN;
    END IF;

    now_under_lock := clock_timestamp();
    stored := greatest(date_trunc('milliseconds',
                                  greatest(least(coalesce(p_arrived, now_under_lock),
                                                 now_under_lock),
                                           now_under_lock - lrs_stored_lead())),
                       (SELECT max(g.stored) + interval '1 millisecond'
                        FROM unnest(p_tenants) AS x (t),
                             LATERAL (SELECT g.stored FROM statement_groups g
                                      WHERE g.tenant_id = x.t
                                      ORDER BY g.stored DESC LIMIT 1) AS g));
    seqs := ARRAY(SELECT n FROM (SELECT nextval('statements_seq') AS n
                                 FROM generate_series(1, cardinality(ids))) AS drawn
                  ORDER BY n);
    stored_text := '"' || to_char(stored AT TIME ZONE 'UTC',
                                  'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"';

    INSERT INTO statements (tenant_id, id, seq, stored, verb_id, registration, ref_target,
                            is_voiding, voided, credential, attachment_sha2, payload)
    SELECT u.tenant, u.id, seqs[u.at], stored, u.verb, u.registration, u.ref_target,
           u.voids IS TRUE,
           u.voided IS TRUE
           OR (u.voids IS NOT TRUE AND cardinality(voided_earlier) > 0
               AND EXISTS (SELECT FROM unnest(voided_tenants, voided_earlier) AS v (t, id)
                           WHERE v.t = u.tenant AND v.id = u.id)),
           coalesce(u.credential, p_credential), string_to_array(u.sha2, ' '),
           convert_to(u.payload
                      || CASE WHEN u.assign_timestamp THEN ',"timestamp":' || stored_text
                              ELSE '' END
                      || ',"stored":' || stored_text || '}', 'UTF8')
    FROM ROWS FROM (unnest(p_at_tenants), unnest(ids),
                    string_to_table(convert_from(p_payloads, 'UTF8'), E'\n'),
                    jsonb_to_recordset(p_statements)
                    AS (verb text, registration uuid, ref_target uuid, voids boolean,
                        voided boolean, credential text, sha2 text, assign_timestamp boolean))
         WITH ORDINALITY AS u (tenant, id, payload, verb, registration, ref_target, voids,
                               voided, credential, sha2, assign_timestamp, at);
    -- Each tenant's greatest seq: its statements' positions ascend with
    -- their seqs.
    INSERT INTO statement_groups (tenant_id, stored, last_seq)
    SELECT u.t, stored, seqs[max(u.at)]
    FROM unnest(p_at_tenants) WITH ORDINALITY AS u (t, at) GROUP BY u.t;

    INSERT INTO statement_agents (tenant_id, agent_hash, seq, direct)
    SELECT p_at_tenants[u.at], u.key, seqs[u.at], u.direct IS TRUE
    FROM jsonb_to_recordset(p_agents) AS u (key uuid, at integer, direct boolean);
    INSERT INTO statement_activities (tenant_id, activity_hash, seq, direct)
    SELECT p_at_tenants[u.at], u.key, seqs[u.at], u.direct IS TRUE
    FROM jsonb_to_recordset(p_activities) AS u (key uuid, at integer, direct boolean);

    IF cardinality(p_void_targets) > 0 THEN
        WITH marked AS (
            -- (Found as `existing_ids` above, for the same reason.)
            UPDATE statements s SET voided = true
            WHERE s.tenant_id = ANY (p_void_tenants) AND s.id = ANY (p_void_targets)
              AND NOT s.is_voiding AND NOT s.voided
              AND EXISTS (SELECT FROM unnest(p_void_tenants, p_void_targets) AS v (t, id)
                          WHERE v.t = s.tenant_id AND v.id = s.id)
            RETURNING s.tenant_id)
        SELECT jsonb_object_agg(c.tenant_id, c.n) INTO voided
        FROM (SELECT m.tenant_id, count(*) AS n FROM marked m GROUP BY m.tenant_id) AS c;
    END IF;

    IF cardinality(p_contents) > 0 THEN
        WITH added AS (
            INSERT INTO attachments (tenant_id, sha2, content_type, content)
            SELECT u.t, u.h, u.ct, u.c
            FROM unnest(p_content_tenants, p_sha2_contents, p_content_types, p_contents)
                 AS u (t, h, ct, c)
            ON CONFLICT (tenant_id, sha2) DO NOTHING
            RETURNING tenant_id, octet_length(content) AS bytes)
        SELECT jsonb_object_agg(c.tenant_id, c.n) INTO attachment_bytes
        FROM (SELECT a.tenant_id, sum(a.bytes) AS n FROM added a GROUP BY a.tenant_id) AS c;
    END IF;

    INSERT INTO activities (tenant_id, activity_id, definition)
    SELECT u.tenant, u.id, u.definition
    FROM jsonb_to_recordset(p_definitions)
         AS u (tenant integer, id text, expected jsonb, definition jsonb)
    WHERE u.expected IS NULL AND u.definition IS NOT NULL
    ON CONFLICT (tenant_id, activity_id) DO NOTHING;  -- held already
    WITH updated AS (
        INSERT INTO activities (tenant_id, activity_id, definition)
        SELECT u.tenant, u.id, u.definition
        FROM jsonb_to_recordset(p_definitions)
             AS u (tenant integer, id text, expected jsonb, definition jsonb)
        WHERE u.expected IS NOT NULL AND u.definition IS NOT NULL
        ON CONFLICT (tenant_id, activity_id)
        DO UPDATE SET definition = EXCLUDED.definition, updated = now()
        RETURNING tenant_id)
    INSERT INTO definition_epochs AS d (tenant_id, epoch)
    SELECT DISTINCT c.tenant_id, 1 FROM updated c
    ON CONFLICT (tenant_id) DO UPDATE SET epoch = d.epoch + 1;
    GET DIAGNOSTICS changed = ROW_COUNT;
    IF changed > 0 THEN
        epochs := ARRAY(SELECT coalesce((SELECT d.epoch FROM definition_epochs d
                                         WHERE d.tenant_id = x.t), 0)
                        FROM unnest(p_tenants) WITH ORDINALITY AS x (t, o) ORDER BY x.o);
    END IF;
END $$;
