-- Group calls: invitees, joins, leaves, re-joins, capacity, the host ends.
BEGIN;
SELECT plan(35);

\ir include/roles.psql
CREATE FUNCTION pg_temp.status(u text) RETURNS text LANGUAGE sql
    AS $$ SELECT status FROM pgcall.participant WHERE user_id = u $$;

SELECT pg_temp.act('host');
CREATE TEMP TABLE r AS
    SELECT pgcall.call_start(ARRAY['ann', 'ben', 'cid', 'dot'], 'video', room_id => 'room-7',
                             max_participants => 3) AS j;
CREATE TEMP TABLE c AS SELECT (j->'call'->>'id')::uuid AS id FROM r;
SELECT is((SELECT j->'call'->>'kind' FROM r), 'group', 'several invitees make a group call');
SELECT is((SELECT j->'call'->>'room_id' FROM r), 'room-7', 'the room is kept');
SELECT is((SELECT role FROM pgcall.participant WHERE user_id = 'host'), 'host', 'the caller hosts a group call');
SELECT is((SELECT count(*)::int FROM pgcall.participant WHERE role = 'member' AND status = 'invited'), 4,
          'every invitee is invited as a member');
SELECT is(pgcall.call_active('room-7')->>'id', (SELECT id::text FROM c), 'the room''s active call is found');

SELECT pg_temp.act('ann');
SELECT is(pgcall.call_accept((SELECT id FROM c))->'call'->>'status', 'active', 'the first answer makes it active');
SELECT pg_temp.act('ben');
SELECT lives_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'a second invitee joins');
SELECT pg_temp.act('cid');
SELECT throws_ok(format('SELECT pgcall.call_accept(%L)', (SELECT id FROM c)), 'P409D', 'call is full',
                 'a fourth person is refused by max_participants 3');
SELECT is(pg_temp.status('cid'), 'invited', 'the refused invitee is still invited');
SELECT is(pgcall.call_reject((SELECT id FROM c), 'in a meeting')->'call'->>'status', 'active',
          'declining does not end a group call');
SELECT is((SELECT reason FROM pgcall.participant WHERE user_id = 'cid'), 'in a meeting', 'the decline reason is kept');

-- ann leaves, cid changes her mind and takes the free place, ann cannot come back while it is full.
SELECT pg_temp.act('ann');
SELECT is(pgcall.call_leave((SELECT id FROM c))->'call'->>'status', 'active', 'one leaving keeps the call going');
SELECT is(pg_temp.status('ann'), 'left', 'ann left');
-- (her first stretch happened a minute ago)
UPDATE pgcall.participant_session SET joined_at = joined_at - interval '60 s', left_at = left_at - interval '30 s'
 WHERE user_id = 'ann';
SELECT pg_temp.act('cid');
SELECT lives_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'a decliner may join while it lasts');
SELECT pg_temp.act('ann');
SELECT throws_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'P409D', 'call is full',
                 're-joining a full call is refused');
SELECT pg_temp.act('ben');
SELECT lives_ok(format('SELECT pgcall.call_leave(%L)', (SELECT id FROM c)), 'ben leaves');
SELECT pg_temp.act('ann');
SELECT lives_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'ann re-joins in ben''s place');
SELECT is((SELECT count(*)::int FROM pgcall.participant_session WHERE user_id = 'ann'), 2,
          'a re-join opens a second session');
SELECT is(pgcall.call_join((SELECT id FROM c))->'call'->>'status', 'active', 'joining again from the same device is a no-op');

-- Anyone in the call may add people; not to a direct call, not twice.
SELECT pg_temp.act('cid');
SELECT is((SELECT p->>'status' FROM jsonb_array_elements(pgcall.call_invite((SELECT id FROM c), ARRAY['eve'])->'call'->'participants') p
            WHERE p->>'user_id' = 'eve'), 'invited', 'a member invites eve');
SELECT is((SELECT role FROM pgcall.participant WHERE user_id = 'eve'), 'member', 'as a member');
SELECT throws_ok(format('SELECT pgcall.call_invite(%L, ARRAY[%L])', (SELECT id FROM c), 'ann'), 'P400O',
                 '"ann" is already a participant of this call', 'no one is invited twice');
SELECT pg_temp.act('dot');
SELECT throws_ok(format('SELECT pgcall.call_invite(%L, ARRAY[%L])', (SELECT id FROM c), 'fay'), 'P403B',
                 'you are not in this call: your status is invited', 'only those in the call invite');

-- Only the host ends it for everyone.
SELECT throws_ok(format('SELECT pgcall.call_end(%L)', (SELECT id FROM c)), 'P403D',
                 'only the host can end a group call for everyone', 'a member cannot end the call for all');
SELECT pg_temp.act('host');
SELECT is(pgcall.call_end((SELECT id FROM c))->'call'->>'end_reason', 'completed', 'the host ends it');
SELECT is((SELECT array_agg(user_id || ':' || status ORDER BY user_id) FROM pgcall.participant),
          ARRAY['ann:left', 'ben:left', 'cid:left', 'dot:missed', 'eve:missed', 'host:left'],
          'those in it left, the one never answering missed it');
SELECT is((SELECT reason FROM pgcall.participant WHERE user_id = 'dot'), 'completed',
          'the missed invitee''s reason says how the call ended');
SELECT is(pgcall.call_active('room-7'), NULL, 'the room has no active call any more');
SELECT is((SELECT count(*)::int FROM pgcall.participant_session WHERE left_at IS NULL), 0, 'all sessions closed');

-- A group call ends by itself when the last person in it leaves.
SELECT pg_temp.act('host');
CREATE TEMP TABLE r2 AS SELECT pgcall.call_start(ARRAY['ann'], is_group => true) AS j;
SELECT is((SELECT j->'call'->>'kind' FROM r2), 'group', 'is_group makes a one-invitee group call');
SELECT is((SELECT j->'call'->>'max_participants' FROM r2), '50', 'max_participants defaults to pgcall.max_participants');
SELECT throws_ok(format('SELECT pgcall.call_invite(%L, ARRAY[%L])',
                        (SELECT (j->'call'->>'id') FROM (SELECT pgcall.call_start(ARRAY['zed']) AS j) x), 'yan'),
                 'P409C', 'a direct call has exactly two participants', 'a direct call takes no one more');
SELECT pg_temp.act('ann');
SELECT lives_ok(format('SELECT pgcall.call_accept(%L)', (SELECT j->'call'->>'id' FROM r2)), 'ann answers');
SELECT lives_ok(format('SELECT pgcall.call_leave(%L)', (SELECT j->'call'->>'id' FROM r2)), 'ann leaves');
SELECT pg_temp.act('host');
SELECT is(pgcall.call_leave((SELECT (j->'call'->>'id')::uuid FROM r2))->'call'->>'end_reason', 'completed',
          'the last one out ends the call as completed');

SELECT * FROM finish();
ROLLBACK;
