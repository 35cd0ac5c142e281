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
    FOREACH r IN ARRAY ARRAY['pgcall_anon', 'pgcall_user', 'pgcall_backend', 'pgcall_admin', 'pgcall_authn'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;

DO $bridge_role$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgcall_bridge') THEN
        CREATE ROLE pgcall_bridge NOLOGIN;
    END IF;
END
$bridge_role$;

GRANT USAGE ON SCHEMA pgcall TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

GRANT USAGE ON SCHEMA pgcall TO pgcall_bridge;

GRANT SET ON PARAMETER pgcall.user_id TO pgcall_backend;
