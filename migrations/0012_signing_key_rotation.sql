-- Rotating the LRS's signing key.
--
-- The key signs the LRS's own Bearer tokens and the `more` cursors of
-- statement pages. Anyone holding it can mint a token for any agency with
-- any scope, and it is in every backup of this database: an operator who
-- loses one needs a new key, and every process to use it at once.
-- `lrs token rotate-key` and POST /admin/signing-key/rotate replace it;
-- this trigger tells the LRS processes (migration 0006), which look the key
-- up through their access cache, so the old one stops working on the next
-- request, without a restart.
CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION lrs_access_changed();
