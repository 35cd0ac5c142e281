-- "Rung past its deadline reads as missed" is written once, in
-- pgcall.effective_call_status and pgcall.effective_participant_status (on
-- pgcall.rings_until); every C path asks them.  The functions equal the
-- rule as it was spelled out in each place, for every status and deadline,
-- and each C path that asks them still sees an overdue call as ended.
BEGIN;
SELECT plan(16);

\ir include/roles.psql
CREATE FUNCTION pg_temp.overdue(c uuid) RETURNS void LANGUAGE sql AS $$
    UPDATE pgcall.call SET ring_deadline = now() - interval '1 s' WHERE id = c AND status = 'ringing';
    UPDATE pgcall.participant SET ring_deadline = now() - interval '1 s'
     WHERE call_id = c AND status IN ('invited', 'ringing');
$$;

-- Every status against a deadline passed, exactly now, to come, and none.
CREATE TEMP TABLE deadlines AS
    SELECT d FROM (VALUES (now() - interval '1 s'), (now()), (now() + interval '1 h'), (NULL::timestamptz)) v(d);
SELECT is((SELECT count(*)::int FROM deadlines,
                  unnest(ARRAY['invited', 'ringing', 'joined', 'left', 'declined', 'missed', 'busy', 'removed']) s
            WHERE pgcall.effective_participant_status(s, d) IS DISTINCT FROM
                  CASE WHEN s IN ('invited', 'ringing') AND d <= now() THEN 'missed' ELSE s END),
          0, 'effective_participant_status is the old rule for every status and deadline');
SELECT is((SELECT count(*)::int FROM deadlines, unnest(ARRAY['ringing', 'active', 'ended']) s
            WHERE pgcall.effective_call_status(s, d) IS DISTINCT FROM
                  CASE WHEN s = 'ringing' AND d <= now() THEN 'ended' ELSE s END),
          0, 'effective_call_status is the old rule for every status and deadline');
SELECT is((SELECT count(*)::int FROM deadlines,
                  unnest(ARRAY['invited', 'ringing', 'joined', 'left', 'declined', 'missed', 'busy', 'removed']) s
            WHERE COALESCE(pgcall.rings_until(s, d) <= now(), false) IS DISTINCT FROM
                  (pgcall.effective_participant_status(s, d) <> s AND d IS NOT NULL)),
          0, 'rings_until (the index call_expire uses) agrees with effective_participant_status');

-- call_signal reads the call's status through effective_call_status.
SELECT pg_temp.act('amy');
CREATE TEMP TABLE s AS SELECT (pgcall.call_start(ARRAY['bo'])->'call'->>'id')::uuid AS id;
SELECT lives_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM s), 'bo', 'offer', '{}'),
                'a ringing call carries signals');
SELECT pg_temp.overdue((SELECT id FROM s));
SELECT throws_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM s), 'bo', 'offer', '{}'),
                 'P409B', 'call has already ended', 'an overdue ringing call carries none');

-- call_get: an overdue call reads as ended at its deadline, after 0 s, its callee missed by timeout.
SELECT is(pgcall.call_get((SELECT id FROM s))->>'status', 'ended', 'call_get: an overdue call has ended');
SELECT is((pgcall.call_get((SELECT id FROM s))->>'ended_at')::timestamptz,
          (SELECT ring_deadline FROM pgcall.call WHERE id = (SELECT id FROM s)), '... at its deadline');
SELECT is(pgcall.call_get((SELECT id FROM s))->>'duration_seconds', '0', '... after 0 seconds');
SELECT is((SELECT p->>'status' || '/' || (p->>'reason') FROM jsonb_array_elements(pgcall.call_get((SELECT id FROM s))->'participants') p
            WHERE p->>'user_id' = 'bo'), 'missed/timeout', '... and its callee missed it by timeout');

-- Glare looks only at calls that still ring: bo calling amy back after amy's call
-- rang out starts a new call.
SELECT pg_temp.act('bo');
CREATE TEMP TABLE back AS SELECT pgcall.call_start(ARRAY['amy']) AS j;
SELECT is((SELECT j->>'glare' FROM back), 'false', 'an overdue call is no glare');
SELECT isnt((SELECT (j->'call'->>'id')::uuid FROM back), (SELECT id FROM s), '... a new call starts');

-- An operation on a call expires its overdue invitees first (the pending_expired column).
SELECT pg_temp.act('cy');
CREATE TEMP TABLE g AS SELECT (pgcall.call_start(ARRAY['di', 'ed'])->'call'->>'id')::uuid AS id;
SELECT pg_temp.act('di');
SELECT lives_ok(format('SELECT pgcall.call_accept(%L)', (SELECT id FROM g)), 'di answers the group call');
UPDATE pgcall.participant SET ring_deadline = now() - interval '1 s'
 WHERE call_id = (SELECT id FROM g) AND user_id = 'ed';
SELECT is((SELECT status FROM pgcall.participant WHERE user_id = 'ed'), 'invited', 'ed''s row still says invited');
SELECT lives_ok(format('SELECT pgcall.call_set_media(%L, true)', (SELECT id FROM g)), 'di mutes');
SELECT is((SELECT status || '/' || reason FROM pgcall.participant WHERE user_id = 'ed'), 'missed/timeout',
          'which records ed as missed by timeout first');
SELECT is((SELECT status FROM pgcall.call WHERE id = (SELECT id FROM g)), 'active', 'and the call goes on');

SELECT * FROM finish();
ROLLBACK;
