-- Ringing ends: missed by timeout (before and after call_expire), busy, unavailable, glare, several devices.
BEGIN;
SELECT plan(41);

\ir include/roles.psql
CREATE FUNCTION pg_temp.overdue(c uuid) RETURNS void LANGUAGE sql AS $$
    UPDATE pgcall.call SET ring_deadline = now() - interval '1 s' WHERE id = c AND status = 'ringing';
    UPDATE pgcall.participant SET ring_deadline = now() - interval '1 s'
     WHERE call_id = c AND status IN ('invited', 'ringing');
$$;
CREATE FUNCTION pg_temp.start(caller text, invitees text[]) RETURNS uuid LANGUAGE sql AS $$
    SELECT pg_temp.act(caller);
    SELECT (pgcall.call_start(invitees)->'call'->>'id')::uuid;
$$;

-- Missed: reads show it at once, call_expire records it.
CREATE TEMP TABLE m AS SELECT pg_temp.start('amy', ARRAY['bo']) AS id;
SELECT pg_temp.overdue((SELECT id FROM m));
SELECT is((SELECT status FROM pgcall.call), 'ringing', 'the row still says ringing before the sweep');
SELECT is(pgcall.call_get((SELECT id FROM m))->>'status', 'ended', 'but reads show the call ended');
SELECT is(pgcall.call_get((SELECT id FROM m))->>'end_reason', 'missed', '... as missed');
SELECT is(pgcall.call_get((SELECT id FROM m))->'participants'->1->>'status', 'missed', '... and the callee as missed');
SELECT pg_temp.act('bo');
SELECT throws_ok(format('SELECT pgcall.call_accept(%L)', (SELECT id FROM m)), 'P409B', 'call has already ended',
                 'answering after the deadline is refused');
SELECT is(pgcall.call_expire(), 1, 'the sweep records the missed call (the refused answer rolled back)');
SELECT is((SELECT end_reason FROM pgcall.call), 'missed', 'as missed');
SELECT is(pgcall.call_expire(), 0, 'nothing left to expire');

CREATE TEMP TABLE m2 AS SELECT pg_temp.start('amy', ARRAY['cy']) AS id;
SELECT pg_temp.overdue((SELECT id FROM m2));
SELECT is(pgcall.call_expire(), 1, 'call_expire ends an overdue call');
SELECT is((SELECT status || '/' || end_reason FROM pgcall.call WHERE id = (SELECT id FROM m2)), 'ended/missed',
          'as missed');
SELECT is((SELECT status || '/' || reason FROM pgcall.participant WHERE user_id = 'cy'), 'missed/timeout',
          'the callee missed it by timeout');
SELECT is((SELECT duration_seconds FROM pgcall.call WHERE id = (SELECT id FROM m2)), 0, 'a missed call lasts 0 s');

-- In an active group call only the overdue invitee misses.
CREATE TEMP TABLE g AS SELECT pg_temp.start('amy', ARRAY['di', 'ed']) AS id;
SELECT pg_temp.act('di');
SELECT lives_ok(format('SELECT pgcall.call_accept(%L)', (SELECT id FROM g)), 'di answers');
SELECT pg_temp.overdue((SELECT id FROM g));
SELECT is(pgcall.call_expire(), 1, 'the sweep touches the group call');
SELECT is((SELECT status FROM pgcall.call WHERE id = (SELECT id FROM g)), 'active', 'which goes on');
SELECT is((SELECT status FROM pgcall.participant WHERE user_id = 'ed'), 'missed', 'ed missed it');

-- The next request on a call expires its overdue invitations first, found
-- through the index of invitations still ringing (call_has_overdue): only
-- this call's, whatever other calls have overdue.
CREATE TEMP TABLE g2 AS SELECT pg_temp.start('rae', ARRAY['sid', 'tam', 'uma']) AS id;
CREATE TEMP TABLE g3 AS SELECT pg_temp.start('val', ARRAY['wes']) AS id;
SELECT pg_temp.act('sid');
SELECT lives_ok(format('SELECT pgcall.call_accept(%L)', (SELECT id FROM g2)), 'sid answers');
UPDATE pgcall.participant SET ring_deadline = now() - interval '1 s' WHERE user_id IN ('tam', 'wes');
SELECT pg_temp.act('uma');
SELECT lives_ok(format('SELECT pgcall.call_accept(%L)', (SELECT id FROM g2)), 'uma answers after tam''s deadline');
SELECT is((SELECT string_agg(user_id || ' ' || status || '/' || coalesce(reason, '-'), ', ' ORDER BY user_id)
             FROM pgcall.participant WHERE call_id = (SELECT id FROM g2)),
          'rae joined/-, sid joined/-, tam missed/timeout, uma joined/-',
          'the answer first recorded tam''s invitation as missed');
