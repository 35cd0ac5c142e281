-- pgcall.rpc with PostgREST's query grammar and headers: psql gets what HTTP
-- clients get (query string, Prefer, Accept, Range), applied around the call.
CREATE SCHEMA rq;
SET pgcall.rpc_schemas = 'pgcall, rq';
CREATE TABLE rq.item (id integer PRIMARY KEY, name text, price numeric, tags text[], note text);
INSERT INTO rq.item VALUES
    (1, 'apple', 1.5, '{fruit,red}', NULL),
    (2, 'banana', 0.5, '{fruit}', 'ripe'),
    (3, 'carrot', 0.8, '{veg}', NULL),
    (4, 'Avocado', 2.0, '{fruit,green}', 'soft, "ripe"');
CREATE FUNCTION rq.items(min_id integer DEFAULT 0) RETURNS SETOF rq.item
    LANGUAGE sql STABLE AS 'SELECT * FROM rq.item WHERE id >= min_id ORDER BY id';
CREATE FUNCTION rq.label(rq.item) RETURNS text LANGUAGE sql STABLE AS 'SELECT upper($1.name)';
CREATE FUNCTION rq.one() RETURNS rq.item LANGUAGE sql STABLE AS 'SELECT * FROM rq.item WHERE id = 2';
CREATE FUNCTION rq.n() RETURNS integer LANGUAGE sql AS 'SELECT 42';
CREATE FUNCTION rq.nums() RETURNS SETOF integer LANGUAGE sql AS 'SELECT generate_series(1, 5)';
CREATE FUNCTION rq.bump() RETURNS SETOF rq.item
    LANGUAGE sql AS 'UPDATE rq.item SET price = price + 1 RETURNING *';
CREATE FUNCTION rq.u() RETURNS text LANGUAGE sql AS $$SELECT 'none'$$;
CREATE FUNCTION rq.u(text) RETURNS text LANGUAGE sql AS $$SELECT 'text:' || $1$$;
CREATE FUNCTION rq.u(integer) RETURNS text LANGUAGE sql AS $$SELECT 'never'$$;
CREATE FUNCTION rq.x(xml) RETURNS text LANGUAGE sql AS 'SELECT $1::text';
CREATE FUNCTION rq.by(bytea) RETURNS integer LANGUAGE sql AS 'SELECT length($1)';
CREATE FUNCTION rq.j(json) RETURNS json LANGUAGE sql AS 'SELECT $1';
CREATE FUNCTION rq.d() RETURNS integer LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION rq.d(text DEFAULT 'x') RETURNS integer LANGUAGE sql AS 'SELECT 2';
-- A table the function names without its schema: found through the search_path.
CREATE TABLE rq.t (x integer);
INSERT INTO rq.t VALUES (1), (2);
SET check_function_bodies = off;
CREATE FUNCTION rq.count_t() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM t';
RESET check_function_bodies;

