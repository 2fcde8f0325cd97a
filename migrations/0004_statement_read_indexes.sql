-- Indexes and statistics for the statement read path
-- (lrs/store/statement_reader.py; measured in bench/, docs/benchmarks.md).

-- The plain `agent` and `activity` filters match only `direct` rows. With
-- these, a page of them is read index-only, in seq order, without visiting
-- the index table's heap to skip related rows: a course is the object of a
-- few of its statements and a parent or grouping of all the others.
CREATE INDEX statement_agents_direct ON statement_agents (tenant_id, agent_key, seq)
    WHERE direct;
CREATE INDEX statement_activities_direct ON statement_activities (tenant_id, activity_id, seq)
    WHERE direct;

-- Agent keys and activity ids are very unevenly used: the authority of a
-- platform's credential is on every statement, a course id on every
-- statement of the course, a learner on a few. With the default sample the
-- planner took a course with 3,656 index rows for one with 217. A larger
-- sample gives it more most-common values and a better distinct count.
ALTER TABLE statement_agents ALTER COLUMN agent_key SET STATISTICS 1000;
ALTER TABLE statement_activities ALTER COLUMN activity_id SET STATISTICS 1000;
ALTER TABLE statements ALTER COLUMN registration SET STATISTICS 1000;
ANALYZE statement_agents, statement_activities, statements;
