-- A user can never see or change another user's calls: grants and row-level security, as an end-user role.
BEGIN;
SELECT plan(32);

-- Every pgcall table has row-level security.
SELECT is(ARRAY(SELECT relname::text FROM pg_class
                 WHERE relnamespace = 'pgcall'::regnamespace AND relkind = 'r' AND NOT relrowsecurity
                 ORDER BY 1),
          ARRAY[]::text[], 'row-level security is enabled on every table');

\ir include/roles.psql

SET LOCAL pgcall.agora_app_id = '970ca35de60c44645bbae8a215061b33';
SELECT pgcall.set_secret('agora_app_certificate', '5cfd2fd1755d40ecb72977518be15d3b');

-- alice calls bob; they talk; bob signals alice.
SELECT pg_temp.as_user('alice');
CREATE TEMP TABLE c AS SELECT (pgcall.call_start(ARRAY['bob'])->'call'->>'id')::uuid AS id;
GRANT SELECT ON c TO PUBLIC;
SELECT pg_temp.as_user('bob');
SELECT lives_ok(format('SELECT pgcall.call_accept(%L)', (SELECT id FROM c)), 'bob answers');

-- mallory, an ordinary end user.
SELECT pg_temp.as_user('mallory');
SELECT is(current_user::text, 'pgcall_user', 'running as the end-user role');
SELECT throws_ok('SELECT count(*) FROM pgcall.call', '42501', NULL, 'mallory cannot read the call table');
SELECT throws_ok('SELECT count(*) FROM pgcall.participant', '42501', NULL, 'nor the participant table');
SELECT throws_ok('SELECT count(*) FROM pgcall.participant_session', '42501', NULL, 'nor the session table');
SELECT throws_ok('SELECT count(*) FROM pgcall.event', '42501', NULL, 'nor the event table');
SELECT throws_ok(format('SELECT pgcall.call_json(%L)', (SELECT id FROM c)), '42501', NULL, 'call_json shows her nothing');
SELECT is(pgcall.is_participant((SELECT id FROM c)), false, 'she is not a participant');
SELECT is(pgcall.call_logs()->'pagination'->>'total', '0', 'her history is empty');
SELECT throws_ok(format('SELECT pgcall.call_get(%L)', (SELECT id FROM c)), 'P403B', NULL, 'she cannot read the call');
SELECT throws_ok(format('SELECT pgcall.call_end(%L)', (SELECT id FROM c)), 'P403B', NULL, 'she cannot end it');
SELECT throws_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'P403B', NULL, 'she cannot join it');
SELECT throws_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'alice', 'offer', '{}'),
                 'P403B', NULL, 'she cannot signal into it');
SELECT throws_ok(format('SELECT pgcall.call_set_media(%L, true)', (SELECT id FROM c)), 'P403B', NULL,
                 'she cannot change media in it');
SELECT throws_ok(format('SELECT pgcall.call_history_delete(%L)', (SELECT id FROM c)), 'P404A', NULL,
                 'she cannot touch its history');
SELECT throws_ok(format('SELECT pgcall.call_session(%L, %L, %L)', 'alice', 'audio',
                        (SELECT 'call-' || id FROM c)), 'P403B', NULL,
                 'she cannot get a token for its channel');
SELECT throws_ok(format('SELECT pgcall.call_media_session(%L)', (SELECT id FROM c)), 'P403B', NULL,
                 'nor a media session for it');
SELECT throws_ok(format($$UPDATE pgcall.call SET status = 'ended' WHERE id = %L$$, (SELECT id FROM c)), '42501', NULL,
                 'she cannot write the call table');
SELECT throws_ok($$INSERT INTO pgcall.participant (call_id, user_id, role, status) SELECT id, 'mallory', 'member', 'joined' FROM c$$,
                 '42501', NULL, 'she cannot add herself');
SELECT throws_ok($$DELETE FROM pgcall.event$$, '42501', NULL, 'she cannot delete events');
SELECT throws_ok($$SELECT pgcall.bridge_events(0)$$, '42501', NULL, 'she cannot read the bridge feed');
SELECT throws_ok($$SELECT pgcall.call_expire()$$, '42501', NULL, 'she cannot run the sweep');
SELECT throws_ok($$SELECT set_config('pgcall.user_id', 'alice', true)$$, '42501', NULL,
                 'she cannot act as alice through pgcall.user_id');
SELECT throws_ok($$SELECT pgcall.turn_credentials('alice')$$, 'P403A', NULL, 'she cannot get TURN credentials for alice');
SELECT throws_ok($$SELECT * FROM pgcall.secret$$, '42501', NULL, 'she cannot read secrets');

-- alice sees her call and only her own events and history.
SELECT pg_temp.as_user('alice');
SELECT is(jsonb_array_length(pgcall.calls_mine()), 1, 'alice sees her call');
SELECT is(jsonb_array_length(pgcall.call_get((SELECT id FROM c))->'participants'), 2, 'and both participants');
SELECT is(pgcall.call_get((SELECT id FROM c))->>'status', 'active', 'call_get works for her');
SELECT is(pgcall.call_history_delete((SELECT id FROM c)), true, 'she removes it from her history');
SELECT is(pgcall.call_logs()->'pagination'->>'total', '0', 'it is gone from her history');
SELECT pg_temp.as_user('bob');
SELECT is(pgcall.call_logs()->'pagination'->>'total', '1', 'bob still has it');

SELECT * FROM finish();
ROLLBACK;
