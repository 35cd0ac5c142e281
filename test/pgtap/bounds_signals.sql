-- Signal bounds: payload size, and each sender's budget of signals and bytes per call.
BEGIN;
SELECT plan(16);

\ir include/roles.psql
-- A signal payload of about n bytes of JSON text.
CREATE FUNCTION pg_temp.sdp(n integer) RETURNS jsonb LANGUAGE sql
    AS $$ SELECT jsonb_build_object('type', 'offer', 'sdp', repeat('a', n - 28)) $$;

LOAD 'pgcall';
SELECT is(current_setting('pgcall.signal_max_bytes'), '16kB', 'payloads up to 16 KiB by default');
SELECT is(current_setting('pgcall.rate_limit_signals'), '600', '600 signals per call a minute');
SELECT is(current_setting('pgcall.rate_limit_signal_bytes'), '1MB', '1 MiB of payload per call a minute');
SELECT is(length(pg_temp.sdp(100)::text), 100, '(the helper makes payloads of the size asked)');

SELECT pg_temp.act('alice');
CREATE TEMP TABLE c AS SELECT (pgcall.call_start(ARRAY['bob'])->'call'->>'id')::uuid AS id;
CREATE TEMP TABLE d AS SELECT (pgcall.call_start(ARRAY['carl'])->'call'->>'id')::uuid AS id;

-- Size.
SELECT lives_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'bob', 'offer', pg_temp.sdp(10000)),
                'a 10 KB offer, a large SDP, goes through');
SELECT throws_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'bob', 'offer', pg_temp.sdp(16385)),
                 'P413A', 'signal payload is 16385 bytes, more than the 16384 allowed', 'one byte over 16 KiB is refused');
SELECT throws_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'bob', 'offer', pg_temp.sdp(65536)),
                 'P413A', NULL, '64 KiB, what was allowed before, is refused');
SELECT throws_ok(format('SELECT pgcall.call_signal(%L, %L, %L, pg_temp.sdp(%s))', (SELECT id FROM c), 'bob', 'offer', 10000000),
                 'P413A', 'signal payload is larger than the 16384 bytes allowed', '10 MB is refused before it is printed');

-- Signals per sender per call.
SET LOCAL pgcall.rate_limit_signals = 3;
SELECT lives_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L), pgcall.call_signal(%L, %L, %L, %L)',
                       (SELECT id FROM c), 'bob', 'candidate', '{"c": 1}', (SELECT id FROM c), 'bob', 'candidate', '{"c": 2}'),
                'two more signals in the same call');
SELECT throws_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'bob', 'candidate', '{"c": 3}'),
                 'P429A', 'rate limit exceeded: at most 3 signals in one call per minute, retry in 60 seconds',
                 'the fourth in a minute is refused');
SELECT lives_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM d), 'carl', 'candidate', '{"c": 1}'),
                'another call has its own budget');
SELECT pg_temp.act('bob');
SELECT lives_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'alice', 'answer', '{"c": 1}'),
                'and so does the other sender');
RESET pgcall.rate_limit_signals;

-- Bytes per sender per call.
SET LOCAL pgcall.rate_limit_signal_bytes = 30000;
SELECT lives_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'alice', 'answer', pg_temp.sdp(16000)),
                'bob answers with 16000 bytes');
SELECT throws_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'alice', 'answer', pg_temp.sdp(16000)),
                 'P429A', 'rate limit exceeded: at most 30000 bytes of signal payload in one call per minute, retry in 60 seconds',
                 'another 16000 would pass his 30000 bytes a minute');

-- Refusals leave no rows behind.
SELECT pg_temp.act('mallory');
SELECT throws_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'bob', 'offer', '{}'), 'P403B', NULL,
                 'a stranger cannot signal in the call');
SELECT is((SELECT count(*)::int FROM pgcall.rate_limit WHERE user_id = 'mallory'), 0, 'and counted nothing');

SELECT * FROM finish();
ROLLBACK;
