-- Administrators: only pgcall_admin; call details, removing a participant for good, ending any call.
BEGIN;
SELECT plan(47);

\ir include/roles.psql
CREATE FUNCTION pg_temp.part(j jsonb, u text) RETURNS jsonb LANGUAGE sql
    AS $$ SELECT p FROM jsonb_array_elements(j->'participants') p WHERE p->>'user_id' = u $$;

-- A conference: host in it for 30 minutes, ben for 20 until 5 minutes ago,
-- ann for 5 minutes, then again for the last 10.
SELECT pg_temp.act('host');
CREATE TEMP TABLE c AS SELECT (pgcall.conference_create('Standup', is_public => true)->'call'->>'id')::uuid AS id;
SELECT pg_temp.act('ben');
SELECT pgcall.call_join((SELECT id FROM c)) IS NOT NULL AS joined;
SELECT pgcall.call_leave((SELECT id FROM c)) IS NOT NULL AS left;
SELECT pg_temp.act('ann');
SELECT pgcall.call_join((SELECT id FROM c)) IS NOT NULL AS joined;
SELECT pgcall.call_leave((SELECT id FROM c)) IS NOT NULL AS left;
UPDATE pgcall.participant_session SET joined_at = now() - interval '20 min', left_at = now() - interval '15 min'
 WHERE user_id = 'ann';
SELECT pgcall.call_join((SELECT id FROM c)) IS NOT NULL AS joined;
UPDATE pgcall.participant_session SET joined_at = now() - interval '10 min'
 WHERE user_id = 'ann' AND left_at IS NULL;
UPDATE pgcall.participant_session SET joined_at = now() - interval '25 min', left_at = now() - interval '5 min'
 WHERE user_id = 'ben';
UPDATE pgcall.participant_session SET joined_at = now() - interval '30 min' WHERE user_id = 'host';
UPDATE pgcall.call SET created_at = now() - interval '30 min', answered_at = now() - interval '30 min';
-- And a direct call between alice and bob, answered.
SELECT pg_temp.act('alice');
CREATE TEMP TABLE d AS SELECT (pgcall.call_start(ARRAY['bob'])->'call'->>'id')::uuid AS id;
SELECT pg_temp.act('bob');
SELECT pgcall.call_accept((SELECT id FROM d)) IS NOT NULL AS answered;
SELECT set_config('pgcall.user_id', '', true);
GRANT SELECT ON c, d TO PUBLIC;

-- End users and trusted backends cannot call admin functions: no EXECUTE.
SELECT pg_temp.as_user('ann');
SELECT is(current_user::text, 'pgcall_user', 'running as the end-user role');
SELECT throws_ok(format('SELECT pgcall.admin_call_end(%L)', (SELECT id FROM c)), '42501', NULL,
                 'an end user cannot end calls as admin');
SELECT throws_ok(format('SELECT pgcall.admin_remove_participant(%L, %L)', (SELECT id FROM c), 'ben'), '42501', NULL,
                 'nor remove participants');
SELECT throws_ok(format('SELECT pgcall.admin_call_details(%L)', (SELECT id FROM c)), '42501', NULL,
                 'nor read call details');
SELECT throws_ok($$SELECT pgcall.admin_analytics()$$, '42501', NULL, 'nor analytics');
SELECT throws_ok($$SELECT pgcall.rpc('pgcall', 'admin_analytics', '{"days": 7}')$$, '42501', NULL,
                 'nor through rpc, the bridge''s way in');
RESET ROLE;
SET LOCAL ROLE pgcall_backend;
SELECT throws_ok($$SELECT pgcall.admin_analytics()$$, '42501', NULL, 'a trusted backend cannot either');
SELECT throws_ok(format('SELECT pgcall.admin_call_end(%L)', (SELECT id FROM c)), '42501', NULL,
                 'nor end calls as admin');
RESET ROLE;

-- A grant made by mistake does not open them: each function checks the role itself.
GRANT EXECUTE ON FUNCTION pgcall.admin_call_end(uuid), pgcall.admin_remove_participant(uuid, text, text, text),
                          pgcall.admin_call_details(uuid), pgcall.admin_analytics(integer, text, text)
    TO pgcall_user;
