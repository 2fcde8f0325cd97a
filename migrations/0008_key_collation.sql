-- Byte order ("C") for the key columns of the write path's indexes.
--
-- These columns hold identifiers (verb and activity IRIs, agent keys,
-- credential keys) that every query compares for equality only, never
-- sorts or ranges over. For a deterministic collation equality is byte
-- equality whatever the collation, so nothing a query returns changes; but
-- every btree step of every index insert and look-up compared them through
-- the database's collation (strcoll; libc's C.UTF-8 in the embedded
-- server, often en_US in others), on IRIs of 40-80 bytes. With "C" it is
-- one memcmp: copying the same index rows into statement_activities cost
-- PostgreSQL 17% less CPU (docs/benchmarks.md, "Where the function's time goes,
-- and byte-order keys").
--
-- The indexes on these columns are rebuilt: on a large store this takes a
-- while and locks the tables, as any index build does.

ALTER TABLE statements
    ALTER COLUMN verb_id TYPE text COLLATE "C",
    ALTER COLUMN credential TYPE text COLLATE "C";
ALTER TABLE statement_agents ALTER COLUMN agent_key TYPE text COLLATE "C";
ALTER TABLE statement_activities ALTER COLUMN activity_id TYPE text COLLATE "C";
ALTER TABLE activities ALTER COLUMN activity_id TYPE text COLLATE "C";

-- A change of type drops the columns' statistics: gather them again, so the
-- read path is not planned blind until autovacuum comes round.
ANALYZE statements, statement_agents, statement_activities, activities;
