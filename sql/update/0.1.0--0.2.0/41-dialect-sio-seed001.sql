-------------------------------------------------------------------------------
-- Seed 001 (NestJS + Agora, Socket.IO namespace /calls): its socket events
-- as a dialect, docs/migrating/seed001.md.
--
-- The seed documents the names of its events, not their payloads beyond the
-- client's ({callId, ...}); the payloads here follow its REST shapes
-- (camelCase, isMicMuted/isCameraOff/isSharingScreen).  join_call answers
-- (or rejoins) as call_set_status(joined), which changes nothing when one is
-- joined already, so the seed's "join over REST, then join_call, again after
-- every reconnect" works, and so does a client that only has the socket.
-- participant.reconnected reaches the others as participant_joined (with
-- reconnected: true): what the seed's server sent when a client came back
-- and emitted join_call again.
-------------------------------------------------------------------------------

INSERT INTO pgcall.dialect (name, namespace, error_event, error_payload, description) VALUES
    ('seed001', '/calls', 'error', '{"message": "$.error.message", "code": "$.error.code"}',
     'Seed 001: NestJS group calls in chat rooms, Socket.IO namespace /calls (join_call, media_state_changed, participant_disconnected...)');

INSERT INTO pgcall.dialect_event (dialect, event, fn, args, required, reply_event, reply_payload) VALUES
    ('seed001', 'join_call', 'call_set_status', '{"call_id": "$.in.callId", "status": "joined"}', '{callId}',
     'call_participants',
     '{"callId": "$.out.call.id", "status": "$.out.call.status",
       "participants": {"$each": "$.out.call.participants",
                        "$to": {"userId": "$.item.user_id", "role": "$.item.role", "status": "$.item.status",
                                "isMicMuted": "$.item.mic_muted", "isCameraOff": "$.item.camera_off",
                                "isSharingScreen": "$.item.sharing_screen", "joinedAt": "$.item.joined_at",
                                "leftAt": "$.item.left_at", "reason": "$.item.reason"}}}'),
    ('seed001', 'leave_call', 'call_leave', '{"call_id": "$.in.callId"}', '{callId}',
     NULL, '{"callId": "$.out.call.id", "status": "left", "callStatus": "$.out.call.status"}'),
    ('seed001', 'media_state_changed', 'call_set_media',
     '{"call_id": "$.in.callId", "mic_muted": "$.in.isMicMuted", "camera_off": "$.in.isCameraOff",
       "sharing_screen": "$.in.isSharingScreen"}', '{callId}',
     NULL,
     '{"callId": "$.out.call.id",
       "isMicMuted": "$.out.call.participants[*] ? (@.user_id == $.me).mic_muted",
       "isCameraOff": "$.out.call.participants[*] ? (@.user_id == $.me).camera_off",
       "isSharingScreen": "$.out.call.participants[*] ? (@.user_id == $.me).sharing_screen"}'),
    ('seed001', 'call_status_changed', 'call_set_status',
     '{"call_id": "$.in.callId", "status": "$.in.status", "reason": "$.in.reason"}', '{callId,status}',
     NULL,
     '{"callId": "$.out.call.id",
       "status": "$.out.call.participants[*] ? (@.user_id == $.me).status",
       "callStatus": "$.out.call.status"}');

INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, seq, "when", event, payload)
SELECT 'seed001', e, seq, w::jsonb, ev, p::jsonb
  FROM (VALUES
    ('call.incoming', 1, '{"$.event.call.kind": "group"}', 'incoming_call',
     '{"callId": "$.event.call_id", "chatRoomId": "$.event.call.room_id", "type": "$.event.call.media",
       "isGroupCall": true, "callerId": "$.event.call.created_by", "caller": "$.event.data.caller"}'),
    ('call.incoming', 2, '{}', 'incoming_call',
     '{"callId": "$.event.call_id", "chatRoomId": "$.event.call.room_id", "type": "$.event.call.media",
       "isGroupCall": false, "callerId": "$.event.call.created_by", "caller": "$.event.data.caller"}'),
    ('participant.joined', 1, '{}', 'participant_joined',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id", "participant": {"userId": "$.event.participant.user_id", "role": "$.event.participant.role",
                      "status": "$.event.participant.status", "isMicMuted": "$.event.participant.mic_muted",
                      "isCameraOff": "$.event.participant.camera_off",
                      "isSharingScreen": "$.event.participant.sharing_screen",
                      "joinedAt": "$.event.participant.joined_at", "leftAt": "$.event.participant.left_at",
                      "reason": "$.event.participant.reason"}}'),
    ('participant.reconnected', 1, '{}', 'participant_joined',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id", "participant": {"userId": "$.event.participant.user_id", "role": "$.event.participant.role",
                      "status": "$.event.participant.status", "isMicMuted": "$.event.participant.mic_muted",
                      "isCameraOff": "$.event.participant.camera_off",
                      "isSharingScreen": "$.event.participant.sharing_screen",
                      "joinedAt": "$.event.participant.joined_at", "leftAt": "$.event.participant.left_at",
                      "reason": "$.event.participant.reason"},
       "reconnected": true}'),
    ('participant.left', 1, '{}', 'participant_left',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "reason": "$.event.participant.reason"}'),
    ('participant.removed', 1, '{}', 'participant_left',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id", "reason": "removed"}'),
    ('participant.disconnected', 1, '{}', 'participant_disconnected',
     '{"callId": "$.event.call_id", "userId": "$.event.data.user_id", "since": "$.event.data.since"}'),
    ('participant.media', 1, '{}', 'participant_media_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "isMicMuted": "$.event.participant.mic_muted", "isCameraOff": "$.event.participant.camera_off",
       "isSharingScreen": "$.event.participant.sharing_screen"}'),
    ('participant.invited', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('participant.ringing', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('participant.declined', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('participant.missed', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('participant.busy', 1, '{}', 'participant_status_changed',
     '{"callId": "$.event.call_id", "userId": "$.event.participant.user_id",
       "status": "$.event.participant.status", "reason": "$.event.participant.reason"}'),
    ('call.ended', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.cancelled', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.rejected', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.missed', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.busy', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}'),
    ('call.unavailable', 1, '{}', 'call_ended',
     '{"callId": "$.event.call_id", "endedBy": "$.event.call.ended_by", "reason": "$.event.call.end_reason",
       "duration": "$.event.call.duration_seconds"}')
  ) AS v(e, seq, w, ev, p);

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message) VALUES
    ('seed001', 'P404A', 'Call not found'),
    ('seed001', '22P02', 'Invalid payload: callId must be a call id, media flags true or false');
