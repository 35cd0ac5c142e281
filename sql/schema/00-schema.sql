-- pgcall: install script.
--
-- Made by `make sql` from sql/schema/*.sql, in name order: one file per
-- area, each object once in its final form, with its indexes, row-level
-- security, policies, grants and comment next to it.  Edit those files,
-- not the made script; 93-upgrade checks it is current and that an older
-- release brought up to date has the same catalog.
--
-- Everything is schema-qualified, so the caller's search_path changes
-- nothing; SECURITY DEFINER functions pin their own search_path.

\echo Use "CREATE EXTENSION pgcall" to load this file. \quit

-------------------------------------------------------------------------------
-- Schema and roles
--
-- The control file names no schema: this script creates pgcall itself, so the
-- schema is a member of the extension, owned by the installing superuser, and
-- dropped with it.  A schema named pgcall that already exists is refused:
-- whoever created it could rename it later and plant objects under the names
-- pgcall's C code and SECURITY DEFINER functions use (CVE-2023-39417 class).
--
-- Roles are global to the cluster, so an install in a second database finds
-- them already there.  Grant them to your own roles (or name them in the
-- "role" claim of your JWTs):
--   pgcall_anon     requests without a JWT: nothing beyond health checks
--   pgcall_user     an end user, identified by the JWT sub claim
--   pgcall_backend  a trusted backend: may act for any user
--                   (SET LOCAL pgcall.user_id) and mint raw tokens
--   pgcall_admin    operators: analytics and moderation across all calls
--   pgcall_authn    authenticators (the bridge's login, PostgREST's
--                   authenticator): only sessions of members of this role
--                   are trusted when they set request.jwt.claims
--   pgcall_bridge   the bridge's own statements: the event stream, presence,
--                   webhooks and the sweeps (granted to the bridge's login)
--
-- Nothing in schema pgcall is executable by PUBLIC but what 99-public.sql
-- grants: every function here is followed by its grants to these roles.
-------------------------------------------------------------------------------

DO $schema$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = 'pgcall') THEN
        RAISE EXCEPTION 'schema "pgcall" already exists'
            USING ERRCODE = 'duplicate_schema',
                  DETAIL = 'CREATE EXTENSION pgcall creates its own schema and will not install into one it did not create.',
                  HINT = 'Drop or rename the existing schema pgcall (after checking who created it and why), then run CREATE EXTENSION pgcall again.';
    END IF;
END
$schema$;

CREATE SCHEMA pgcall;
REVOKE ALL ON SCHEMA pgcall FROM PUBLIC;

DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['pgcall_anon', 'pgcall_user', 'pgcall_backend', 'pgcall_admin', 'pgcall_authn',
                             'pgcall_bridge'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;

GRANT USAGE ON SCHEMA pgcall TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge;
GRANT SET ON PARAMETER pgcall.user_id TO pgcall_backend;
