-- Socket.IO dialects: pgcall.dialect_call, dialect_rules, dialect_fill and
-- the constraints on dialect rows (seed 003's dialect, and a test dialect
-- for what seed 003 does not use).
BEGIN;
SELECT plan(42);

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
-- $.media (the recipient's own call_media_session, filled in by the bridge):
-- in emit payloads only, a clear error anywhere else
SELECT lives_ok($$INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, event, payload)
                  VALUES ('trusty', 'call.accepted', 'accepted',
                          '{"token": "$.media.agora.token", "all": ["$.media"], "ch": "$.media.agora.channel_id"}')$$,
                'an emit payload may read $.media');
SELECT throws_ok($$INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, seq, event, "when")
                   VALUES ('trusty', 'call.accepted', 2, 'x', '{"$.event.call.created_by": "$.media.agora.account"}')$$,
                 '22023', '$.media cannot be read in a dialect_emit condition', 'not a condition''s value');
SELECT throws_ok($$INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, seq, event, "when")
                   VALUES ('trusty', 'call.accepted', 2, 'x', '{"$.media.agora.token": null}')$$,
                 '22023', '$.media cannot be read in a dialect_emit condition', 'nor its key');
SELECT throws_ok($$UPDATE pgcall.dialect_event SET reply_payload = '{"token": "$.media.agora.token"}'
                    WHERE dialect = 'trusty'$$,
                 '22023', '$.media is filled in dialect_emit payloads only', 'an inbound template raises against it');
SELECT throws_ok($$UPDATE pgcall.dialect SET http_error = '{"t": ["$.media"]}' WHERE name = 'trusty'$$,
                 '22023', '$.media is filled in dialect_emit payloads only', 'wherever it is in the template');
SELECT is(pgcall.dialect_template_ok('{"kind": "$.event.call.media", "m": "$.mediax", "n": "$.out.media"}'), true,
          'a member named media, or a root that only starts with it, is not $.media');
SELECT is(pgcall.dialect_template_ok('{"m": "$.medias.x"}', true), false, 'outbound roots are $.event, $.me and $.media');
SELECT throws_ok($$INSERT INTO pgcall.dialect_event (dialect, event, fn) VALUES ('trusty', 'x', 'rpc')$$,
                 '23503', NULL, 'an event calls only functions of pgcall.api_function');
SELECT throws_ok($$INSERT INTO pgcall.dialect (name) VALUES ('Bad Name')$$, '23514', NULL, 'dialect names are checked');
SELECT throws_ok($$INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, event, payload)
                   VALUES ('trusty', 'call.incoming', 'x',
                           '{"a": {"$each": "$.event.call.participants", "$to": {"u": "$.item.user_id"}}}')$$,
                 '23514', NULL, 'outbound templates cannot reshape arrays: the bridge does not evaluate $.item');

SELECT throws_ok($$INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, seq, event, payload)
                   VALUES ('seed001', 'call.incoming', 9, 'x', '{"a": {"$if": "$.event.call.kind", "$then": "G"}}')$$,
                 '23514', NULL, 'outbound templates refuse $if: the bridge would send it as a literal member');

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

SELECT is(pgcall.dialect_fill('{"a": {"$each": "$.xs", "$to": {"v": "$.item.n", "k": "lit", "me": "$.me"}},
                                 "b": {"$each": "$.nope", "$to": {"v": "$.item"}}, "c": {"$each": "$.me", "$to": 1}}',
                               '{"xs": [{"n": 1}, {"m": 2}], "me": "alice"}'),
          '{"a": [{"v": 1, "k": "lit", "me": "alice"}, {"k": "lit", "me": "alice"}], "b": [], "c": []}',
          'dialect_fill: $each/$to fills the template per element ($.item), [] when the path names no array');

SELECT is(pgcall.dialect_fill('{"a": {"$if": "$.k == \"g\"", "$then": "G", "$else": "D"},
                                 "b": {"$if": "$.k == \"x\"", "$then": "G", "$else": "D"},
                                 "c": {"$if": "$.nope", "$then": {"v": "$.nope.v"}},
                                 "d": {"$if": "$.o", "$then": {"v": "$.o.v", "w": "$.o.w"}},
                                 "e": {"$if": "$.f", "$then": 1, "$else": "$.k"}}',
                               '{"k": "g", "o": {"v": 1}, "f": false}'),
          '{"a": "G", "b": "D", "c": null, "d": {"v": 1}, "e": "g"}',
          'dialect_fill: $if/$then/$else, $then when the path names something other than null or false');
