-- What pgcall.rpc may reach: exposed schemas only, in schema pgcall only the
-- API of pgcall.api_function, never PostgreSQL's own or internal functions.
\set VERBOSITY terse
CREATE SCHEMA app;
CREATE FUNCTION app.hello(name text) RETURNS text LANGUAGE sql AS $$SELECT 'hi ' || name$$;
CREATE FUNCTION app.trig() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
CREATE FUNCTION app.poly(x anyelement) RETURNS anyelement LANGUAGE sql AS 'SELECT x';
CREATE FUNCTION app.two(skip integer DEFAULT NULL, "limit" integer DEFAULT NULL,
                        "skip,limit" integer DEFAULT NULL)
    RETURNS text LANGUAGE sql AS $$SELECT format('%s|%s|%s', skip, "limit", "skip,limit")$$;
GRANT USAGE ON SCHEMA app TO pgcall_anon, pgcall_user;

-- PostgreSQL's own schemas cannot be exposed, at any level.
LOAD 'pgcall';
SET pgcall.rpc_schemas = 'pgcall, pg_catalog';
SET pgcall.rpc_schemas = 'information_schema';
SET pgcall.rpc_schemas = 'pg_toast, app';
SET pgcall.rpc_schemas = 'pgcall, app';
SHOW pgcall.rpc_schemas;

SET ROLE pgcall_anon;
-- Not exposed: 406 PGRST106, whatever the function.
SELECT * FROM pgcall.rpc('pg_catalog', 'version', '{}');
SELECT * FROM pgcall.rpc('pg_catalog', 'query_to_xml', '{"query": "select 1", "nulls": true, "tableforest": true, "targetns": ""}');
SELECT * FROM pgcall.rpc('pg_catalog', 'set_config', '{"setting_name": "role", "new_value": "pgcall_admin", "is_local": true}');
SELECT * FROM pgcall.rpc('information_schema', '_pg_truetypid', '{}');
SELECT * FROM pgcall.rpc('PG_CATALOG', 'version', '{}');
-- The dispatcher itself and internal helpers answer like missing functions.
SELECT * FROM pgcall.rpc('pgcall', 'rpc', '{"schema": "pg_catalog", "fn": "version", "args": {}}');
SELECT * FROM pgcall.rpc('pgcall', 'rpc', '{"schema": "pgcall", "fn": "error_codes"}');
SELECT * FROM pgcall.rpc('pgcall', 'call_json', '{"call_id": null}');
SELECT * FROM pgcall.rpc('pgcall', 'is_participant', '{"call_id": null}');
SELECT * FROM pgcall.rpc('pgcall', 'set_secret', '{"name": "turn_secret", "value": "x"}');
SELECT * FROM pgcall.rpc('pgcall', 'call_expire', '{}');
SELECT * FROM pgcall.rpc('pgcall', 'bridge_events', '{"after": 0}');
SELECT * FROM pgcall.rpc('pgcall', 'call_before', '{}');
-- Trigger and polymorphic functions of an exposed schema are not callable.
SELECT * FROM pgcall.rpc('app', 'trig', '{}');
SELECT * FROM pgcall.rpc('app', 'poly', '{"x": 1}');
-- What is exposed answers.
SELECT kind, body FROM pgcall.rpc('app', 'hello', '{"name": "ann"}');
SELECT kind, rows FROM pgcall.rpc('pgcall', 'error_codes', '{}');
SELECT kind, body FROM pgcall.rpc('pgcall', 'current_user_id', '{}');
-- Argument names cannot pose as others: "skip,limit" is one argument.
SELECT kind, body FROM pgcall.rpc('app', 'two', '{"skip,limit": 1}');
SELECT kind, body FROM pgcall.rpc('app', 'two', '{"skip": 2, "limit": 3}');
SELECT kind, body FROM pgcall.rpc('app', 'two', '{"skip,limit": 4}');
RESET ROLE;

-- A session-level change of the list takes effect at once (cached plans included).
SET pgcall.rpc_schemas = 'pgcall';
SET ROLE pgcall_anon;
SELECT * FROM pgcall.rpc('app', 'hello', '{"name": "ann"}');
RESET ROLE;
-- Only superusers set it.
SET ROLE pgcall_admin;
SET pgcall.rpc_schemas = 'pgcall, app';
RESET ROLE;

-- Every function of pg_catalog, information_schema and pgcall, by every
-- pgcall role: only pgcall.api_function's names ever get past resolution.
SET pgcall.rpc_schemas = 'pgcall, app';
CREATE TEMP TABLE reached (role text, schema text, fn text);
GRANT INSERT ON reached TO PUBLIC;
DO $$
DECLARE
    r text;
    f record;
