-- pgcall 0.1.0: install script.
--
-- Everything is schema-qualified, so the caller's search_path changes
-- nothing; SECURITY DEFINER functions pin their own search_path.

\echo Use "CREATE EXTENSION pgcall" to load this file. \quit

-------------------------------------------------------------------------------
-- Roles
--
-- Roles are global to the cluster, so an install in a second database finds
-- them already there.  Grant them to your own roles (or name them in the
-- "role" claim of your JWTs):
--   pgcall_anon     requests without a JWT: nothing beyond health checks
--   pgcall_user     an end user, identified by the JWT sub claim
--   pgcall_backend  a trusted backend: may act for any user
--                   (SET LOCAL pgcall.user_id) and mint raw tokens
--   pgcall_admin    operators: analytics and moderation across all calls
-------------------------------------------------------------------------------

DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['pgcall_anon', 'pgcall_user', 'pgcall_backend', 'pgcall_admin'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;

GRANT USAGE ON SCHEMA pgcall TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;
GRANT SET ON PARAMETER pgcall.user_id TO pgcall_backend;

-------------------------------------------------------------------------------
-- Errors
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.error_codes(
    OUT code text, OUT http_status integer, OUT name text, OUT description text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'error_codes'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.error_codes() IS
'Every SQLSTATE pgcall raises: code, the HTTP status the bridge answers with (the three digits after P), a name and what it means.';

-------------------------------------------------------------------------------
-- Secrets
-------------------------------------------------------------------------------

CREATE TABLE pgcall.secret (
    name       text PRIMARY KEY
               CHECK (name IN ('agora_app_certificate', 'agora_app_certificate_secondary', 'turn_secret')),
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE pgcall.secret IS
'Agora certificates and the TURN secret.  No role but a superuser can read it: write it with pgcall.set_secret().  Not included in pg_dump output: set secrets again after a restore.';

REVOKE ALL ON pgcall.secret FROM PUBLIC;
ALTER TABLE pgcall.secret ENABLE ROW LEVEL SECURITY;
ALTER TABLE pgcall.secret FORCE ROW LEVEL SECURITY;

CREATE FUNCTION pgcall.secret_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'secret_changed'
LANGUAGE C;

COMMENT ON FUNCTION pgcall.secret_changed() IS
'Trigger: makes every session reload pgcall secrets after a change.';

CREATE TRIGGER secret_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgcall.secret
    FOR EACH STATEMENT EXECUTE FUNCTION pgcall.secret_changed();

CREATE FUNCTION pgcall.set_secret(name text, value text)
RETURNS void
AS 'MODULE_PATHNAME', 'set_secret'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.set_secret(text, text) IS
'Store a secret (agora_app_certificate, agora_app_certificate_secondary or turn_secret); NULL removes it.  Superusers only.  The value is never shown again.';

CREATE FUNCTION pgcall.secret_is_set(name text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'secret_is_set'
LANGUAGE C STRICT STABLE;

COMMENT ON FUNCTION pgcall.secret_is_set(text) IS
'Whether the named secret has a value.  Reveals nothing about the value.';

-------------------------------------------------------------------------------
-- Identity
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.current_user_id()
RETURNS text
AS 'MODULE_PATHNAME', 'current_user_id'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.current_user_id() IS
'The user pgcall acts for: pgcall.user_id if a trusted backend set it, else the sub claim of request.jwt.claims, else NULL.';

-------------------------------------------------------------------------------
-- TURN
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.turn_credentials(user_id text DEFAULT NULL, ttl integer DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'turn_credentials'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.turn_credentials(text, integer) IS
'TURN REST credentials (coturn use-auth-secret) for user_id, by default the current user, valid for ttl seconds (default pgcall.turn_ttl).  Returns {username, credential, ttl, expires_at, uris, iceServers}; pass iceServers to RTCPeerConnection.';

-------------------------------------------------------------------------------
-- RPC
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.rpc(
    schema text, fn text, args jsonb DEFAULT '{}', single boolean DEFAULT false,
    OUT kind text, OUT body text, OUT rows bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'rpc'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.rpc(text, text, jsonb, boolean) IS
'Call schema.fn with the named arguments in args, as the current role, the way PostgREST resolves /rpc/fn.  kind is void, scalar, object or array; body is the JSON result; rows counts the rows of a set.  single asks for exactly one row as an object.  Used by the bridge for HTTP and WebSocket calls.';

-------------------------------------------------------------------------------
-- Privileges
--
-- Nothing is executable by PUBLIC unless granted here.
-------------------------------------------------------------------------------

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA pgcall FROM PUBLIC;

GRANT EXECUTE ON FUNCTION pgcall.error_codes() TO PUBLIC;
GRANT EXECUTE ON FUNCTION pgcall.rpc(text, text, jsonb, boolean) TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;
GRANT EXECUTE ON FUNCTION pgcall.current_user_id() TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;
GRANT EXECUTE ON FUNCTION pgcall.secret_is_set(text) TO pgcall_backend, pgcall_admin;
GRANT EXECUTE ON FUNCTION pgcall.turn_credentials(text, integer) TO pgcall_user, pgcall_backend;
