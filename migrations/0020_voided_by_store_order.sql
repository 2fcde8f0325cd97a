-- The voided statements, in store order per tenant.
--
-- A listing driven by an agent's or activity's index rows read each row's
-- statement from the heap to leave out the voided ones: past a stretch of
-- voided matches (a learner's statements voided in bulk), every page read
-- them all again (fuzz round 5: 20,000 voided, 60-150 ms a page against
-- 4-8 ms). With this index the walk leaves them out by an index-only probe
-- before reading the statement (lrs/store/statement_reader.py, _matching):
-- about a third of the cost. Voiding is rare, so the index stays small.
CREATE INDEX statements_voided ON statements (tenant_id, seq) WHERE voided;
