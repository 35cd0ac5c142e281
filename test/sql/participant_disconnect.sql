-- participant.disconnected / participant.reconnected and leaving after
-- pgcall.disconnect_leave_after: the rules of extension/disconnect.c, with
-- time travel (the recorded time set back) instead of sleeping.
CREATE FUNCTION pg_temp.heard(u text, after bigint) RETURNS TABLE (type text, who text, data jsonb)
LANGUAGE sql AS $$
    SELECT e.type, e.payload::jsonb -> 'participant' ->> 'user_id',
           (e.payload::jsonb -> 'data') - 'since'
           || jsonb_build_object('since', e.payload::jsonb -> 'data' ? 'since')
      FROM pgcall.event e
     WHERE u = ANY (e.recipients) AND e.id > after AND e.type LIKE 'participant.%'
     ORDER BY e.id
$$;
CREATE FUNCTION pg_temp.away(u text, secs integer) RETURNS void LANGUAGE sql AS $$
    UPDATE pgcall.participant_disconnect SET since = now() - make_interval(secs => secs)
     WHERE user_id = u
$$;
SELECT pgcall.bridge_heartbeat('00000000-0000-0000-0000-0000000000b1');
SHOW pgcall.disconnect_grace;
SHOW pgcall.disconnect_leave_after;
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', u, 1)
  FROM unnest(ARRAY['pd-ann', 'pd-ben', 'pd-cat']) AS u;

-- ann calls ben, he answers.
SET pgcall.user_id = 'pd-ann';
SELECT pgcall.call_start(ARRAY['pd-ben'])->'call'->>'id' AS call_id \gset
SET pgcall.user_id = 'pd-ben';
SELECT pgcall.call_accept(:'call_id') IS NOT NULL AS accepted;
RESET pgcall.user_id;

-- ben's last socket closes: recorded, but nothing is said within the grace.
SELECT max(id) AS v0 FROM pgcall.event \gset
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'pd-ben', 0);
SELECT user_id, announced, since > now() - interval '1 minute' AS recent FROM pgcall.participant_disconnect;
SELECT pgcall.participant_disconnect_sweep() AS acted;
SELECT * FROM pg_temp.heard('pd-ann', :v0);
-- Back within the grace: the record goes, and nobody hears of any of it.
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'pd-ben', 1);
SELECT count(*) AS records FROM pgcall.participant_disconnect;
SELECT pgcall.participant_disconnect_sweep() AS acted;
SELECT * FROM pg_temp.heard('pd-ann', :v0);

-- Away past the grace: ann hears it once, ben is not told of himself.
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'pd-ben', 0);
SELECT pg_temp.away('pd-ben', 6);
SELECT pgcall.participant_disconnect_sweep() AS acted;
SELECT pgcall.participant_disconnect_sweep() AS acted_again;
SELECT * FROM pg_temp.heard('pd-ann', :v0);
SELECT count(*) AS ben_heard FROM pg_temp.heard('pd-ben', :v0);
SELECT e.payload::jsonb ->> 'call_id' = :'call_id' AS about_the_call,
       e.payload::jsonb -> 'data' ->> 'since' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' AS since_iso
  FROM pgcall.event e WHERE e.type = 'participant.disconnected';
-- A second socket on another bridge brings him back: participant.reconnected.
SELECT max(id) AS v1 FROM pgcall.event \gset
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b2', 'pd-ben', 1);
SELECT * FROM pg_temp.heard('pd-ann', :v1);
SELECT count(*) AS records FROM pgcall.participant_disconnect;
SELECT pgcall.participant_disconnect_sweep() AS acted;
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b2', 'pd-ben', 0);
-- Still online on b1: closing the b2 socket is not going away.
SELECT count(*) AS records FROM pgcall.participant_disconnect;

-- Away past leave_after: announced and gone, and a direct call ends.
SELECT max(id) AS v2 FROM pgcall.event \gset
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'pd-ben', 0);
SELECT pg_temp.away('pd-ben', 61);
SELECT pgcall.participant_disconnect_sweep() AS acted;
SELECT * FROM pg_temp.heard('pd-ann', :v2);
SELECT type, payload::jsonb -> 'data' ->> 'reason' AS reason, payload::jsonb -> 'data' ->> 'by' AS by
  FROM pgcall.event WHERE id > :v2 AND type LIKE 'call.%';
SELECT status, end_reason, ended_by FROM pgcall.call WHERE id = :'call_id';
SELECT user_id, status, reason FROM pgcall.participant WHERE call_id = :'call_id' ORDER BY user_id;
SELECT count(*) AS records FROM pgcall.participant_disconnect;
-- Coming back after that tells nobody anything.
SELECT max(id) AS v3 FROM pgcall.event \gset
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'pd-ben', 1);
SELECT * FROM pg_temp.heard('pd-ann', :v3);

-- A group call goes on without whoever left; leave_after 0 never leaves.
SET pgcall.user_id = 'pd-ann';
SELECT pgcall.call_start(ARRAY['pd-ben', 'pd-cat'], type => 'audio')->'call'->>'id' AS group_id \gset
SET pgcall.user_id = 'pd-ben';
SELECT pgcall.call_accept(:'group_id') IS NOT NULL AS accepted;
SET pgcall.user_id = 'pd-cat';
SELECT pgcall.call_accept(:'group_id') IS NOT NULL AS accepted;
RESET pgcall.user_id;
SELECT kind FROM pgcall.call WHERE id = :'group_id';
SELECT max(id) AS v4 FROM pgcall.event \gset
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'pd-cat', 0);
SELECT pg_temp.away('pd-cat', 3600);
SET pgcall.disconnect_leave_after = 0;
SELECT pgcall.participant_disconnect_sweep() AS acted;
SELECT user_id, status FROM pgcall.participant WHERE call_id = :'group_id' AND user_id = 'pd-cat';
RESET pgcall.disconnect_leave_after;
SELECT pgcall.participant_disconnect_sweep() AS acted;
SELECT who, type, data FROM pg_temp.heard('pd-ben', :v4);
SELECT status FROM pgcall.call WHERE id = :'group_id';
SELECT user_id, status, reason FROM pgcall.participant WHERE call_id = :'group_id' ORDER BY user_id;

