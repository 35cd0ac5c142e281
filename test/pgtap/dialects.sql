-- Socket.IO dialects: pgcall.dialect_call, dialect_rules, dialect_fill and
-- the constraints on dialect rows (seed 003's dialect, and a test dialect
-- for what seed 003 does not use).
BEGIN;
SELECT plan(21);

SET LOCAL pgcall.rate_limit_calls = 0;
CREATE FUNCTION pg_temp.act(u text) RETURNS void LANGUAGE sql
    AS $$ SELECT set_config('request.jwt.claims', json_build_object('sub', u, 'role', 'pgcall_user')::text, true) $$;

-- A dialect whose seed trusted a user id in the body (as seed 000 did).
INSERT INTO pgcall.dialect (name, error_event) VALUES ('trusty', 'oops');
INSERT INTO pgcall.dialect_event (dialect, event, fn, args, required, self_fields, reply_event, reply_payload)
VALUES ('trusty', 'start', 'call_start', '{"invitees": ["$.in.otherUserId"]}', '{userId,otherUserId}', '{userId}',
        'started', '{"id": "$.out.call.id", "me": "$.me", "missing": "$.in.nothing", "lit": [1, "two"]}');

SELECT throws_ok($$INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, event, payload)
                   VALUES ('trusty', 'call.incoming', 'x', '{"a": "$.event.call.participants[*]"}')$$,
                 '23514', NULL, 'outbound templates use only the paths the bridge evaluates');
SELECT throws_ok($$INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, event, "when")
                   VALUES ('trusty', 'call.incoming', 'x', '{"$.in.x": 1}')$$,
                 '23514', NULL, 'and conditions too');
SELECT throws_ok($$INSERT INTO pgcall.dialect_event (dialect, event, fn) VALUES ('trusty', 'x', 'rpc')$$,
                 '23503', NULL, 'an event calls only functions of pgcall.api_function');
SELECT throws_ok($$INSERT INTO pgcall.dialect (name) VALUES ('Bad Name')$$, '23514', NULL, 'dialect names are checked');

SET LOCAL ROLE pgcall_user;
SELECT pg_temp.act('alice');

SELECT is(pgcall.dialect_fill('{"a": "$.x", "b": "$.nope", "c": ["$.x", "$.nope", "lit"], "d": {"e": "$.x"}}', '{"x": 7}'),
          '{"a": 7, "c": [7, null, "lit"], "d": {"e": 7}}', 'dialect_fill: paths replaced, members not found left out');

SELECT is(pgcall.dialect_call('trusty', 'start', '{"userId": "alice", "otherUserId": "bob"}') -> 'emit' -> 0 -> 0,
          '"started"', 'the body user is the authenticated user: the event runs');
SELECT is((pgcall.dialect_call('trusty', 'start', '{"userId": "alice", "otherUserId": "carol"}') #> '{emit,0,1}') - 'id'::text,
          '{"me": "alice", "lit": [1, "two"]}', 'the reply: paths over {in, me, out}, literals kept, missing left out');
SELECT is(pgcall.dialect_call('trusty', 'start', '{"userId": "mallory", "otherUserId": "bob"}') -> 'error',
          '{"code": "P403A", "message": "userId must be the authenticated user"}',
          'the body user is someone else: refused (the seed''s hole closed)');
SELECT is(pgcall.dialect_call('trusty', 'start', '{"otherUserId": "bob"}') #> '{emit,0}',
          '["oops", {"message": "userId required"}]', 'a required member missing: the dialect''s error event');

-- seed 003
SELECT is(pgcall.dialect_call('seed003', 'initiateCall', '{"callType": "video"}'),
          '{"ack": {"error": "receiverId required"}, "emit": [["callError", {"error": "receiverId required"}]],
            "error": {"code": "P400R", "message": "receiverId required"}}', 'seed 003: receiverId required');
SELECT is(pgcall.dialect_call('seed003', 'acceptCall', '{"callId": "nope"}') -> 'ack', '{"error": "Call not found"}',
          'a callId that is no uuid: Call not found');
SELECT is(pgcall.dialect_call('seed003', 'acceptCall', '{"callId": "00000000-0000-4000-8000-000000000000"}') -> 'ack',
          '{"error": "Call not found"}', 'an unknown call: Call not found');
SELECT is(pgcall.dialect_call('seed003', 'nope', '{}') #>> '{error,code}', '42883', 'an unknown event');
SELECT is(pgcall.dialect_call('seed003', 'acceptCall', NULL) -> 'ack', '{"error": "callId required"}',
          'no payload at all');

-- the receiver is offline: no callInitiated, and the call is over as unavailable
SELECT is(pgcall.dialect_call('seed003', 'initiateCall', '{"receiverId": "bob", "callType": "video"}') -> 'emit',
          '[]', 'an offline receiver: no callInitiated (userNotAvailable comes as an event)');

-- a failed event leaves nothing behind
SELECT pg_temp.act('bob');
SELECT lives_ok($$SELECT pgcall.dialect_call('seed003', 'endCall', '{"callId": "00000000-0000-4000-8000-000000000000"}')$$,
                'a failing event is an answer, not an exception');
RESET ROLE;
SELECT is((SELECT count(*) FROM pgcall.call WHERE created_by = 'alice'), 3::bigint,
          'the refused and failed events left no call: only the three that ran');

-- rules for the bridge
SET LOCAL ROLE pgcall_user;
SELECT is(jsonb_array_length(pgcall.dialect_rules('seed003', '/')), 10, 'seed 003 maps ten pgcall events');
SELECT is(pgcall.dialect_rules('seed003', '/') -> 0 ->> 'on', 'call.accepted', 'in pgcall event order');
SELECT throws_ok($$SELECT pgcall.dialect_rules('seed003', '/calls')$$, '22023', 'Invalid namespace',
                 'another namespace is refused');
SELECT throws_ok($$SELECT pgcall.dialect_rules('nope', '/')$$, '22023', 'unknown dialect "nope"', 'an unknown dialect');

SELECT * FROM finish();
ROLLBACK;