SELECT pg_temp.as_user('ann');
SELECT throws_ok(format('SELECT pgcall.admin_call_end(%L)', (SELECT id FROM c)), 'P403F',
                 'only administrators can do this', 'even with EXECUTE an end user cannot end the call');
SELECT throws_ok(format('SELECT pgcall.admin_remove_participant(%L, %L)', (SELECT id FROM c), 'ben'), 'P403F',
                 'only administrators can do this', 'nor remove anyone');
SELECT throws_ok(format('SELECT pgcall.admin_call_details(%L)', (SELECT id FROM c)), 'P403F',
                 'only administrators can do this', 'nor read details');
SELECT throws_ok($$SELECT pgcall.admin_analytics()$$, 'P403F', 'only administrators can do this', 'nor analytics');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION pgcall.admin_call_end(uuid), pgcall.admin_remove_participant(uuid, text, text, text),
                           pgcall.admin_call_details(uuid), pgcall.admin_analytics(integer, text, text)
    FROM pgcall_user;

-- Details, as an administrator.
SELECT pg_temp.as_admin();
SELECT is(current_user::text, 'pgcall_admin', 'running as the admin role');
SELECT throws_ok($$SELECT pgcall.admin_call_details('00000000-0000-0000-0000-000000000000')$$, 'P404A',
                 'call not found', 'details of an unknown call');
SELECT throws_ok($$SELECT pgcall.admin_call_details(NULL)$$, 'P400R', 'call_id is required', 'details need a call');
CREATE TEMP TABLE det AS SELECT pgcall.admin_call_details((SELECT id FROM c)) AS j;
SELECT is((SELECT j->'call'->>'title' FROM det), 'Standup', 'the call');
SELECT is((SELECT j->'call'->>'created_by' FROM det), 'host', 'its host, by user id');
SELECT is((SELECT j->>'pseudonymous' FROM det), 'false', 'pseudonyms are off');
SELECT is((SELECT jsonb_array_length(j->'participants') FROM det), 3, 'three participants');
SELECT is((SELECT pg_temp.part(j, 'ann') - 'invited_at' FROM det),
          jsonb_build_object('user_id', 'ann', 'role', 'member', 'status', 'joined', 'reason', NULL,
                             'joined_at', now() - interval '20 min', 'left_at', NULL,
                             'duration_seconds', 900, 'sessions', 2),
          'ann: first joined 20 minutes ago, still in, 5 + 10 minutes over two stretches');
SELECT is((SELECT pg_temp.part(j, 'ben') - 'invited_at' FROM det),
          jsonb_build_object('user_id', 'ben', 'role', 'member', 'status', 'left', 'reason', NULL,
                             'joined_at', now() - interval '25 min', 'left_at', now() - interval '5 min',
                             'duration_seconds', 1200, 'sessions', 1),
          'ben: 20 minutes, left 5 minutes ago');
SELECT is((SELECT (pg_temp.part(j, 'host')->>'duration_seconds')::int FROM det), 1800, 'the host: 30 minutes so far');
SELECT is((SELECT j->'stats' FROM det),
          jsonb_build_object('total_participants', 3, 'invited', 3, 'peak_participants', 3,
                             'total_duration_seconds', 1800, 'participant_seconds', 3900,
                             'audio_minutes', 0.00, 'video_minutes', 65.00),
          'stats: three at once at most, 65 video minutes');

-- Removing a participant.
SELECT throws_ok(format('SELECT pgcall.admin_remove_participant(%L)', (SELECT id FROM c)), 'P400R',
                 'pass either user_id or pseudonym', 'removal needs someone');
SELECT throws_ok(format('SELECT pgcall.admin_remove_participant(%L, %L, %L)', (SELECT id FROM c), 'ann', 'u_00'), 'P400R',
                 'pass either user_id or pseudonym', 'but only one way of naming them');
SELECT throws_ok(format('SELECT pgcall.admin_remove_participant(%L, %L)', (SELECT id FROM c), 'zed'), 'P404B',
                 'participant not found', 'someone not in the call');
SELECT throws_ok(format('SELECT pgcall.admin_remove_participant(%L, %L)', gen_random_uuid(), 'ann'), 'P404A',
                 'call not found', 'an unknown call');