BEGIN
    FOREACH r IN ARRAY ARRAY['pgcall_anon', 'pgcall_user', 'pgcall_backend', 'pgcall_admin'] LOOP
        -- each function with its own argument names (null values), so a
        -- refusal can only come from what is exposed, not from the arguments
        FOR f IN SELECT n.nspname, p.proname,
                        COALESCE((SELECT jsonb_object_agg(a.name, NULL)
                                    FROM unnest(p.proargnames) WITH ORDINALITY AS a(name, i)
                                   WHERE a.name <> ''
                                     AND COALESCE(p.proargmodes[a.i], 'i') IN ('i', 'b', 'v')), '{}') AS args
                   FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname IN ('pg_catalog', 'information_schema', 'pgcall')
                  ORDER BY 1, 2, p.oid LOOP
            BEGIN
                EXECUTE format('SET LOCAL ROLE %I', r);
                PERFORM * FROM pgcall.rpc(f.nspname, f.proname, f.args);
                INSERT INTO reached VALUES (r, f.nspname, f.proname);
            EXCEPTION WHEN OTHERS THEN
                -- PGRST106 (schema) and PGRST202 (not found) mean refused
                -- before any call; anything else means the function was reached.
                IF SQLSTATE <> 'PGRST' OR (SQLERRM NOT LIKE '%PGRST106%' AND SQLERRM NOT LIKE '%PGRST202%') THEN
                    INSERT INTO reached VALUES (r, f.nspname, f.proname);
                END IF;
            END;
            RESET ROLE;
        END LOOP;
    END LOOP;
END
$$;
-- Reached functions outside the API: none.
SELECT DISTINCT role, schema, fn FROM reached
 WHERE schema <> 'pgcall' OR fn NOT IN (SELECT name FROM pgcall.api_function);
-- Every API function is reached by some role.
SELECT name FROM pgcall.api_function
 WHERE name NOT IN (SELECT fn FROM reached WHERE schema = 'pgcall')
 ORDER BY name;

-- A function that changes pg_proc and calls rpc again with the same key
-- replans the entry its caller still executes: the caller's plan must stay
-- alive (this crashed the server with a use-after-free).
CREATE FUNCTION app.nest(n integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE OR REPLACE FUNCTION app.scratch() RETURNS integer LANGUAGE sql AS %L',
                   'SELECT ' || n);
    IF n > 0 THEN
        PERFORM * FROM pgcall.rpc('app', 'nest', jsonb_build_object('n', n - 1));
    END IF;
    RETURN n;
END $$;
SELECT kind, body FROM pgcall.rpc('app', 'nest', '{"n": 1}');
SELECT kind, body FROM pgcall.rpc('app', 'nest', '{"n": 2}');
SELECT kind, body FROM pgcall.rpc('app', 'nest', '{"n": 5}');
SELECT kind, body FROM pgcall.rpc('app', 'nest', '{"n": 40}');
-- and again, with the entry stale from the start, many times over
SELECT count(*) FROM generate_series(1, 50) i, pgcall.rpc('app', 'nest', jsonb_build_object('n', i % 4));
-- the pattern that crashed the server 4/4: a set-returning function that,
-- after the nested call replanned its entry, makes new plans that reuse the
-- freed memory before the outer call finishes with its plan
CREATE FUNCTION app.nest_set(n integer) RETURNS SETOF integer LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE OR REPLACE FUNCTION app.scratch() RETURNS integer LANGUAGE sql AS %L',
                   'SELECT ' || n);
    IF n > 0 THEN
        PERFORM * FROM pgcall.rpc('app', 'nest_set', jsonb_build_object('n', n - 1));
        FOR i IN 1..30 LOOP
            PERFORM * FROM pgcall.rpc('pgcall', 'error_codes', '{}');
            EXECUTE format('SELECT %s::integer + 1, repeat(''x'', %s)', i, i * 100);
        END LOOP;
    END IF;
    RETURN QUERY SELECT generate_series(1, 3);
END $$;
SELECT kind, body FROM pgcall.rpc('app', 'nest_set', '{"n": 1}');
SELECT kind, body FROM pgcall.rpc('app', 'nest_set', '{"n": 3}');
SELECT kind, body FROM pgcall.rpc('app', 'nest_set', '{"n": 10}');
-- an error deep inside still releases every plan
CREATE FUNCTION app.nest_fail(n integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'CREATE OR REPLACE FUNCTION app.scratch() RETURNS integer LANGUAGE sql AS ''SELECT 0''';
    IF n = 0 THEN RAISE EXCEPTION 'deep failure'; END IF;
    PERFORM * FROM pgcall.rpc('app', 'nest_fail', jsonb_build_object('n', n - 1));
    RETURN n;
END $$;
SELECT * FROM pgcall.rpc('app', 'nest_fail', '{"n": 3}');
SELECT kind, body FROM pgcall.rpc('app', 'nest', '{"n": 3}');

-- GET runs in a read-only transaction: a pgcall function that writes says so.
BEGIN TRANSACTION READ ONLY;
SET LOCAL ROLE pgcall_admin;
SELECT * FROM pgcall.rpc('pgcall', 'admin_analytics', '{"days": 7}');
ROLLBACK;
BEGIN TRANSACTION READ ONLY;
SELECT kind, rows FROM pgcall.rpc('pgcall', 'event_types', '{}');
ROLLBACK;