-- Records that no longer hold are dropped without a word: someone who left
-- (here over HTTP) and someone online after all (a race between bridges).
SELECT max(id) AS v5 FROM pgcall.event \gset
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'pd-ben', 0);
SET pgcall.user_id = 'pd-ben';
SELECT pgcall.call_leave(:'group_id') IS NOT NULL AS left_call;
RESET pgcall.user_id;
INSERT INTO pgcall.participant_disconnect (call_id, user_id, since, joined_at, announced)
    SELECT call_id, user_id, now() - interval '1 hour', current_join, false
      FROM pgcall.participant WHERE call_id = :'group_id' AND user_id = 'pd-ann';
SELECT pgcall.participant_disconnect_sweep() AS acted;
SELECT count(*) AS records FROM pgcall.participant_disconnect;
SELECT type, who FROM pg_temp.heard('pd-ann', :v5);
-- (had the others been told she was away, they now hear she is back)
SET pgcall.user_id = 'pd-ann';
SELECT pgcall.call_invite(:'group_id', ARRAY['pd-dan']) IS NOT NULL AS invited;
RESET pgcall.user_id;
SELECT max(id) AS v5b FROM pgcall.event \gset
INSERT INTO pgcall.participant_disconnect (call_id, user_id, since, joined_at, announced)
    SELECT call_id, user_id, now() - interval '1 hour', current_join, true
      FROM pgcall.participant WHERE call_id = :'group_id' AND user_id = 'pd-ann';
SELECT pgcall.participant_disconnect_sweep() AS acted;
SELECT type, who FROM pg_temp.heard('pd-dan', :v5b);
SELECT count(*) AS records FROM pgcall.participant_disconnect;
SELECT status FROM pgcall.call WHERE id = :'group_id';
SET pgcall.user_id = 'pd-ann';
SELECT pgcall.call_end(:'group_id') IS NOT NULL AS ended;
RESET pgcall.user_id;

-- Someone who never had a socket (joined over HTTP only) is never recorded.
SET pgcall.user_id = 'pd-ann';
SELECT pgcall.call_start(ARRAY['pd-dan'])->'call'->>'id' AS http_id \gset
SET pgcall.user_id = 'pd-dan';
SELECT pgcall.call_accept(:'http_id') IS NOT NULL AS accepted;
RESET pgcall.user_id;
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'pd-dan', 0);
SELECT count(*) AS records FROM pgcall.participant_disconnect;
SET pgcall.user_id = 'pd-ann';
SELECT pgcall.call_end(:'http_id') IS NOT NULL AS ended;
RESET pgcall.user_id;

-- A caller away while it still rings cancels the call (as call_leave).
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'pd-cat', 1);
SET pgcall.user_id = 'pd-cat';
SELECT pgcall.call_start(ARRAY['pd-ben'])->'call'->>'id' AS ring_id \gset
RESET pgcall.user_id;
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'pd-cat', 0);
SELECT pg_temp.away('pd-cat', 61);
SELECT pgcall.participant_disconnect_sweep() AS acted;
SELECT status, end_reason, ended_by FROM pgcall.call WHERE id = :'ring_id';

-- A bridge that falls silent takes its users away too; its return brings
-- them back (participant.reconnected once they were announced).
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', u, 1)
  FROM unnest(ARRAY['pd-ben', 'pd-cat']) AS u;
SELECT pgcall.bridge_heartbeat('00000000-0000-0000-0000-0000000000b3');
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b3', 'pd-eve', 1);
SET pgcall.user_id = 'pd-ben';
SELECT pgcall.call_start(ARRAY['pd-eve'])->'call'->>'id' AS lapse_id \gset
SET pgcall.user_id = 'pd-eve';
SELECT pgcall.call_accept(:'lapse_id') IS NOT NULL AS accepted;
RESET pgcall.user_id;
SELECT max(id) AS v6 FROM pgcall.event \gset
UPDATE pgcall.bridge SET last_seen = now() - interval '1 minute' WHERE id = '00000000-0000-0000-0000-0000000000b3';
SELECT pgcall.bridge_heartbeat('00000000-0000-0000-0000-0000000000b1');
SELECT user_id, announced FROM pgcall.participant_disconnect;
SELECT pg_temp.away('pd-eve', 6);
SELECT pgcall.participant_disconnect_sweep() AS acted;
SELECT pgcall.bridge_heartbeat('00000000-0000-0000-0000-0000000000b3');
SELECT type, who FROM pg_temp.heard('pd-ben', :v6);
SELECT count(*) AS records FROM pgcall.participant_disconnect;

-- Leave nothing behind for the tests that follow.
SET pgcall.user_id = 'pd-ben';
SELECT pgcall.call_end(:'lapse_id') IS NOT NULL AS ended;
RESET pgcall.user_id;
SELECT count(*) AS live_calls FROM pgcall.participant WHERE user_id LIKE 'pd-%' AND status = 'joined';
SELECT pgcall.bridge_unregister(b::uuid)
  FROM unnest(ARRAY['00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000b2',
                    '00000000-0000-0000-0000-0000000000b3']) AS b;
SELECT count(*) AS records FROM pgcall.participant_disconnect;
