-- Every change to who may do what (credentials, tenants' access settings,
-- trusted issuers), by the LRS or by hand, tells the LRS processes at once:
-- they cache credential look-ups and empty that cache on this notification
-- (lrs/store/access_cache.py). Statement-level: one notification per change.
CREATE FUNCTION lrs_access_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lrs_access', TG_TABLE_NAME);
    RETURN NULL;
END $$;

CREATE TRIGGER credentials_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON credentials
    FOR EACH STATEMENT EXECUTE FUNCTION lrs_access_changed();
CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION lrs_access_changed();
CREATE TRIGGER trusted_issuers_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON trusted_issuers
    FOR EACH STATEMENT EXECUTE FUNCTION lrs_access_changed();
