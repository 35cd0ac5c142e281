-------------------------------------------------------------------------------
-- Secrets
--
-- The Agora certificates, the TURN secret, the JWT secret, the pseudonym key
-- and the webhooks' signing secrets: readable by no application role, written
-- and checked through these functions only.
-------------------------------------------------------------------------------

CREATE TABLE pgcall.secret (
    name       text PRIMARY KEY
               CHECK (name IN ('agora_app_certificate', 'agora_app_certificate_secondary', 'turn_secret',
                               'pseudonym_key', 'jwt_secret')
                      OR name ~ '^webhook:[0-9]+$'),
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE pgcall.secret IS
'Agora certificates, the TURN secret, the pseudonym key, the JWT secret of the embedded bridge and each webhook endpoint''s signing secret (webhook:<id>).  No role but a superuser can read it: write it with pgcall.set_secret().  Not included in pg_dump output: set secrets again after a restore.';

REVOKE ALL ON pgcall.secret FROM PUBLIC;

-- No statistics of the values: pg_statistic would hold them as most common
-- values, and members of pg_read_all_data can read pg_statistic.
ALTER TABLE pgcall.secret ALTER COLUMN value SET STATISTICS 0;

ALTER TABLE pgcall.secret ENABLE ROW LEVEL SECURITY;

ALTER TABLE pgcall.secret FORCE ROW LEVEL SECURITY;

CREATE FUNCTION pgcall.secret_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'pgcall_secret_changed'
LANGUAGE C;

COMMENT ON FUNCTION pgcall.secret_changed() IS
'Trigger: makes every session reload pgcall secrets after a change.';

CREATE TRIGGER secret_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcall.secret
    FOR EACH STATEMENT EXECUTE FUNCTION pgcall.secret_changed();

CREATE FUNCTION pgcall.set_secret(name text, value text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgcall_set_secret'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.set_secret(text, text) IS
'Store a secret (agora_app_certificate, agora_app_certificate_secondary, turn_secret, pseudonym_key or jwt_secret); NULL removes it.  Superusers only.  The value is never shown again, but it is part of this statement: a failed statement reaches the server log (log_min_error_statement), and pg_stat_statements keeps the text of a DO block.  Prefer pgcall.set_secret_from_file(), or pass the value as a bind parameter with log_statement off.';

CREATE FUNCTION pgcall.set_secret_from_file(name text, path text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgcall_set_secret_from_file'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.set_secret_from_file(text, text) IS
'Store the secret held in a file on the database server (absolute path, one line, a final newline dropped), so the value is in no statement text, parameter, log line or pg_stat_statements entry.  Superusers only.  Delete the file afterwards.';

CREATE FUNCTION pgcall.secret_is_set(name text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_secret_is_set'
LANGUAGE C STRICT STABLE;

COMMENT ON FUNCTION pgcall.secret_is_set(text) IS
'Whether the named secret has a value.  Reveals nothing about the value.';

GRANT EXECUTE ON FUNCTION pgcall.secret_is_set(text) TO pgcall_backend, pgcall_admin;
