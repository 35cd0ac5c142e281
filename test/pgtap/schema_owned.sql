-- pgcall installs only into a schema it creates, and its C code never uses
-- a schema named pgcall that is not the extension's own.  This file runs
-- first thing in its session, before pgcall's C code has prepared any plan.
-- What happens inside a rolled-back savepoint is captured with \gset first
-- (pgTAP's own results would roll back with it).
BEGIN;
SELECT plan(6);

CREATE FUNCTION pg_temp.outcome(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- A schema named pgcall that someone else put in place is refused by the
-- C code, whatever it holds.
SAVEPOINT swap;
ALTER SCHEMA pgcall RENAME TO pgcall_moved;
CREATE SCHEMA pgcall;
CREATE TABLE pgcall.call (id uuid);
CREATE TABLE pgcall.participant (call_id uuid, user_id text);
SELECT set_config('request.jwt.claims', '{"sub": "alice"}', true);
SELECT pg_temp.outcome('SELECT pgcall_moved.call_session(''bob'')') AS planted \gset
ROLLBACK TO SAVEPOINT swap;
SELECT is(:'planted'::text, '42501: schema "pgcall" is not the schema of the pgcall extension',
          'a planted schema pgcall is refused by the C code');

-- CREATE EXTENSION refuses a schema pgcall it did not create.
SAVEPOINT reinstall;
DROP EXTENSION pgcall;
SELECT NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'pgcall') AS dropped \gset
CREATE ROLE sec_dbowner;
CREATE SCHEMA pgcall AUTHORIZATION sec_dbowner;
SELECT pg_temp.outcome('CREATE EXTENSION pgcall') AS precreated \gset
DROP SCHEMA pgcall;
SELECT pg_temp.outcome('CREATE EXTENSION pgcall') AS installed \gset
SELECT (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'pgcall') = current_user::text AS owned \gset
SELECT pg_temp.outcome('SET LOCAL ROLE sec_dbowner; ALTER SCHEMA pgcall RENAME TO x') AS renamed \gset
ROLLBACK TO SAVEPOINT reinstall;
SELECT ok(:'dropped'::boolean, 'DROP EXTENSION drops the schema too');
SELECT is(:'precreated'::text, '42P06: schema "pgcall" already exists', 'CREATE EXTENSION refuses a pre-created schema pgcall');
SELECT is(:'installed'::text, 'ok', 'and installs once it is gone');
SELECT ok(:'owned'::boolean, 'the new schema belongs to the installing superuser');
SELECT is(:'renamed'::text, '42501: must be owner of schema pgcall', 'nobody else can rename it');

SELECT * FROM finish();
ROLLBACK;
