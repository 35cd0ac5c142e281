-- Rate-limit gaps closed: rejoining through call_set_status counts as a join, media changes count, and neither writes when nothing changes.
BEGIN;
SELECT plan(16);

\ir include/roles.psql
CREATE FUNCTION pg_temp.hits(u text, a text) RETURNS integer LANGUAGE sql
    AS $$ SELECT hits FROM pgcall.rate_limit WHERE user_id = u AND action = a $$;
CREATE FUNCTION pg_temp.row_of(c uuid, u text) RETURNS tid LANGUAGE sql
    AS $$ SELECT ctid FROM pgcall.participant WHERE call_id = c AND user_id = u $$;

LOAD 'pgcall';
SELECT is(current_setting('pgcall.rate_limit_media'), '60', 'media changes: 60 a minute');

SELECT pg_temp.act('host');
CREATE TEMP TABLE c AS SELECT (pgcall.call_start(ARRAY['ann', 'ben'])->'call'->>'id')::uuid AS id;
SELECT pg_temp.act('ann');
SELECT lives_ok(format('SELECT pgcall.call_set_status(%L, %L)', (SELECT id FROM c), 'joined'), 'ann joins by setting her status');
SELECT is(pg_temp.hits('ann', 'join'), 1, 'which counts as a join');

-- Joined again: nothing written, no session, no event (the row is not updated at all).
CREATE TEMP TABLE before AS
    SELECT pg_temp.row_of((SELECT id FROM c), 'ann') AS t,
           (SELECT count(*) FROM pgcall.participant_session WHERE call_id = (SELECT id FROM c)) AS sessions;
SELECT lives_ok(format('SELECT pgcall.call_set_status(%L, %L)', (SELECT id FROM c), 'joined'), 'joined again');
SELECT is(pg_temp.row_of((SELECT id FROM c), 'ann'), (SELECT t FROM before), 'her participant row was not written');
SELECT is((SELECT count(*) FROM pgcall.participant_session WHERE call_id = (SELECT id FROM c)), (SELECT sessions FROM before),
          'no new session');
SELECT is(pg_temp.hits('ann', 'join'), 2, 'but the request counted');

-- Leaving and rejoining over and over runs into the join limit.
SET LOCAL pgcall.rate_limit_joins = 3;
SELECT lives_ok(format('SELECT pgcall.call_set_status(%L, %L), pgcall.call_set_status(%L, %L)',
                       (SELECT id FROM c), 'left', (SELECT id FROM c), 'joined'), 'she leaves and rejoins once');
SELECT throws_ok(format('SELECT pgcall.call_set_status(%L, %L), pgcall.call_set_status(%L, %L)',
                        (SELECT id FROM c), 'left', (SELECT id FROM c), 'joined'), 'P429A',
                 'rate limit exceeded: at most 3 joins per minute, retry in 60 seconds', 'the fourth join in a minute is refused');
SELECT is((SELECT count(*)::int FROM pgcall.participant_session WHERE call_id = (SELECT id FROM c) AND user_id = 'ann'), 1,
          'one session (a rejoin at the same instant continues it), none for the refused rejoin');
RESET pgcall.rate_limit_joins;

-- Media changes.
SET LOCAL pgcall.rate_limit_media = 3;
CREATE TEMP TABLE m AS SELECT pg_temp.row_of((SELECT id FROM c), 'ann') AS t;
SELECT lives_ok(format('SELECT pgcall.call_set_media(%L, mic_muted => false)', (SELECT id FROM c)), 'unmuting an open microphone');
SELECT is(pg_temp.row_of((SELECT id FROM c), 'ann'), (SELECT t FROM m), 'writes nothing (and so tells nobody)');
SELECT lives_ok(format('SELECT pgcall.call_set_media(%L, mic_muted => true), pgcall.call_set_media(%L, mic_muted => false)',
                       (SELECT id FROM c), (SELECT id FROM c)), 'two toggles');
SELECT throws_ok(format('SELECT pgcall.call_set_media(%L, mic_muted => true)', (SELECT id FROM c)), 'P429A',
                 'rate limit exceeded: at most 3 media changes per minute, retry in 60 seconds', 'the fourth change in a minute is refused');
SELECT is((SELECT mic_muted FROM pgcall.participant WHERE call_id = (SELECT id FROM c) AND user_id = 'ann'), false,
          'and changed nothing');
SELECT pg_temp.act('ben');
SELECT lives_ok(format('SELECT pgcall.call_set_media(%L, camera_off => true)', (SELECT id FROM c)),
                'the limit is per user: ben, being rung, has his own');

SELECT * FROM finish();
ROLLBACK;