SELECT is(pgcall.dialect_template_ok('{"a": {"$each": "$.event.call.participants", "$to": 1}}', true), false,
          'and $each/$to without $.item paths');

-- seed 001: join_call answers (or rejoins) and lists the participants in the seed's shape
SELECT pg_temp.act('alice');
SELECT pgcall.call_start(ARRAY['bob'], 'video') AS s001 \gset
SELECT pg_temp.act('bob');
SELECT is(jsonb_path_query_array(pgcall.dialect_call('seed001', 'join_call', jsonb_build_object('callId', :'s001'::jsonb #> '{call,id}')),
                                 '$.emit[0][1].participants[*].userId'),
          '["alice", "bob"]', 'seed 001 join_call: call_participants lists everyone');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(pgcall.dialect_call('seed001', 'join_call',
                jsonb_build_object('callId', :'s001'::jsonb #> '{call,id}')) #> '{ack,participants,1}') k),
          '{isCameraOff,isMicMuted,isSharingScreen,joinedAt,leftAt,reason,role,status,userId}',
          'each participant in the seed''s camelCase');
SELECT is((pgcall.dialect_call('seed001', 'media_state_changed',
                               jsonb_build_object('callId', :'s001'::jsonb #> '{call,id}', 'isCameraOff', true)) -> 'ack')
            - 'callId'::text,
          '{"isMicMuted": false, "isCameraOff": true, "isSharingScreen": false}',
          'media_state_changed: the ack is the sender''s own media state');
SELECT is(pgcall.dialect_call('seed001', 'leave_call', '{}') #> '{emit,0}',
          '["error", {"code": "P400R", "message": "callId required"}]', 'seed 001 errors: the error event');
SELECT pg_temp.act('alice');
SELECT is(pgcall.dialect_call('seed004', 'call.started', '{}'),
          '{"ack": {"message": "Unknown event \"call.started\""}, "emit": [],
            "error": {"code": "42883", "message": "Unknown event \"call.started\""}}',
          'seed 004 takes no client events and has no error event');

-- seed 003
SELECT is(pgcall.dialect_call('seed003', 'initiateCall', '{"callType": "video"}'),
          '{"ack": {"error": "receiverId required"}, "emit": [["callError", {"error": "receiverId required"}]],
            "error": {"code": "P400R", "message": "receiverId required"}}', 'seed 003: receiverId required');
SELECT is(pgcall.dialect_call('seed003', 'acceptCall', '{"callId": "nope"}') -> 'ack', '{"error": "Call not found"}',
          'a callId that is no uuid: Call not found');
SELECT is(pgcall.dialect_call('seed003', 'acceptCall', '{"callId": "00000000-0000-4000-8000-000000000000"}') -> 'ack',
          '{"error": "Call not found"}', 'an unknown call: Call not found');
SELECT is(pgcall.dialect_call('seed003', 'nope', '{}') #>> '{error,code}', '42883', 'an unknown event');
SELECT is(pgcall.dialect_call('seed003', 'nope', '{}') -> 'ack', '{"error": "Unknown event \"nope\""}',
          'an unknown event is worded as one, not as an unknown REST route');
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
SELECT is((SELECT count(*) FROM pgcall.call WHERE created_by = 'alice'), 4::bigint,
          'the refused and failed events left no call: only the four that ran (seed 001''s included)');

-- rules for the bridge
SET LOCAL ROLE pgcall_user;
SELECT is(jsonb_array_length(pgcall.dialect_rules('seed003', '/')), 10, 'seed 003 maps ten pgcall events');
SELECT is(pgcall.dialect_rules('seed003', '/') -> 0 ->> 'on', 'call.accepted', 'in pgcall event order');
SELECT throws_ok($$SELECT pgcall.dialect_rules('seed003', '/calls')$$, '22023', 'Invalid namespace',
                 'another namespace is refused');
SELECT is(jsonb_array_length(pgcall.dialect_rules('seed001', '/calls')), 19, 'seed 001 maps nineteen rows');
SELECT is(jsonb_array_length(pgcall.dialect_rules('seed004', '/realtime')), 15, 'seed 004 maps fifteen rows');
SELECT is((SELECT array_agg(method || ' ' || path ORDER BY path, method) FROM pgcall.dialect_route WHERE dialect = 'seed004'),
          '{"POST /call/accept","POST /call/end","POST /call/reject","POST /call/start"}', 'seed 004''s four REST routes');
SELECT throws_ok($$SELECT pgcall.dialect_rules('nope', '/')$$, '22023', 'unknown dialect "nope"', 'an unknown dialect');

SELECT * FROM finish();
ROLLBACK;
