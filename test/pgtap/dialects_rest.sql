-- REST dialects: pgcall.dialect_http (route matching, :params, query
-- strings, bodies, required and self fields, backend-only routes, error
-- shapes and statuses, rollback on failure), $each in dialect_fill, the
-- constraints on dialect_route rows, and pgcall.channel_token.
BEGIN;
SELECT plan(34);

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