-- select: columns, aliases, casts, computed fields
SELECT kind, body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id,nm:name,price::text&limit=2');
SELECT kind, body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=name,label&id=eq.3');
SELECT kind, body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=*&id=lt.2');
-- horizontal filters
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&name=like.*an*');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&name=ilike.a*');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&name=match.^[ab]');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&name=imatch.^a');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&price=gte.0.8&price=lt.2');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&id=neq.1&id=gt.1&id=lte.3');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&note=in.(ripe,"soft, \"ripe\"")');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&note=is.null');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&note=not.is.null');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&note=is.not_null');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&note=isdistinct.ripe');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&tags=cs.{fruit}&tags=not.ov.{red,green}');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&or=(id.eq.1,and(price.gt.1,name.ilike.av*))');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&not.or=(id.eq.1,id.eq.2)');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&and=(id.gt.1,or(name.eq.carrot,note.eq.ripe))');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&id=in.()');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&name=eq.apple%20pie');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&name=fts.banana');
-- order, limit, offset, Range
SELECT body, content_range FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id,note&order=note.desc.nullsfirst,id.desc');
SELECT body, content_range FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&order=id.desc&limit=2&offset=1');
-- a repeated order= replaces the first
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&order=id&order=id.desc&limit=2');
SELECT body, content_range FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id', NULL, NULL, '1-2');
SELECT body, content_range FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id', NULL, NULL, '2-1');
-- Prefer: count=exact counts every filtered row, not only the page
SELECT body, rows, content_range FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&limit=2', 'count=exact');
SELECT body, rows, content_range FROM pgcall.rpc('rq', 'n', '{}', false, NULL, 'count=exact');
-- Accept: one object, or CSV
SELECT kind, body FROM pgcall.rpc('rq', 'items', '{}', false, 'id=eq.2', NULL, 'application/vnd.pgrst.object+json');
SELECT kind, body FROM pgcall.rpc('rq', 'items', '{}', false, 'id=gt.2', NULL, 'application/vnd.pgrst.object+json');
SELECT kind, body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id,name,note&order=id', NULL, 'text/csv');
SELECT kind, body FROM pgcall.rpc('rq', 'n', '{}', false, NULL, NULL, 'text/csv');
SELECT kind, body FROM pgcall.rpc('rq', 'items', '{}', false, NULL, NULL, 'application/xml');
-- a function returning one row: filtered away, it answers null
SELECT kind, body FROM pgcall.rpc('rq', 'one', '{}', false, 'select=name');
SELECT kind, body FROM pgcall.rpc('rq', 'one', '{}', false, 'name=eq.nope');
-- SETOF a scalar: the column is named after the function
SELECT body FROM pgcall.rpc('rq', 'nums', '{}', false, 'nums=gt.2&order=nums.desc&limit=2');
SELECT body FROM pgcall.rpc('rq', 'nums', '{}', false, 'select=v:nums&nums=eq.1');
-- a scalar function takes no query
SELECT kind, body FROM pgcall.rpc('rq', 'n', '{}', false, 'select=*');
SELECT kind, body FROM pgcall.rpc('rq', 'n', '{}', false, 'n=eq.42');
-- args NULL: arguments come from the query string, as on GET
SELECT body FROM pgcall.rpc('rq', 'items', NULL, false, 'min_id=3&select=id&id=neq.4');
-- Prefer: tx=rollback answers with the changes, then undoes them
SELECT body FROM pgcall.rpc('rq', 'bump', '{}', false, 'select=id,price&id=eq.1', 'tx=rollback');
SELECT price FROM rq.item WHERE id = 1;
-- Prefer: handling=strict refuses what it does not know; max-affected binds with it
SELECT body FROM pgcall.rpc('rq', 'n', '{}', false, NULL, 'handling=lenient, timezone=UTC, nonsense');
SELECT body FROM pgcall.rpc('rq', 'n', '{}', false, NULL, 'handling=strict, timezone=UTC, nonsense');
SELECT body FROM pgcall.rpc('rq', 'bump', '{}', false, 'select=id', 'handling=strict, max-affected=2');
SELECT price FROM rq.item WHERE id = 1;
SELECT rows FROM pgcall.rpc('rq', 'bump', '{}', false, 'select=id&id=eq.1', 'handling=strict, max-affected=1, tx=rollback');
-- the schema of the call is first on the search_path
SELECT body FROM pgcall.rpc('rq', 'count_t');
-- unnamed parameters: "" names the single unnamed text/json/jsonb/xml/bytea one
SELECT body FROM pgcall.rpc('rq', 'u', '{"": "a"}');
SELECT body FROM pgcall.rpc('rq', 'u', '{}');
SELECT body FROM pgcall.rpc('rq', 'u', '{"": "b"}');
SELECT body FROM pgcall.rpc('rq', 'u', '{"": 7}');
SELECT body FROM pgcall.rpc('rq', 'x', '{"": "<a>b</a>"}');
SELECT body FROM pgcall.rpc('rq', 'by', '{"": "\\x010203"}');
SELECT body FROM pgcall.rpc('rq', 'j', '{"": [1, {"k": "v"}]}');
SELECT body FROM pgcall.rpc('rq', 'j', '{"whole": "object"}');
SELECT body FROM pgcall.rpc('rq', 'd');
SELECT body FROM pgcall.rpc('rq', 'd', '{"": "y"}');
SELECT body FROM pgcall.rpc('rq', 'itemz', '{"min_id": 1}');
SELECT body FROM pgcall.rpc('rq', 'items', '{"min": 1}');

-- What pgcall does not offer is refused, with PostgREST's codes.
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id,item(name)');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id.count()');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=count()');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'item.order=id');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=note->>x');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'id=eq(any).{1,2}');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'id=approx.1');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'limit=ten');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'limit=-1');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'order=id.sideways');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'or=(id.eq.1');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'id=eq.%00');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'id=eq.%C3%28');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'or=' || repeat('(id.eq.1,or', 20) || '(id.eq.2)' || repeat(')', 20));
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, repeat('id=gt.0&', 1001));
SELECT length(body) FROM pgcall.rpc('rq', 'items', NULL, false, 'select=id&' || repeat('x=1&', 900));
-- Hostile names are never SQL: unknown columns and types, and no statement runs.
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id");DROP SCHEMA rq CASCADE;--');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'id");DROP SCHEMA rq CASCADE;--=eq.1');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'order=id;DROP SCHEMA rq CASCADE');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id::text);DROP SCHEMA rq CASCADE;--');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id::nosuchtype');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&name=eq.''); DROP SCHEMA rq CASCADE; --');
SELECT body FROM pgcall.rpc('rq', 'items', '{}', false, 'select=id&id=eq.1 OR 1=1');
SELECT count(*) FROM rq.item;

DROP SCHEMA rq CASCADE;
