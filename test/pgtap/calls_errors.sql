-- Every refusal of the call functions, with its SQLSTATE.
BEGIN;
SELECT plan(44);

\ir include/roles.psql
-- A trusted backend acting for users, not a superuser (who may read any call).
SET LOCAL ROLE pgcall_backend;

-- No current user.
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY['bob'])$$, 'P401A', 'no current user', 'no user: P401A');
SELECT throws_ok($$SELECT pgcall.call_logs()$$, 'P401A', 'no current user', 'history needs a user too');
SELECT throws_ok($$SELECT pgcall.call_history()$$, 'P401A', 'no current user', 'so does call_history');

SELECT pg_temp.act('alice');
-- Bad arguments.
SELECT throws_ok($$SELECT pgcall.call_start(NULL)$$, 'P400R', 'invitees is required', 'invitees required');
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY[]::text[])$$, 'P400O', 'invitees must name at least one user', 'empty invitees');
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY['alice'])$$, 'P400O', 'you cannot invite yourself', 'self invite');
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY['bob', 'bob'])$$, 'P400O', 'invitee "bob" is listed twice', 'duplicate invitee');
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY['bob', NULL])$$, 'P400O', 'invitees must not contain null', 'null invitee');
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY[''])$$, 'P400I', NULL, 'empty user id');
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY['bob'], 'hologram')$$, 'P400L',
                 'call type "hologram" is not audio or video', 'unknown media type');
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY['bob'], ring_timeout => 2)$$, 'P400F',
                 'ring_timeout must be between 5 and 600 seconds', 'ring timeout too short');
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY['bob'], max_participants => 1)$$, 'P400O',
                 'max_participants must be between 2 and 10000', 'max_participants too small');
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY['bob'], max_participants => 5)$$, 'P400O',
                 'a direct call has exactly two participants', 'a direct call cannot have another size');
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY['bob'], room_id => E'a\nb')$$, 'P400I', NULL, 'bad room id');
SELECT throws_ok($$SELECT pgcall.call_session(NULL)$$, 'P400R', 'other_user is required', 'user required (seed 000)');
SELECT throws_ok($$SELECT pgcall.call_end()$$, 'P400R', 'pass either call_id or channel_id', 'end needs an id');
SELECT throws_ok($$SELECT pgcall.call_end(gen_random_uuid(), 'call-x')$$, 'P400R', 'pass either call_id or channel_id',
                 'but not both');

-- Unknown calls.
SELECT throws_ok($$SELECT pgcall.call_accept('00000000-0000-0000-0000-000000000000')$$, 'P404A', 'call not found',
                 'unknown call id');
SELECT throws_ok($$SELECT pgcall.call_end(channel_id => 'call-nope')$$, 'P404A', 'call not found', 'unknown channel');
SELECT throws_ok($$SELECT pgcall.call_accept('not-a-uuid')$$, '22P02', NULL, 'a malformed call id');
SELECT throws_ok($$SELECT pgcall.call_accept(NULL)$$, 'P400R', 'call_id is required', 'call id required');

CREATE TEMP TABLE c AS SELECT (pgcall.call_start(ARRAY['bob'])->'call'->>'id')::uuid AS id;

SELECT throws_ok(format('SELECT pgcall.call_end(%L, reason => %L)', (SELECT id FROM c), 'angry'), 'P400Q',
                 'end reason "angry" is not completed or failed', 'unknown end reason');
SELECT throws_ok(format('SELECT pgcall.call_reject(%L)', (SELECT id FROM c)), 'P409C',
                 'you cannot decline your own call', 'the caller cannot decline');
SELECT throws_ok(format('SELECT pgcall.call_set_status(%L, %L)', (SELECT id FROM c), 'sleeping'), 'P400M', NULL,
                 'unknown status');
SELECT throws_ok(format('SELECT pgcall.call_set_status(%L, NULL)', (SELECT id FROM c)), 'P400R', 'status is required',
                 'status required');
SELECT throws_ok(format('SELECT pgcall.call_set_media(%L)', (SELECT id FROM c)), 'P400R',
                 'pass at least one of mic_muted, camera_off and sharing_screen', 'media needs a change');

-- Someone else.
SELECT pg_temp.act('mallory');
SELECT throws_ok(format('SELECT pgcall.call_accept(%L)', (SELECT id FROM c)), 'P403B',
                 'you are not a participant of this call', 'a stranger cannot answer');
SELECT throws_ok(format('SELECT pgcall.call_end(%L)', (SELECT id FROM c)), 'P403B',
                 'you are not a participant of this call', 'a stranger cannot end');
SELECT throws_ok(format('SELECT pgcall.call_get(%L)', (SELECT id FROM c)), 'P403B',
                 'you are not a participant of this call', 'a stranger cannot read');
SELECT throws_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'bob', 'offer', '{}'),
                 'P403B', 'you are not a participant of this call', 'a stranger cannot signal');

-- The callee.
SELECT pg_temp.act('bob');
SELECT throws_ok(format('SELECT pgcall.call_cancel(%L)', (SELECT id FROM c)), 'P403D', 'only the caller can cancel a call',
                 'the callee cannot cancel');
SELECT throws_ok(format('SELECT pgcall.call_leave(%L)', (SELECT id FROM c)), 'P409C',
                 'you are not in this call: your status is invited', 'leaving a call you never joined');
SELECT throws_ok(format('SELECT pgcall.call_reject(%L, %L)', (SELECT id FROM c), repeat('x', 201)), 'P400Q',
                 'reason must be at most 200 bytes long', 'decline reason too long');
SELECT lives_ok(format('SELECT pgcall.call_accept(%L)', (SELECT id FROM c)), 'bob answers');
SELECT throws_ok(format('SELECT pgcall.call_set_status(%L, %L)', (SELECT id FROM c), 'ringing'), 'P409C',
                 'cannot change participant status from joined to ringing', 'the state machine refuses joined -> ringing');
SELECT pg_temp.act('alice');
SELECT throws_ok(format('SELECT pgcall.call_cancel(%L)', (SELECT id FROM c)), 'P409A', 'call already answered',
                 'an answered call cannot be cancelled');
SELECT throws_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'bob', 'shout', '{}'),
                 'P400N', 'signal kind "shout" is unknown', 'unknown signal kind');
SELECT throws_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'alice', 'offer', '{}'),
                 'P400N', 'you cannot signal yourself', 'signal to self');
SELECT throws_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'carol', 'offer', '{}'),
                 'P403B', 'carol is not in this call', 'signal to an outsider');
SELECT throws_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L::jsonb)', (SELECT id FROM c), 'bob', 'offer',
                        json_build_object('sdp', repeat('a', 70000))),
                 'P413A', NULL, 'a signal over 64 KiB');
SELECT lives_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'bob', 'offer', '{"sdp":"v=0"}'),
                'a good signal passes');
SELECT lives_ok(format('SELECT pgcall.call_end(%L)', (SELECT id FROM c)), 'alice hangs up');
SELECT throws_ok(format('SELECT pgcall.call_signal(%L, %L, %L, %L)', (SELECT id FROM c), 'bob', 'candidate', '{}'),
                 'P409B', 'call has already ended', 'no signals into an ended call');

-- The triggers enforce the state machines whoever writes.
RESET ROLE;
SELECT throws_ok(format($$UPDATE pgcall.call SET status = 'active' WHERE id = %L$$, (SELECT id FROM c)), 'P409B',
                 'call has already ended', 'an ended call stays ended');

SELECT * FROM finish();
ROLLBACK;
