-- REST dialects: pgcall.dialect_http (route matching, :params, query
-- strings, bodies, required and self fields, backend-only routes, error
-- shapes and statuses, rollback on failure), $each in dialect_fill, the
-- constraints on dialect_route rows, and pgcall.channel_token.
BEGIN;
SELECT plan(40);

SET LOCAL pgcall.rate_limit_calls = 0;
CREATE FUNCTION pg_temp.act(u text, r text DEFAULT 'pgcall_user') RETURNS void LANGUAGE sql
    AS $$ SELECT set_config('request.jwt.claims', json_build_object('sub', u, 'role', r)::text, true) $$;
CREATE FUNCTION pg_temp.h(m text, p text, q text DEFAULT '', b text DEFAULT '') RETURNS jsonb LANGUAGE sql
    AS $$ SELECT jsonb_build_object('status', status, 'body', response::jsonb, 'retry_after', retry_after)
            FROM pgcall.dialect_http('t', m, p, q, b) $$;

-- a test dialect: literal and :param routes on the same shape, a self field
INSERT INTO pgcall.dialect (name, http_error) VALUES ('t', '{"ok": false, "why": "$.error.message", "code": "$.error.code", "st": "$.error.status"}');
INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('t', 'P404A', 'No such call', 410),
    ('t', 'P400R', 'Say everything', NULL);
INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, self_fields, status, response) VALUES
    ('t', 'POST', '/calls', 'call_start', '{"invitees": ["$.body.to"], "type": "$.body.type"}', '{to}', '{me}', 201,
     '{"id": "$.out.call.id", "by": "$.me", "q": "$.query"}'),
    ('t', 'GET', '/calls/:id', 'call_get', '{"call_id": "$.params.id"}', '{}', '{}', 200,
     '{"id": "$.out.id", "who": {"$each": "$.out.participants", "$to": {"u": "$.item.user_id"}}}'),
    ('t', 'GET', '/calls/mine', 'calls_mine', '{"limit": "$.query.limit"}', '{}', '{}', 200, NULL),
    ('t', 'POST', '/token', 'channel_token', '{"channel_id": "$.body.ch", "user_id": "$.body.user"}', '{}', '{}', 200, NULL);
UPDATE pgcall.dialect_route SET backend_only = true WHERE dialect = 't' AND path = '/token';

SELECT throws_ok($$INSERT INTO pgcall.dialect_route (dialect, method, path, fn) VALUES ('t', 'GET', '/a/../b', 'call_get')$$,
                 '23514', NULL, 'route paths are literal segments and :params only');
SELECT throws_ok($$INSERT INTO pgcall.dialect_route (dialect, method, path, fn) VALUES ('t', 'TRACE', '/x', 'call_get')$$,
                 '23514', NULL, 'and methods are checked');
SELECT throws_ok($$INSERT INTO pgcall.dialect_route (dialect, method, path, fn) VALUES ('t', 'GET', '/x', 'rpc')$$,
                 '23503', NULL, 'a route calls only functions of pgcall.api_function');
SELECT throws_ok($$INSERT INTO pgcall.dialect_route (dialect, method, path, fn, response) VALUES ('t', 'GET', '/x', 'call_get', '{"a": "$.(("}')$$,
                 '42601', NULL, 'templates must hold valid paths');

SELECT is(pgcall.dialect_fill('{"l": {"$each": "$.a", "$to": {"v": "$.item.x", "k": 1}}, "n": {"$each": "$.nope", "$to": 1}}',
                              '{"a": [{"x": 1}, {"y": 2}]}'),
          '{"l": [{"v": 1, "k": 1}, {"k": 1}], "n": []}', '$each maps an array, [] for what is not one');
SELECT is(pgcall.dialect_query('a=1&b=x%20y%2B%26&c&a=2'), '{"a": "2", "b": "x y+&", "c": ""}',
          'query strings decoded, the last of a repeated name wins');
SELECT throws_ok($$SELECT pgcall.dialect_query('a=%ff')$$, '22021', NULL, 'and invalid UTF-8 refused');
SELECT is(pgcall.dialect_http_status('P429A', true), 429, 'P<status> is that status');
SELECT is(pgcall.dialect_http_status('42501', false), 401, '42501 without a user is 401');
SELECT is(pgcall.dialect_http_status('42501', true), 403, 'and 403 with one');


