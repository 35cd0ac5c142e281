-- pgcall.rpc: call a function by name with named arguments from a JSON object.
CREATE SCHEMA rpc_test;
SET pgcall.rpc_schemas = 'pgcall, rpc_test';
CREATE FUNCTION rpc_test.add(a integer, b integer DEFAULT 10) RETURNS integer
    LANGUAGE sql AS 'SELECT a + b';
CREATE FUNCTION rpc_test.add(x text) RETURNS text LANGUAGE sql AS 'SELECT x || x';
CREATE FUNCTION rpc_test.series(n integer) RETURNS SETOF integer
    LANGUAGE sql AS 'SELECT generate_series(1, n)';
CREATE FUNCTION rpc_test.people(n integer, OUT id integer, OUT name text) RETURNS SETOF record
    LANGUAGE sql AS $$SELECT i, 'p' || i FROM generate_series(1, n) i$$;
CREATE FUNCTION rpc_test.pair(OUT id integer, OUT tags text[]) RETURNS record
    LANGUAGE sql AS $$SELECT 7, ARRAY['a', 'b']$$;
CREATE FUNCTION rpc_test.nothing(msg text) RETURNS void LANGUAGE sql AS 'SELECT NULL';
CREATE FUNCTION rpc_test.echo(body jsonb, flag boolean DEFAULT false) RETURNS jsonb
    LANGUAGE sql AS 'SELECT jsonb_build_object(''body'', body, ''flag'', flag)';
CREATE FUNCTION rpc_test.whole(jsonb) RETURNS jsonb LANGUAGE sql AS 'SELECT $1';
CREATE FUNCTION rpc_test.tags(t text[]) RETURNS integer LANGUAGE sql AS 'SELECT cardinality(t)';
CREATE FUNCTION rpc_test.nullish() RETURNS text LANGUAGE sql AS 'SELECT NULL::text';
CREATE FUNCTION rpc_test.fail() RETURNS integer LANGUAGE sql AS 'SELECT 1/0';
CREATE FUNCTION rpc_test.amb(a integer, b integer DEFAULT 1) RETURNS integer LANGUAGE sql AS 'SELECT a';
CREATE FUNCTION rpc_test.amb(a text, c integer DEFAULT 1) RETURNS integer LANGUAGE sql AS 'SELECT 2';
CREATE PROCEDURE rpc_test.proc(a integer) LANGUAGE sql AS 'SELECT 1';

SELECT * FROM pgcall.rpc('rpc_test', 'add', '{"a": 1, "b": 2}');
SELECT * FROM pgcall.rpc('rpc_test', 'add', '{"a": 1}');
SELECT * FROM pgcall.rpc('rpc_test', 'add', '{"x": "ab"}');
-- Query-string style arguments arrive as strings and are cast by type.
SELECT * FROM pgcall.rpc('rpc_test', 'add', '{"a": "5", "b": "6"}');
SELECT * FROM pgcall.rpc('rpc_test', 'series', '{"n": 3}');
SELECT * FROM pgcall.rpc('rpc_test', 'series', '{"n": 0}');
SELECT * FROM pgcall.rpc('rpc_test', 'people', '{"n": 2}');
SELECT * FROM pgcall.rpc('rpc_test', 'people', '{"n": 1}', true);
SELECT * FROM pgcall.rpc('rpc_test', 'people', '{"n": 2}', true);
SELECT * FROM pgcall.rpc('rpc_test', 'people', '{"n": 0}', true);
SELECT * FROM pgcall.rpc('rpc_test', 'pair');
SELECT * FROM pgcall.rpc('rpc_test', 'nothing', '{"msg": "hi"}');
SELECT * FROM pgcall.rpc('rpc_test', 'echo', '{"body": {"k": [1, "two"]}, "flag": true}');
SELECT * FROM pgcall.rpc('rpc_test', 'whole', '{"anything": 1, "goes": [true]}');
SELECT * FROM pgcall.rpc('rpc_test', 'tags', '{"t": ["a", "b", "c"]}');
SELECT * FROM pgcall.rpc('rpc_test', 'tags', '{"t": "{a,b}"}');
SELECT * FROM pgcall.rpc('rpc_test', 'nullish');
SELECT * FROM pgcall.rpc('rpc_test', 'add', NULL);

