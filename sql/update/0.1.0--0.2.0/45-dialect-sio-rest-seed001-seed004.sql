-------------------------------------------------------------------------------
-- The REST routes of seeds 001 and 004 (docs/migrating/seed001.md,
-- seed004.md, "REST"), served with their Socket.IO dialects on a --dialect
-- port.
--
-- Seed 001 (NestJS): {statusCode, message, data}, data the call in the
-- seed's camelCase (its participants as in call_participants); 201 for
-- initiate (NestJS's default for a POST), 200 for the rest (the one answer
-- the seed shows, the media session, says 200).  Errors {statusCode,
-- message, code}.
--
-- Seed 004 (NestJS API gateway): the seed shows no response bodies; each
-- answers what its call service published ({callId, roomId, token} for the
-- caller and the acceptor), 201 as NestJS answers a POST.  roomId and reason
-- in the bodies are not read: the call's own Agora channel is the room (the
-- seed minted a token for whatever roomId a client sent), and pgcall's end
-- reasons are its own.
-------------------------------------------------------------------------------

UPDATE pgcall.dialect SET http_error = '{"statusCode": "$.error.status", "message": "$.error.message", "code": "$.error.code"}'
 WHERE name = 'seed001';
UPDATE pgcall.dialect SET http_error = '{"statusCode": "$.error.status", "message": "$.error.message"}'
 WHERE name = 'seed004';

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('seed001', '22032', 'Invalid JSON body', 400),
    ('seed004', '22032', 'Invalid JSON body', 400),
    ('seed004', '22P02', 'Invalid payload: callId must be a call id', 400),
    ('seed004', 'P404A', 'Call not found', 404);


-- Seed 001's call, with the call at $.call (replaced by the call's path in
-- each route): its participants as call_participants lists them.
WITH seed001_call(t) AS (
SELECT '{"id": "$.call.id", "chatRoomId": "$.call.room_id", "type": "$.call.media",
         "isGroupCall": "$.call.kind == \"group\"", "status": "$.call.status",
         "initiatorId": "$.call.created_by", "maxParticipants": "$.call.max_participants",
         "channelName": "$.call.channel_id", "createdAt": "$.call.created_at",
         "answeredAt": "$.call.answered_at", "endedAt": "$.call.ended_at", "endedBy": "$.call.ended_by",
         "endReason": "$.call.end_reason", "duration": "$.call.duration_seconds",
         "participants": {"$each": "$.call.participants",
                          "$to": {"userId": "$.item.user_id", "role": "$.item.role", "status": "$.item.status",
                                  "isMicMuted": "$.item.mic_muted", "isCameraOff": "$.item.camera_off",
                                  "isSharingScreen": "$.item.sharing_screen", "joinedAt": "$.item.joined_at",
                                  "leftAt": "$.item.left_at", "reason": "$.item.reason"}}}'::text)
INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, status, response)
SELECT 'seed001', m, p, fn, a::jsonb, req::text[], st,
       jsonb_build_object('statusCode', st, 'message', msg,
                          'data', CASE WHEN data = 'call' THEN replace(t, '$.call', '$.out.call')::jsonb
                                       WHEN data = 'active' THEN jsonb_build_object('$if', '$.out.id',
                                                                   '$then', replace(t, '$.call', '$.out')::jsonb)
                                       ELSE data::jsonb END)
  FROM seed001_call, (VALUES
    ('POST', '/api/v1/calls/rooms/:chatRoomId/initiate', 'call_start',
     '{"invitees": "$.body.inviteUserIds", "type": "$.body.type", "room_id": "$.params.chatRoomId",
       "is_group": "$.body.isGroupCall", "max_participants": "$.body.maxParticipants"}',
     '{inviteUserIds}', 201, 'Call initiated successfully', 'call'),
    ('POST', '/api/v1/calls/:id/join', 'call_join',
     '{"call_id": "$.params.id", "mic_muted": "$.body.isMicMuted", "camera_off": "$.body.isCameraOff"}',
     '{}', 200, 'Joined call successfully', 'call'),
    ('POST', '/api/v1/calls/:id/media/session', 'call_media_session', '{"call_id": "$.params.id"}',
     '{}', 200, 'Media session created successfully',
     '{"provider": "$.out.agora.provider", "mode": "sfu", "channelName": "$.out.agora.channel_id",
       "userAccount": "$.out.agora.account", "appId": "$.out.agora.app_id", "rtcToken": "$.out.agora.token",
       "expiresAt": "$.out.agora.expires_at"}'),
    ('PATCH', '/api/v1/calls/:id/status', 'call_set_status',
     '{"call_id": "$.params.id", "status": "$.body.status", "reason": "$.body.declineReason"}',
     '{status}', 200, 'Participant status updated successfully', 'call'),
    ('PATCH', '/api/v1/calls/:id/media', 'call_set_media',
     '{"call_id": "$.params.id", "mic_muted": "$.body.isMicMuted", "camera_off": "$.body.isCameraOff",
       "sharing_screen": "$.body.isSharingScreen"}',
     '{}', 200, 'Media state updated successfully', 'call'),
    ('POST', '/api/v1/calls/:id/end', 'call_end', '{"call_id": "$.params.id"}',
     '{}', 200, 'Call ended successfully', 'call'),
    ('GET', '/api/v1/calls/rooms/:chatRoomId/active', 'call_active', '{"room_id": "$.params.chatRoomId"}',
     '{}', 200, 'Active call retrieved successfully', 'active')
  ) AS v(m, p, fn, a, req, st, msg, data);

-- Seed 004: kind and media in the seed's upper case.
INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, status, response) VALUES
    ('seed004', 'POST', '/call/start', 'call_start',
     '{"invitees": "$.body.targetUserIds", "room_id": "$.body.conversationId",
       "is_group": "$.body.callType == \"GROUP\"", "type": "$.body.mediaType"}', '{targetUserIds}', 201,
     '{"callId": "$.out.call.id", "roomId": "$.out.call.channel_id", "conversationId": "$.out.call.room_id",
       "callType": {"$if": "$.out.call.kind == \"group\"", "$then": "GROUP", "$else": "DIRECT"},
       "mediaType": {"$if": "$.out.call.media == \"video\"", "$then": "VIDEO", "$else": "AUDIO"},
       "status": "$.out.call.status", "userId": "$.me", "token": "$.out.agora.token", "appId": "$.out.agora.app_id"}'),
    ('seed004', 'POST', '/call/accept', 'call_accept', '{"call_id": "$.body.callId"}', '{callId}', 201,
     '{"callId": "$.out.call.id", "roomId": "$.out.call.channel_id", "conversationId": "$.out.call.room_id",
       "callType": {"$if": "$.out.call.kind == \"group\"", "$then": "GROUP", "$else": "DIRECT"},
       "mediaType": {"$if": "$.out.call.media == \"video\"", "$then": "VIDEO", "$else": "AUDIO"},
       "status": "$.out.call.status", "userId": "$.me", "token": "$.out.agora.token", "appId": "$.out.agora.app_id"}'),
    ('seed004', 'POST', '/call/reject', 'call_reject', '{"call_id": "$.body.callId"}', '{callId}', 201,
     '{"callId": "$.out.call.id", "roomId": "$.out.call.channel_id", "status": "$.out.call.status", "userId": "$.me"}'),
    ('seed004', 'POST', '/call/end', 'call_end', '{"call_id": "$.body.callId"}', '{callId}', 201,
     '{"callId": "$.out.call.id", "roomId": "$.out.call.channel_id", "endedBy": "$.out.call.ended_by",
       "reason": "$.out.call.end_reason", "duration": "$.out.call.duration_seconds"}');
