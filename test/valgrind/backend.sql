CREATE EXTENSION pgcall;

CREATE SCHEMA app;

SET pgcall.rpc_schemas = 'pgcall, app';

CREATE FUNCTION app.nest_set(n integer) RETURNS SETOF integer LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE OR REPLACE FUNCTION app.scratch() RETURNS integer LANGUAGE sql AS %L', 'SELECT ' || n);
    IF n > 0 THEN
        PERFORM * FROM pgcall.rpc('app', 'nest_set', jsonb_build_object('n', n - 1));
        FOR i IN 1..30 LOOP
            PERFORM * FROM pgcall.rpc('pgcall', 'error_codes', '{}');
        END LOOP;
    END IF;
    RETURN QUERY SELECT generate_series(1, 3);
END $$;

SELECT kind, body FROM pgcall.rpc('app', 'nest_set', '{"n": 1}');

SELECT kind, body FROM pgcall.rpc('app', 'nest_set', '{"n": 2}');

SELECT kind, body FROM pgcall.rpc('app', 'nest_set', '{"n": 5}');

SELECT kind, body FROM pgcall.rpc('app', 'nest_set', '{"n": 12}');

CREATE TABLE app.item AS SELECT i AS id, 'n' || i AS name FROM generate_series(1, 50) i;

CREATE FUNCTION app.items() RETURNS SETOF app.item LANGUAGE sql STABLE AS 'SELECT * FROM app.item';

CREATE FUNCTION app.flood(n integer) RETURNS SETOF integer LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..n LOOP
        PERFORM * FROM pgcall.rpc('app', 'items', '{}', false, format('select=c%s:id&id=eq.%s', i, i % 50 + 1));
    END LOOP;
    RETURN QUERY SELECT generate_series(1, 3);
END $$;

SELECT kind, body FROM pgcall.rpc('app', 'flood', '{"n": 1100}', false, 'order=flood.desc');

SELECT kind, body, content_range FROM pgcall.rpc('app', 'items', '{}', false, 'select=id,name&or=(id.lt.3,name.eq.n7)&order=id.desc&limit=2', 'tx=rollback, count=exact');

SELECT kind, body FROM pgcall.rpc('app', 'items', '{}', false, 'select=id&id=lt.4', NULL, 'text/csv');

SELECT kind, body FROM pgcall.rpc('app', 'items', NULL, false, 'select=id&id=in.(1,2,"3")&name=like.n*&id=eq.2', 'handling=strict', 'application/vnd.pgrst.object+json');

BEGIN;

SELECT set_config('pgcall.user_id', 'ann', true);

SELECT (pgcall.call_start(ARRAY['ben'])->'call'->>'id') AS started;

SELECT set_config('pgcall.user_id', 'ben', true);

SELECT pgcall.call_accept((SELECT call_id FROM pgcall.participant WHERE user_id = 'ben')) IS NOT NULL AS accepted;

SELECT pgcall.call_set_media((SELECT call_id FROM pgcall.participant WHERE user_id = 'ben'), true) IS NOT NULL AS muted;

SELECT pgcall.call_end((SELECT call_id FROM pgcall.participant WHERE user_id = 'ben')) IS NOT NULL AS ended;

COMMIT;

SELECT count(*) > 0 AS events FROM pgcall.event;


-- Presence events: a follower, a socket, a call (touches flushed at commit).
BEGIN;

SELECT set_config('pgcall.user_id', 'ann', true);

SELECT pgcall.presence_subscribe(ARRAY['ben', 'cy']) IS NOT NULL AS subscribed;

COMMIT;

SELECT pgcall.bridge_heartbeat('00000000-0000-4000-8000-0000000000b1');

SELECT pgcall.bridge_presence('00000000-0000-4000-8000-0000000000b1', 'ben', 1);

BEGIN;

SELECT set_config('pgcall.user_id', 'ann', true);

SELECT (pgcall.call_start(ARRAY['ben', 'cy'])->'call'->>'id') IS NOT NULL AS started;

COMMIT;

SELECT count(*) > 0 AS presence_events FROM pgcall.event WHERE type = 'presence.changed';

-- dialect_fill (extension/dialect_fill.c): direct walks, jsonpath fallbacks, $each, and a REST route end to end

SELECT pgcall.dialect_fill('{"l": {"$each": "$.out.data", "$to": {"id": "$.item.id", "c": "$.item.caller.id", "u": "$.item.p.id", "p": {"$each": "$.item.p", "$to": ["$.item.id", "$.item", "$.nope"]}}}, "f": "$.out.data[*] ? (@.id == 2).id", "m": "$.missing", "a": ["$.out.data[5]", 1, "x"]}', '{"out": {"data": [{"id": 1, "caller": {"id": "a"}, "p": [{"id": "b"}, {"id": "c"}]}, {"id": 2, "caller": null, "p": []}, 7, "s", null]}}');

SELECT pgcall.dialect_fill('"$.x[0]"', '{"x": {"y": 1}}'), pgcall.dialect_fill('"$.x.y"', '[{"x": {"y": 1}}]'), pgcall.dialect_fill('{"a": "$.b"}', NULL);

BEGIN;

SELECT set_config('request.jwt.claims', '{"sub": "ann", "role": "pgcall_user"}', true);

SELECT status, length(response) > 0 AS answered FROM pgcall.dialect_http('seed003', 'GET', '/api/calls/history', 'limit=5', '');

SELECT status FROM pgcall.dialect_http('seed000', 'POST', '/api/calls/logs', '', '{"userId": "ann", "limit": 2}');

COMMIT;

-- The writer's kept preparations (extension/rowread.c, WriterPrep): a table
-- changed between writes, inside a failed subtransaction and while a
-- trigger writes, so that dropped preparations are freed with none in use.
SET pgcall.rate_limit_calls = 0;

SELECT set_config('pgcall.user_id', 'wp-a', false);

SELECT (pgcall.call_start(ARRAY['wp-b'])->'call'->>'status') AS prepared;

ALTER TABLE pgcall.participant ADD CONSTRAINT wp_no_c CHECK (user_id <> 'wp-c');

BEGIN;

SAVEPOINT s;

SELECT pgcall.call_start(ARRAY['wp-c']);

ROLLBACK TO SAVEPOINT s;

ALTER TABLE pgcall.participant DROP CONSTRAINT wp_no_c;

SELECT (pgcall.call_start(ARRAY['wp-c'])->'call'->>'status') AS after_error;

COMMIT;

CREATE INDEX wp_idx ON pgcall.participant (user_id) WHERE user_id LIKE 'wp-%';

SELECT (pgcall.call_start(ARRAY['wp-d', 'wp-e'])->'call'->>'status') AS indexed;

DROP INDEX pgcall.wp_idx;

SELECT (pgcall.call_start(ARRAY['wp-f'])->'call'->>'status') AS dropped;