SELECT is((SELECT status FROM pgcall.participant WHERE user_id = 'wes'), 'invited',
          'another call''s overdue invitation is left to its own call');

-- Busy: di is in the active group call.
SELECT pg_temp.act('fay');
CREATE TEMP TABLE b AS SELECT pgcall.call_start(ARRAY['di']) AS j;
SELECT is((SELECT j->'call'->>'status' FROM b), 'ended', 'calling someone in a call ends at once');
SELECT is((SELECT j->'call'->>'end_reason' FROM b), 'busy', '... as busy');
SELECT is((SELECT status FROM pgcall.participant p WHERE p.call_id = (SELECT (j->'call'->>'id')::uuid FROM b)
              AND user_id = 'di'), 'busy', 'the busy callee is marked busy');
SELECT is((SELECT j->'agora' FROM b), NULL, 'no token for a call that never rang');
CREATE TEMP TABLE b2 AS SELECT pgcall.call_start(ARRAY['di', 'gus']) AS j;
SELECT is((SELECT j->'call'->>'status' FROM b2), 'ringing', 'a group call rings the ones not busy');
SELECT is((SELECT p->>'status' FROM b2, jsonb_array_elements(j->'call'->'participants') p
            WHERE p->>'user_id' = 'di'), 'busy', 'and marks the busy one');
-- A caller's own ringing call past its deadline does not make them busy.
CREATE TEMP TABLE stale AS SELECT pg_temp.start('hal', ARRAY['ida']) AS id;
SELECT pg_temp.overdue((SELECT id FROM stale));
SELECT pg_temp.act('jo');
SELECT is(pgcall.call_start(ARRAY['hal'])->'call'->>'status', 'ringing', 'an expired ringing call is not busy');

-- Unavailable: require_online and no open socket.
SELECT pg_temp.act('kim');
CREATE TEMP TABLE u AS SELECT pgcall.call_start(ARRAY['lu'], require_online => true) AS j;
SELECT is((SELECT j->'call'->>'end_reason' FROM u), 'unavailable', 'an offline callee is unavailable');
SELECT is((SELECT reason FROM pgcall.participant WHERE user_id = 'lu'), 'unavailable', 'and missed the call as unavailable');
SELECT pgcall.bridge_heartbeat('00000000-0000-0000-0000-0000000000b1');
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'mo', 2);
SELECT pg_temp.act('kim');
SELECT is(pgcall.call_start(ARRAY['mo'], require_online => true)->'call'->>'status', 'ringing',
          'an online callee rings');
SELECT is((SELECT online FROM pgcall.presence(ARRAY['mo', 'lu']) WHERE user_id = 'mo'), true, 'presence: mo is online');
SELECT is((SELECT online FROM pgcall.presence(ARRAY['mo', 'lu']) WHERE user_id = 'lu'), false, 'presence: lu is not');
UPDATE pgcall.bridge SET last_seen = now() - interval '31 s';
SELECT is((SELECT online FROM pgcall.presence(ARRAY['mo'])), false, 'a silent bridge does not count');

-- Glare: both call each other; the second start answers the first call.
CREATE TEMP TABLE gl AS SELECT pg_temp.start('ned', ARRAY['oz']) AS id;
SELECT pg_temp.act('oz');
CREATE TEMP TABLE gl2 AS SELECT pgcall.call_start(ARRAY['ned'], 'video') AS j;
SELECT is((SELECT j->>'glare' FROM gl2), 'true', 'the result says glare');
SELECT is((SELECT (j->'call'->>'id')::uuid FROM gl2), (SELECT id FROM gl), 'both end up in one call');
SELECT is((SELECT j->'call'->>'status' FROM gl2), 'active', 'which is answered');
SELECT is((SELECT count(*)::int FROM pgcall.call WHERE created_by IN ('ned', 'oz')), 1, 'no second call exists');

-- Several devices: the first answer wins, the same device may repeat it.
CREATE TEMP TABLE md AS SELECT pg_temp.start('pat', ARRAY['quinn']) AS id;
SELECT pg_temp.act('quinn');
SELECT lives_ok(format('SELECT pgcall.call_accept(%L, %L)', (SELECT id FROM md), 'phone'), 'the phone answers');
SELECT throws_ok(format('SELECT pgcall.call_accept(%L, %L)', (SELECT id FROM md), 'laptop'), 'P409A',
                 'call already answered on another device', 'the laptop then gets answered elsewhere');
SELECT is(pgcall.call_accept((SELECT id FROM md), 'phone')->'call'->>'status', 'active',
          'the phone answering again is a no-op');
SELECT throws_ok(format('SELECT pgcall.call_reject(%L)', (SELECT id FROM md)), 'P409A', 'call already answered',
                 'declining after answering is refused');

SELECT * FROM finish();
ROLLBACK;
