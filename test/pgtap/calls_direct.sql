-- One-to-one calls: start, answer, end; durations count answered time only.
BEGIN;
SELECT plan(34);

\ir include/roles.psql
CREATE FUNCTION pg_temp.age(c uuid, secs integer) RETURNS void LANGUAGE sql AS $$
    UPDATE pgcall.call SET created_at = created_at - make_interval(secs => secs),
                           answered_at = answered_at - make_interval(secs => secs) WHERE id = c;
    UPDATE pgcall.participant SET current_join = current_join - make_interval(secs => secs)
     WHERE call_id = c AND status = 'joined';
$$;

SELECT pg_temp.act('alice');
CREATE TEMP TABLE r AS SELECT pgcall.call_start(ARRAY['bob'], 'video') AS j;
SELECT is((SELECT j->'call'->>'kind' FROM r), 'direct', 'one invitee makes a direct call');
SELECT is((SELECT j->'call'->>'media' FROM r), 'video', 'media is the type asked for');
SELECT is((SELECT j->'call'->>'status' FROM r), 'ringing', 'a new call rings');
SELECT is((SELECT j->>'glare' FROM r), 'false', 'no glare');
SELECT is((SELECT j->'call'->>'channel_id' FROM r), 'call-' || (SELECT j->'call'->>'id' FROM r),
          'the channel is call-<call id>');
SELECT is((SELECT j->'call'->>'max_participants' FROM r), '2', 'a direct call holds two');
SELECT is((SELECT status FROM pgcall.participant WHERE user_id = 'alice'), 'joined', 'the caller is in the call');
SELECT is((SELECT role FROM pgcall.participant WHERE user_id = 'alice'), 'caller', 'alice is the caller');
SELECT is((SELECT status FROM pgcall.participant WHERE user_id = 'bob'), 'invited', 'the callee is invited');
SELECT is((SELECT role FROM pgcall.participant WHERE user_id = 'bob'), 'callee', 'bob is the callee');
SELECT ok((SELECT ring_deadline - now() = interval '90 seconds' FROM pgcall.participant WHERE user_id = 'bob'),
          'the invitation rings for pgcall.ring_timeout');

CREATE TEMP TABLE c AS SELECT (j->'call'->>'id')::uuid AS id FROM r;

SELECT pg_temp.act('bob');
SELECT is(pgcall.call_set_status((SELECT id FROM c), 'ringing')->'call'->'participants'->1->>'status',
          'ringing', 'the callee''s device reports ringing');
SELECT is(pgcall.call_accept((SELECT id FROM c), 'bob-phone')->'call'->>'status', 'active',
          'answering makes the call active');
SELECT is((SELECT answered_by FROM pgcall.call), 'bob', 'answered_by names who answered');
SELECT ok((SELECT answered_at = now() FROM pgcall.call), 'answered_at is stamped');
SELECT is((SELECT device_id FROM pgcall.participant WHERE user_id = 'bob'), 'bob-phone', 'the answering device is kept');
SELECT is((SELECT count(*)::int FROM pgcall.participant_session WHERE left_at IS NULL), 2,
          'both have an open join session');

-- Two minutes of conversation, then bob hangs up.
SELECT pg_temp.age((SELECT id FROM c), 120);
CREATE TEMP TABLE e AS SELECT pgcall.call_end((SELECT id FROM c)) AS j;
SELECT is((SELECT j->'call'->>'status' FROM e), 'ended', 'call_end ends the call');
SELECT is((SELECT j->'call'->>'end_reason' FROM e), 'completed', 'an answered call ends completed');
SELECT is((SELECT j->'call'->>'ended_by' FROM e), 'bob', 'ended_by names who hung up');
SELECT is((SELECT j->'call'->>'duration_seconds' FROM e), '120', 'the duration is the answered time');
SELECT is((SELECT j->>'channel_id' FROM e), (SELECT channel_id FROM pgcall.call), 'the result names the channel');
SELECT ok((SELECT ended_at = now() FROM pgcall.call), 'ended_at is stamped');
SELECT is((SELECT array_agg(status ORDER BY user_id) FROM pgcall.participant), ARRAY['left', 'left'],
          'both participants left');
SELECT is((SELECT array_agg(joined_seconds ORDER BY user_id) FROM pgcall.participant), ARRAY[120, 120],
          'each participant was joined 120 s');
SELECT is((SELECT count(*)::int FROM pgcall.participant_session WHERE left_at IS NULL), 0,
          'every join session is closed');
SELECT throws_ok(format('SELECT pgcall.call_end(%L)', (SELECT id FROM c)), 'P409B', 'call has already ended',
                 'ending twice is refused');

-- End by channel, as seed 000 does; an unanswered call the callee ends is declined.
SELECT pg_temp.act('carol');
CREATE TEMP TABLE r2 AS SELECT pgcall.call_start(ARRAY['dave'], 'voice') AS j;
SELECT is((SELECT j->'call'->>'media' FROM r2), 'audio', 'voice is another name for audio');
SELECT pg_temp.act('dave');
CREATE TEMP TABLE e2 AS SELECT pgcall.call_end(channel_id => (SELECT j->'call'->>'channel_id' FROM r2)) AS j;
SELECT is((SELECT j->'call'->>'end_reason' FROM e2), 'rejected', 'the callee ending a ringing call rejects it');
SELECT is((SELECT j->'call'->>'duration_seconds' FROM e2), '0', 'an unanswered call lasts 0 s');
SELECT is((SELECT status FROM pgcall.participant WHERE user_id = 'dave'), 'declined', 'the callee declined');

-- A caller hanging up while it rings cancels; the callee missed it.
SELECT pg_temp.act('erin');
CREATE TEMP TABLE r3 AS SELECT pgcall.call_start(ARRAY['frank']) AS j;
SELECT is(pgcall.call_end((SELECT (j->'call'->>'id')::uuid FROM r3))->'call'->>'end_reason', 'cancelled',
          'the caller ending a ringing call cancels it');
SELECT is((SELECT status || '/' || reason FROM pgcall.participant WHERE user_id = 'frank'), 'missed/cancelled',
          'the callee of a cancelled call missed it');
SELECT is((SELECT media FROM pgcall.call WHERE created_by = 'erin'), 'audio', 'type defaults to audio');

SELECT * FROM finish();
ROLLBACK;
