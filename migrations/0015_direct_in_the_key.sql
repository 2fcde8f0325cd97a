-- statement_agents and statement_activities: `direct` in the primary key,
-- (tenant_id, key, direct, seq), instead of a partial index of the direct
-- rows beside a key without it.
--
-- The partial indexes (0004) let the plain `agent` and `activity` filters
-- walk only the direct rows, in seq order. With `direct` before seq in the
-- key, the key's own range of the direct rows does that, and a written row
-- goes into one btree, not two: a typical statement's two direct rows (its
-- actor and its object) cost two more btree inserts, of about 13, in
-- PostgreSQL's ~60 us of CPU a statement (bench/pg_write_cost.py --parts).
-- The related_agents / related_activities filters read both ranges of a key,
-- each in seq order, merged (lrs/store/statement_reader.py, _driver), and
-- probe a statement's row under both (direct IN (true, false)).
--
-- Rebuilding the keys reads both tables and holds an exclusive lock on them
-- meanwhile: see docs/operations.md, "Upgrading".

ALTER TABLE statement_agents DROP CONSTRAINT statement_agents_pkey,
    ADD PRIMARY KEY (tenant_id, agent_hash, direct, seq);
DROP INDEX statement_agents_direct;
ALTER TABLE statement_activities DROP CONSTRAINT statement_activities_pkey,
    ADD PRIMARY KEY (tenant_id, activity_hash, direct, seq);
DROP INDEX statement_activities_direct;