SELECT throws_ok(format('SELECT pgcall.admin_remove_participant(%L, %L, reason => %L)', (SELECT id FROM c), 'ann',
                        repeat('r', 201)), 'P400Q', 'reason must be at most 200 bytes long', 'a reason too long');
SELECT is(pgcall.admin_remove_participant((SELECT id FROM c), 'ann', reason => 'spam'),
          '{"user_id": "ann", "already_removed": false, "call_status": "active"}'::jsonb, 'ann is removed');
SELECT is(pgcall.admin_remove_participant((SELECT id FROM c), 'ann'),
          '{"user_id": "ann", "already_removed": true, "call_status": "active"}'::jsonb, 'removing her again changes nothing');
SELECT is((SELECT pg_temp.part(pgcall.admin_call_details((SELECT id FROM c)), 'ann') ->> 'status'), 'removed',
          'her status is removed');
SELECT is((SELECT pg_temp.part(pgcall.admin_call_details((SELECT id FROM c)), 'ann') ->> 'reason'), 'spam',
          'with the reason given');
SELECT ok((SELECT pg_temp.part(pgcall.admin_call_details((SELECT id FROM c)), 'ann') ->> 'left_at') IS NOT NULL,
          'her stretch in the call closed');
RESET ROLE;
SELECT pg_temp.as_user('ann');
SELECT throws_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'P403E', 'you were removed from this call',
                 'she cannot rejoin');
SELECT throws_ok(format('SELECT pgcall.call_set_status(%L, %L)', (SELECT id FROM c), 'joined'), 'P403E', NULL,
                 'not by setting her status either');
SELECT throws_ok(format('SELECT pgcall.call_leave(%L)', (SELECT id FROM c)), 'P409C',
                 'you are not in this call: your status is removed', 'she is no longer in it');
SELECT throws_ok(format('SELECT pgcall.call_get(%L)', (SELECT id FROM c)), 'P403B', NULL,
                 'she no longer reads the call');
RESET ROLE;

-- Removing one of the two people in a direct call ends it.
SELECT pg_temp.as_admin();
SELECT is(pgcall.admin_remove_participant((SELECT id FROM d), 'bob')->>'call_status', 'ended',
          'removing bob ends his direct call');
SELECT is(pgcall.call_get((SELECT id FROM d))->>'end_reason', 'terminated', 'as terminated');

-- Ending any call.
SELECT throws_ok($$SELECT pgcall.admin_call_end('00000000-0000-0000-0000-000000000000')$$, 'P404A', 'call not found',
                 'ending an unknown call');
CREATE TEMP TABLE e AS SELECT pgcall.admin_call_end((SELECT id FROM c)) AS j;
SELECT is((SELECT j - 'ended_at' FROM e),
          jsonb_build_object('call_id', (SELECT id FROM c), 'status', 'ended', 'end_reason', 'terminated',
                             'duration_seconds', 1800),
          'an admin ends the conference: terminated after 30 minutes');
SELECT is((SELECT (j->>'ended_at')::timestamptz FROM e), now(), 'ended now');
SELECT is(pgcall.call_get((SELECT id FROM c))->>'ended_by', 'root', 'ended by the admin''s own user id');
SELECT throws_ok(format('SELECT pgcall.admin_call_end(%L)', (SELECT id FROM c)), 'P409B', 'call has already ended',
                 'a call ends once');
SELECT throws_ok(format('SELECT pgcall.admin_remove_participant(%L, %L)', (SELECT id FROM c), 'ben'), 'P409B',
                 'call has already ended', 'nobody is removed from an ended call');
RESET ROLE;
SELECT is((SELECT array_agg(user_id || ':' || status ORDER BY user_id) FROM pgcall.participant
            WHERE call_id = (SELECT id FROM c)),
          ARRAY['ann:removed', 'ben:left', 'host:left'], 'those in it left it; ann stays removed');

-- What the call used was stored when it ended, from its sessions.
SELECT is((SELECT ROW(participant_count, peak_participants, participant_seconds)::text FROM pgcall.call
            WHERE id = (SELECT id FROM c)),
          '(3,3,3900)', 'three people, three at once, 65 minutes together');

SELECT * FROM finish();
ROLLBACK;
