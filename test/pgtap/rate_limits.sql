-- Rate limits: calls created, joins, tokens and analytics per user and window; hit, refused, reset.
BEGIN;
SELECT plan(35);

\ir include/roles.psql
CREATE FUNCTION pg_temp.hits(u text, a text) RETURNS integer LANGUAGE sql
    AS $$ SELECT hits FROM pgcall.rate_limit WHERE user_id = u AND action = a $$;
-- The window closing: what an hour (or a minute) passing does to the rows.
CREATE FUNCTION pg_temp.pass(d interval) RETURNS void LANGUAGE sql
    AS $$ UPDATE pgcall.rate_limit SET window_start = window_start - d $$;

-- The defaults are seed 002's (the settings exist once the library is loaded).
LOAD 'pgcall';
SELECT is(current_setting('pgcall.rate_limit_tokens'), '60', 'tokens: 60 a minute');
SELECT is(current_setting('pgcall.rate_limit_calls'), '10', 'calls created: 10 an hour');
SELECT is(current_setting('pgcall.rate_limit_joins'), '100', 'joins: 100 a minute');
SELECT is(current_setting('pgcall.rate_limit_analytics'), '20', 'analytics: 20 a minute');

-- Users cannot lift them.
SET LOCAL ROLE pgcall_user;
SELECT throws_ok($$SET pgcall.rate_limit_calls = 0$$, '42501', NULL, 'an end user cannot change a limit');
RESET ROLE;

-- Calls created: the 11th in an hour is refused with when to retry.
SELECT pg_temp.act('alice');
SELECT lives_ok($$SELECT count(pgcall.call_start(ARRAY['b' || i])) FROM generate_series(1, 9) i$$, 'nine calls');
SELECT lives_ok($$SELECT pgcall.conference_create('Tenth')$$, 'a conference is a call too: the tenth');
SELECT is(pg_temp.hits('alice', 'call'), 10, 'ten counted');
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY['bob'])$$, 'P429A',
                 'rate limit exceeded: at most 10 calls created per hour, retry in 3600 seconds',
                 'the eleventh is refused, saying when to retry');
SELECT throws_ok($$SELECT pgcall.conference_create('Eleventh')$$, 'P429A', NULL, 'conferences too');
SELECT is(pg_temp.hits('alice', 'call'), 10, 'refused requests do not count');
SELECT is((SELECT count(*)::int FROM pgcall.call WHERE created_by = 'alice'), 10, 'and created nothing');
SELECT pg_temp.act('bea');
SELECT lives_ok($$SELECT pgcall.call_start(ARRAY['bob'])$$, 'another user is not limited by alice');
-- The window closes: alice may call again, counted from one.
SELECT pg_temp.pass('1 hour');
SELECT pg_temp.act('alice');
SELECT lives_ok($$SELECT pgcall.call_start(ARRAY['bob'])$$, 'after an hour alice may call again');
SELECT is(pg_temp.hits('alice', 'call'), 1, 'in a new window');
SELECT is((SELECT window_start FROM pgcall.rate_limit WHERE user_id = 'alice' AND action = 'call'), now(),
          'which started now');

-- The retry time is in the detail too.
SET LOCAL pgcall.rate_limit_calls = 1;
CREATE FUNCTION pg_temp.refusal() RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    d text;
    h text;
BEGIN
    PERFORM pgcall.call_start(ARRAY['bob']);
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN ARRAY[SQLSTATE, d, h];
END
$$;
SELECT is(pg_temp.refusal(),
          ARRAY['P429A',
                'Retry after ' || to_char((now() + interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '.',
                'Wait 3600 seconds.  The limit is the setting pgcall.rate_limit_calls.'],
          'P429A details when to retry and which setting limits');
-- 0 lifts a limit.
SET LOCAL pgcall.rate_limit_calls = 0;
SELECT lives_ok($$SELECT count(pgcall.call_start(ARRAY['c' || i])) FROM generate_series(1, 20) i$$,
                'with the limit at 0, twenty more calls');

-- Joins: 100 a minute, the same device again included.
SET LOCAL pgcall.rate_limit_joins = 3;
SELECT pg_temp.act('host');
CREATE TEMP TABLE c AS SELECT (pgcall.conference_create('Open', is_public => true)->'call'->>'id')::uuid AS id;
SELECT pg_temp.act('joiner');
SELECT lives_ok(format('SELECT pgcall.call_join(%L), pgcall.call_join(%L), pgcall.call_join(%L)',
                       (SELECT id FROM c), (SELECT id FROM c), (SELECT id FROM c)), 'three joins');
SELECT throws_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'P429A',
                 'rate limit exceeded: at most 3 joins per minute, retry in 60 seconds', 'the fourth in a minute is refused');
SELECT pg_temp.pass('1 minute');
SELECT lives_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'a minute later it works again');