-- dialect_fill in C gives what the PL/pgSQL version gave (kept here as the
-- reference), on the shipped templates and on paths that take jsonpath's
-- lax rules, filters, missing members, nested $each, NULLs
CREATE FUNCTION pg_temp.fill_ref(template jsonb, ctx jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE k text; v jsonb; r jsonb; result jsonb;
BEGIN
    CASE jsonb_typeof(template)
    WHEN 'object' THEN
        IF template ? '$if' AND template ? '$then' THEN
            r := CASE WHEN jsonb_typeof(template -> '$if') = 'string'
                      THEN jsonb_path_query_first(ctx, (template ->> '$if')::jsonpath) END;
            IF r IS NOT NULL AND r NOT IN ('null', 'false') THEN RETURN pg_temp.fill_ref(template -> '$then', ctx); END IF;
            RETURN coalesce(pg_temp.fill_ref(template -> '$else', ctx), 'null');
        END IF;
        IF template ? '$each' AND template ? '$to' THEN
            r := CASE WHEN jsonb_typeof(template -> '$each') = 'string'
                      THEN jsonb_path_query_first(ctx, (template ->> '$each')::jsonpath) END;
            IF jsonb_typeof(r) IS DISTINCT FROM 'array' THEN RETURN '[]'; END IF;
            SELECT coalesce(jsonb_agg(pg_temp.fill_ref(template -> '$to', ctx || jsonb_build_object('item', e)) ORDER BY n), '[]')
              INTO result FROM jsonb_array_elements(r) WITH ORDINALITY AS a(e, n);
            RETURN result;
        END IF;
        result := '{}';
        FOR k, v IN SELECT * FROM jsonb_each(template) LOOP
            IF jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^\$[.[]' THEN
                r := jsonb_path_query_first(ctx, (v #>> '{}')::jsonpath);
                CONTINUE WHEN r IS NULL;
            ELSE
                r := pg_temp.fill_ref(v, ctx);
            END IF;
            result := result || jsonb_build_object(k, r);
        END LOOP;
        RETURN result;
    WHEN 'array' THEN
        SELECT coalesce(jsonb_agg(pg_temp.fill_ref(e, ctx) ORDER BY n), '[]') INTO result
          FROM jsonb_array_elements(template) WITH ORDINALITY AS a(e, n);
        RETURN result;
    WHEN 'string' THEN
        IF (template #>> '{}') ~ '^\$[.[]' THEN
            RETURN coalesce(jsonb_path_query_first(ctx, (template #>> '{}')::jsonpath), 'null');
        END IF;
        RETURN template;
    ELSE
        RETURN template;
    END CASE;
END
$f$;
CREATE TEMP TABLE fill_ctx (ctx jsonb);
INSERT INTO fill_ctx VALUES
    ('{"out": {"data": [{"id": 1, "caller": {"id": "a", "display_name": null}, "participants": [{"id": "b"}, {"id": "c"}]},
                        {"id": 2, "caller": null, "participants": []}, 7, "s", null, [1, [2]]],
               "call": {"id": "x", "participants": [{"role": "caller", "user_id": "a"}, {"role": "callee", "user_id": "b"}]},
               "has_more": true, "item": "shadowed", "to": 3, "type": "t", "last": [9], "nested": {"k": {"l": [[5]]}}},
       "in": {"to": "b", "offer": {"sdp": "v=0"}, "callId": "c1"}, "params": {"id": "p"}, "query": {}, "body": [1, 2],
       "me": "alice"}'),
    ('{}'), ('null'), ('[1, 2]'), ('"s"');
CREATE TEMP TABLE fill_tmpl (t jsonb);
INSERT INTO fill_tmpl SELECT response FROM pgcall.dialect_route WHERE response IS NOT NULL
    UNION ALL SELECT args FROM pgcall.dialect_route UNION ALL SELECT http_error FROM pgcall.dialect
    UNION ALL SELECT error_payload FROM pgcall.dialect
    UNION ALL SELECT args FROM pgcall.dialect_event UNION ALL SELECT reply_payload FROM pgcall.dialect_event WHERE reply_payload IS NOT NULL;
INSERT INTO fill_tmpl VALUES
    ('"$.out.data.id"'), ('"$.out.data[0].caller.id"'), ('"$.out.call[0].id"'), ('"$.out.has_more[0]"'),
    ('"$.out.call.participants[*] ? (@.role == \"callee\").user_id"'), ('"$.nope"'), ('"$.out.data[99]"'),
    ('"$.in.to"'), ('"$.out.type"'), ('"$.out.last[0]"'), ('"$.out.nested.k.l[0][0]"'), ('"$[0]"'), ('"$.body[1]"'),
    ('"plain"'), ('"$"'), ('5'), ('null'), ('[]'), ('{}'), ('["$.nope", "$.me", {"a": "$.nope", "b": ["$.in"]}]'),
    ('{"l": {"$each": "$.out.data", "$to": {"i": "$.item", "id": "$.item.id", "c": "$.item.caller.id", "o": "$.out.has_more",
            "p": {"$each": "$.item.participants", "$to": ["$.item.id", "$.item"]}, "sh": "$.item.caller"}}}'),
    ('{"$each": "$.out.data[0].participants", "$to": "$.item.id"}'), ('{"$each": "$.out.item", "$to": 1}'),
    ('{"a": {"$if": "$.out.has_more", "$then": "$.out.to", "$else": 0}, "b": {"$if": "$.nope", "$then": 1},
      "c": {"$if": "$.out.type == \"t\"", "$then": {"x": "$.nope", "y": "$.me"}, "$else": "$.me"},
      "d": {"$if": "$.out.data[4]", "$then": 1, "$else": {"$each": "$.out.last", "$to": "$.item"}},
      "e": {"$each": "$.out.data", "$to": {"$if": "$.item.caller.id", "$then": "$.item.caller.id", "$else": "$.item"}},
      "f": {"$if": 7, "$then": 1, "$else": 2}, "g": {"$if": "$.out.nested", "$else": 2}}'),
    ('{"$each": 5, "$to": 1}'), ('{"$each": "$.out.data", "$to": {"$each": "$.item.participants", "$to": "$.item.id"}}'),
    ('{"$each": "$.out.data", "x": 1}'), ('{"a": {"$each": "$.in.offer", "$to": 1}}'),
    -- a missing member or an index out of range, then simple steps (nothing), a predicate (false), a filter, a method
    ('"$.nope.a[0].b"'), ('"$.out.nope[2]"'), ('"$.out.data[99].id"'), ('"$.out.last[5][0]"'), ('"$.nope.a == 1"'),
    ('"$.out.nope.x != null"'), ('"$.out.data[99] == 1"'), ('"$.nope ? (@ == 1)"'), ('"$.out.nope[*] ? (@.x == 1)"'),
    ('"$.out.data[99] ? (@ == 1)"'), ('"$.nope.size()"'), ('"$.nope.x [0]"'), ('"$.out.data[1].caller.id"'),
    ('{"a": "$.nope == 1", "b": "$.nope.x", "c": "$.out.data[99] == 1", "d": "$.out.data[99][0]", "e": "$.nope.x ? (@ > 0)"}'),
    ('{"$each": "$.out.data", "$to": {"$if": "$.item.nope.x == 1", "$then": 1, "$else": {"m": "$.item.nope.x",
       "p": "$.item.caller.nope == null", "q": {"$each": "$.item.participants", "$to": {"a": "$.item.nope[0]",
       "b": "$.item.nope[0] == 1", "c": "$.item.id ? (@ == \"b\")", "d": {"$if": "$.item.nope", "$then": 1, "$else": "$.item.nope.y"}}}}}}'),
    ('{"$each": "$.nope.list", "$to": 1}'), ('{"$if": "$.nope.x == null", "$then": "yes", "$else": "no"}');
SELECT is((SELECT count(*) FROM fill_tmpl t, fill_ctx c
            WHERE pgcall.dialect_fill(t.t, c.ctx) IS DISTINCT FROM pg_temp.fill_ref(t.t, c.ctx)), 0::bigint,
          'dialect_fill in C fills every template in every context as the PL/pgSQL version did');
SELECT is(pgcall.dialect_fill('{"a": "$.nope.x[0]", "b": "$.nope.x[0] == 1", "c": "$.l[3].x", "d": "$.l[3] ? (@ == 1)"}', '{"l": [1]}'),
          '{"b": false}', 'a missing member or index then simple steps names nothing, then a predicate false');
SELECT is(pgcall.dialect_fill('"$.nope == null"', '{}'), 'false', 'as jsonpath says of a predicate over nothing');
SELECT is(pgcall.dialect_fill(NULL, '{}'), NULL, 'a NULL template is NULL');
SELECT is(pgcall.dialect_fill('{"a": "$.x", "b": "$.y[0]"}', NULL), pg_temp.fill_ref('{"a": "$.x", "b": "$.y[0]"}', NULL),
          'and a NULL context names nothing');
SELECT throws_ok($$SELECT pgcall.dialect_fill('"$.(("', '{}')$$, '42601', NULL, 'a path that does not parse is an error');

SET LOCAL ROLE pgcall_user;
SELECT pg_temp.act('alice');

CREATE TEMP TABLE r AS SELECT pg_temp.h('POST', '/calls/', 'x=1', '{"me": "alice", "to": "bob", "type": "video"}') AS v;
SELECT is(v -> 'status', '201', 'the route''s success status') FROM r;
SELECT is(v #> '{body,by}', '"alice"', 'me in the response') FROM r;
SELECT is(v #> '{body,q}', '{"x": "1"}', 'the query string') FROM r;
SELECT ok(v #>> '{body,id}' ~ '^[0-9a-f-]{36}$', 'the function''s result (a trailing slash is the same route)') FROM r;
SELECT is(pg_temp.h('GET', '/calls/' || (SELECT v #>> '{body,id}' FROM r)) #> '{body,who}',
          '[{"u": "alice"}, {"u": "bob"}]', 'a :param, and $each over the participants');
SELECT is(pg_temp.h('GET', '/calls/mine', 'limit=1') -> 'status', '200', 'a literal segment wins over a :param');
SELECT is(jsonb_array_length(pg_temp.h('GET', '/calls/mine', 'limit=1') -> 'body'), 1,
          'no response template: the result as it is, query values as arguments');

SELECT is(pg_temp.h('POST', '/calls', '', '{"me": "bob", "to": "carol"}'),
          '{"status": 403, "body": {"ok": false, "why": "me must be the authenticated user", "code": "P403A", "st": 403}, "retry_after": null}',
          'a self field naming someone else: 403 in the dialect''s error shape');
SELECT is(pg_temp.h('POST', '/calls', '', '{"me": 7, "to": "carol"}') -> 'status', '400', 'a self field that is not a string');
SELECT is(pg_temp.h('POST', '/calls', '', '{"me": "alice"}') #> '{body,why}', '"Say everything"',
          'required: the dialect''s words for P400R');
SELECT is(pg_temp.h('POST', '/calls', '', '{"me": "alice"') #>> '{body,code}', '22032', 'a body that is not JSON');
SELECT is(pg_temp.h('POST', '/calls', '', '{"me": "alice"') -> 'status', '400', 'is 400');
SELECT is(pg_temp.h('DELETE', '/calls') -> 'status', '404', 'another method is no route');
SELECT is(pg_temp.h('GET', '/calls/x/y') #>> '{body,code}', '42883', 'nor another shape');
SELECT is(pg_temp.h('GET', '//calls') -> 'status', '404', 'an empty segment matches no :param');
SELECT is(pg_temp.h('GET', '/calls/00000000-0000-4000-8000-000000000000'),
          '{"status": 410, "body": {"ok": false, "why": "No such call", "code": "P404A", "st": 410}, "retry_after": null}',
          'dialect_error words and statuses');
SELECT is(pg_temp.h('POST', '/token', '', '{"ch": "x", "user": "alice"}') -> 'status', '403',
          'a backend-only route refuses a user');
SELECT throws_ok($$SELECT pgcall.dialect_http('nope', 'GET', '/', '', '')$$, '22023', NULL, 'an unknown dialect');

-- a failure rolls back what the function did
CREATE TEMP TABLE before_count AS SELECT jsonb_array_length(pgcall.calls_mine(NULL, 100)) AS n;
RESET ROLE;
UPDATE pgcall.dialect_route SET response = '{"x": "$.out.call.id"}', args = '{"invitees": ["$.body.to"], "type": "nope"}'
 WHERE dialect = 't' AND path = '/calls';
SET LOCAL ROLE pgcall_user;
SELECT is(pg_temp.h('POST', '/calls', '', '{"to": "bob"}') -> 'status', '400', 'a function that fails');
SELECT is(jsonb_array_length(pgcall.calls_mine(NULL, 100)), (SELECT n FROM before_count), 'leaves nothing behind');

-- anonymous: a self field needs a user
RESET ROLE;
SET LOCAL ROLE pgcall_anon;
SELECT set_config('request.jwt.claims', '', true);
SELECT is(pg_temp.h('POST', '/calls', '', '{"me": "alice", "to": "bob"}') -> 'status', '401', 'anonymous: 401');

-- a backend acts for the user a self field names, and may use the backend-only route
RESET ROLE;
SET LOCAL ROLE pgcall_backend;
SELECT set_config('request.jwt.claims', '{"role": "pgcall_backend"}', true);
SELECT is(pg_temp.h('POST', '/token', '', '{"ch": "nope", "user": "alice"}') #>> '{body,why}', 'No such call',
          'a backend passes the backend-only check; channel_token finds no call of alice''s there');
SELECT throws_ok($$SELECT pgcall.channel_token(NULL, 'alice')$$, 'P400R', NULL, 'channel_token needs a channel');
RESET ROLE;
SET LOCAL ROLE pgcall_user;
SELECT throws_ok($$SELECT pgcall.channel_token('x', 'alice')$$, '42501', NULL, 'and is for backends only');

SELECT * FROM finish();
ROLLBACK;
