-- Services keep the staff accounts in memory (shared/staff/directory.py) to
-- check who may hold a case; every change to who an account is, what it may
-- do or whether it is active tells them to load the accounts again, whatever
-- wrote it (the CLI, the gateway, an operator's SQL). The notification is sent
-- on commit, so a reload sees the change.
CREATE FUNCTION users_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tousu_users', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_changed
    AFTER INSERT OR DELETE OR UPDATE OF username, role, department, active OR TRUNCATE
    ON users
    FOR EACH STATEMENT EXECUTE FUNCTION users_changed();