-- Tokens, counted only where a token is handed out.
SET LOCAL pgcall.rate_limit_tokens = 2;
SELECT pg_temp.act('tok');
SELECT lives_ok($$SELECT pgcall.call_start(ARRAY['x1']), pgcall.call_start(ARRAY['x2']), pgcall.call_start(ARRAY['x3'])$$,
                'without Agora, starting calls hands out no token');
SELECT is(pg_temp.hits('tok', 'token'), NULL, 'and counts none');
SET LOCAL pgcall.agora_app_id = '970ca35de60c44645bbae8a215061b33';
SELECT pgcall.set_secret('agora_app_certificate', '5cfd2fd1755d40ecb72977518be15d3b');
CREATE TEMP TABLE t AS SELECT (pgcall.call_start(ARRAY['y1'])->'call'->>'id')::uuid AS id;
SELECT lives_ok(format('SELECT pgcall.call_media_session(%L)', (SELECT id FROM t)), 'a second token');
SELECT throws_ok(format('SELECT pgcall.call_media_session(%L)', (SELECT id FROM t)), 'P429A',
                 'rate limit exceeded: at most 2 token requests per minute, retry in 60 seconds', 'a third is refused');
SELECT throws_ok($$SELECT pgcall.call_session('y2')$$, 'P429A', NULL, 'call_session hands out tokens too');
SELECT pg_temp.pass('1 minute');
SELECT lives_ok(format('SELECT pgcall.call_media_session(%L)', (SELECT id FROM t)), 'tokens again a minute later');

-- Analytics, per administrator.
SET LOCAL pgcall.rate_limit_analytics = 2;
SELECT pg_temp.act('');
SET LOCAL ROLE pgcall_admin;
SELECT lives_ok($$SELECT pgcall.admin_analytics(1), pgcall.admin_analytics(2)$$, 'two reports');
SELECT throws_ok($$SELECT pgcall.admin_analytics(3)$$, 'P429A',
                 'rate limit exceeded: at most 2 analytics reports per minute, retry in 60 seconds', 'a third is refused');
RESET ROLE;
SELECT is(pg_temp.hits('role:pgcall_admin', 'analytics'), 2,
          'an administrator without a user id is counted by role');

-- purge forgets windows that closed, each by its own length.
SELECT pg_temp.pass('2 minutes');
-- (bea's window of calls created opened before the hour that passed above.)
CREATE TEMP TABLE windows AS
    SELECT count(*) FILTER (WHERE action <> 'call' OR user_id = 'bea')::text AS n FROM pgcall.rate_limit;
SELECT is(pgcall.purge(1000)->>'rate_limits_deleted', (SELECT n FROM windows),
          'two minutes on, purge deletes the closed one-minute windows, and bea''s');
SELECT is((SELECT array_agg(user_id || ':' || action ORDER BY user_id) FROM pgcall.rate_limit),
          ARRAY['alice:call'],
          'alice''s hour-long window, opened after that hour, is still open');
SELECT pg_temp.pass('1 hour');
CREATE TEMP TABLE hour_windows AS SELECT count(*)::text AS n FROM pgcall.rate_limit;
SELECT cmp_ok((SELECT n::int FROM hour_windows), '>', 0, 'there were some');
SELECT is(pgcall.purge(1000)->>'rate_limits_deleted', (SELECT n FROM hour_windows), 'an hour later they go too');
SELECT is((SELECT count(*)::int FROM pgcall.rate_limit), 0, 'none is left');

SELECT * FROM finish();
ROLLBACK;