-- Errors: unknown function or arguments, ambiguity, bad values, errors inside.
SELECT * FROM pgcall.rpc('rpc_test', 'nope', '{"a": 1}');
SELECT * FROM pgcall.rpc('rpc_test', 'add', '{"a": 1, "zzz": 2}');
SELECT * FROM pgcall.rpc('rpc_test', 'add', '{}');
SELECT * FROM pgcall.rpc('no_such_schema', 'add', '{"a": 1}');
SELECT * FROM pgcall.rpc('rpc_test', 'proc', '{"a": 1}');
SELECT * FROM pgcall.rpc('rpc_test', 'amb', '{"a": 1}');
-- Overloads that only defaults tell apart: 300, not a failed cache lookup.
CREATE FUNCTION rpc_test.amb2(a integer) RETURNS integer LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION rpc_test.amb2(a integer, b integer DEFAULT 1) RETURNS integer LANGUAGE sql AS 'SELECT 2';
SELECT * FROM pgcall.rpc('rpc_test', 'amb2', '{"a": 1}');
SELECT * FROM pgcall.rpc('rpc_test', 'amb2', '{"a": 1, "b": 2}');
-- An argument named "" is not the same request as no argument at all.
SELECT * FROM pgcall.rpc('rpc_test', 'nullish', '{}');
SELECT * FROM pgcall.rpc('rpc_test', 'nullish', '{"": 1}');
SELECT * FROM pgcall.rpc('rpc_test', 'add', '{"a": "one"}');
SELECT * FROM pgcall.rpc('rpc_test', 'add', '[1, 2]');
SELECT * FROM pgcall.rpc('rpc_test', 'add', '"a"');
SELECT * FROM pgcall.rpc('rpc_test', 'fail');
SELECT * FROM pgcall.rpc(NULL, 'add', '{}');
SELECT * FROM pgcall.rpc('rpc_test', repeat('x', 100), '{}');

-- Names are never pasted: a hostile name is just an unknown function.
SELECT * FROM pgcall.rpc('rpc_test', 'add"(1); DROP SCHEMA rpc_test CASCADE; --', '{}');
SELECT * FROM pgcall.rpc('rpc_test', 'add', '{"a); DROP SCHEMA rpc_test; --": 1}');

-- The function runs as the caller: EXECUTE grants apply.
CREATE ROLE regress_rpc_user;
GRANT USAGE ON SCHEMA rpc_test, pgcall TO regress_rpc_user;
GRANT EXECUTE ON FUNCTION pgcall.rpc(text, text, jsonb, boolean, text, text, text, text) TO regress_rpc_user;
REVOKE EXECUTE ON FUNCTION rpc_test.series(integer) FROM PUBLIC;
SET ROLE regress_rpc_user;
SELECT * FROM pgcall.rpc('rpc_test', 'add', '{"a": 1}');
SELECT * FROM pgcall.rpc('rpc_test', 'series', '{"n": 2}');
RESET ROLE;

-- A replaced function is resolved again.
DROP FUNCTION rpc_test.series(integer);
SELECT * FROM pgcall.rpc('rpc_test', 'series', '{"n": 2}');
CREATE FUNCTION rpc_test.series(n integer) RETURNS SETOF text
    LANGUAGE sql AS $$SELECT 's' || generate_series(1, n)$$;
SELECT * FROM pgcall.rpc('rpc_test', 'series', '{"n": 2}');

DROP SCHEMA rpc_test CASCADE;
DROP OWNED BY regress_rpc_user;
DROP ROLE regress_rpc_user;
