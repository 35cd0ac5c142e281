-------------------------------------------------------------------------------
-- The dialects of seeds 000, 001, 002 and 004, and seed 003's REST routes
-- (seed 003's Socket.IO is in 92-dialect.sql): rows of the tables there.
-- Guides: docs/migrating/seed000.md ... seed004.md.
-------------------------------------------------------------------------------

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

INSERT INTO pgcall.dialect (name, namespace, error_event, error_payload, http_error, description) VALUES
    ('seed001', '/calls', 'error', '{"message": "$.error.message", "code": "$.error.code"}',
     '{"statusCode": "$.error.status", "message": "$.error.message", "code": "$.error.code"}',
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

-------------------------------------------------------------------------------
-- Seed 004 (NestJS microservices, RabbitMQ, Agora; Socket.IO namespace
-- /realtime): the events its realtime gateway emits, as a dialect,
-- docs/migrating/seed004.md.
--
-- The seed's clients act over REST (POST /call/start, /call/accept, ...) and
-- only listen on the socket: the dialect has no client events.  roomId is
-- what the seed's clients join Agora with (channelName: roomId), so it is
-- pgcall's Agora channel (call.channel_id); the seed's conversationId is
-- pgcall's room_id.  callType and mediaType are upper case in the seed
-- ('DIRECT'|'GROUP', 'AUDIO'|'VIDEO'): one row per combination.  A group
-- member's decline reaches the others as call.participant_left (the seed's
-- call.call_rejected would end the call in every client); a direct call that
-- is declined ends as call.call_rejected.  call.call_accepted carries each
-- recipient's own Agora token, as the seed's did ($.media: the bridge runs
-- call_media_session as that recipient).
-------------------------------------------------------------------------------

INSERT INTO pgcall.dialect (name, namespace, error_event, http_error, description) VALUES
    ('seed004', '/realtime', NULL, '{"statusCode": "$.error.status", "message": "$.error.message"}',
     'Seed 004: NestJS realtime gateway, Socket.IO namespace /realtime (call.incoming_call, call.call_accepted...)');

INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, seq, "when", event, payload)
SELECT 'seed004', e, seq, w::jsonb, ev, p::jsonb
  FROM (VALUES
    ('call.incoming', 1, '{"$.event.call.kind": "direct", "$.event.call.media": "audio"}', 'call.incoming_call',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "conversationId": "$.event.call.room_id",
       "callType": "DIRECT", "mediaType": "AUDIO",
       "caller": {"userId": "$.event.call.created_by", "username": "$.event.data.caller.name",
                  "userAvatar": "$.event.data.caller.avatar"}}'),
    ('call.incoming', 2, '{"$.event.call.kind": "direct", "$.event.call.media": "video"}', 'call.incoming_call',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "conversationId": "$.event.call.room_id",
       "callType": "DIRECT", "mediaType": "VIDEO",
       "caller": {"userId": "$.event.call.created_by", "username": "$.event.data.caller.name",
                  "userAvatar": "$.event.data.caller.avatar"}}'),
    ('call.incoming', 3, '{"$.event.call.media": "audio"}', 'call.incoming_call',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "conversationId": "$.event.call.room_id",
       "callType": "GROUP", "mediaType": "AUDIO",
       "caller": {"userId": "$.event.call.created_by", "username": "$.event.data.caller.name",
                  "userAvatar": "$.event.data.caller.avatar"}}'),
    ('call.incoming', 4, '{}', 'call.incoming_call',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "conversationId": "$.event.call.room_id",
       "callType": "GROUP", "mediaType": "VIDEO",
       "caller": {"userId": "$.event.call.created_by", "username": "$.event.data.caller.name",
                  "userAvatar": "$.event.data.caller.avatar"}}'),
    ('call.accepted', 1, '{}', 'call.call_accepted',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.data.by",
       "token": "$.media.agora.token"}'),
    ('call.rejected', 1, '{}', 'call.call_rejected',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.call.ended_by"}'),
    ('call.ended', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('call.cancelled', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('call.missed', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('call.busy', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('call.unavailable', 1, '{}', 'call.call_ended',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "endedBy": "$.event.call.ended_by",
       "reason": "$.event.call.end_reason", "duration": "$.event.call.duration_seconds"}'),
    ('participant.joined', 1, '{}', 'call.participant_joined',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.participant.user_id"}'),
    ('participant.left', 1, '{}', 'call.participant_left',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.participant.user_id",
       "reason": "$.event.participant.reason"}'),
    ('participant.removed', 1, '{}', 'call.participant_left',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.participant.user_id",
       "reason": "removed"}'),
    ('participant.declined', 1, '{"$.event.call.kind": "group"}', 'call.participant_left',
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.participant.user_id",
       "reason": "declined"}')
  ) AS v(e, seq, w, ev, p);

-- The REST routes of seeds 000, 002 and 003 (docs/migrating/seed000.md,
-- seed002.md, seed003.md): their paths, bodies, response shapes, status
-- codes and error texts, over pgcall's functions.

-- Seed 003 (MongoDB + WebRTC peer-to-peer): {success, message, data}.
-- status is the seed's: no-answer while the call rings (its documented
-- "still ringing"), the end reason once it ended, else pgcall's status.

-- (dialect_error words both the socket's and the REST errors: no row for
-- 42883, whose words differ, "Unknown event" and "Route not found")
INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('seed003', '22032', 'Invalid JSON body', 400),
    ('seed003', 'P404B', 'Call not found', 404),
    ('seed003', 'P400O', 'Receiver not found', 400);

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, status, response) VALUES
    ('seed003', 'POST', '/api/calls/initiate', 'call_start',
     '{"invitees": ["$.body.receiverId"], "type": "$.body.callType", "require_online": true}', '{receiverId}', 201,
     '{"success": true, "message": "Call initiated",
       "data": {"_id": "$.out.call.id", "callerId": {"_id": "$.out.call.created_by"},
                "receiverId": {"_id": "$.body.receiverId"}, "callType": "$.out.call.media",
                "status": {"$if": "$.out.call.status == \"ringing\"", "$then": "no-answer",
                           "$else": {"$if": "$.out.call.status == \"ended\"", "$then": "$.out.call.end_reason",
                                     "$else": "$.out.call.status"}},
                "endReason": "$.out.call.end_reason",
                "createdAt": "$.out.call.created_at"}}'),
    ('seed003', 'POST', '/api/calls/accept', 'call_accept', '{"call_id": "$.body.callId"}', '{callId}', 200,
     '{"success": true, "message": "Call accepted",
       "data": {"_id": "$.out.call.id", "callerId": {"_id": "$.out.call.created_by"},
                "receiverId": {"_id": "$.me"}, "callType": "$.out.call.media", "status": "$.out.call.status",
                "createdAt": "$.out.call.created_at", "startedAt": "$.out.call.answered_at"}}'),
    ('seed003', 'POST', '/api/calls/reject', 'call_reject', '{"call_id": "$.body.callId"}', '{callId}', 200,
     '{"success": true, "message": "Call rejected",
       "data": {"_id": "$.out.call.id", "callerId": {"_id": "$.out.call.created_by"},
                "receiverId": {"_id": "$.me"}, "callType": "$.out.call.media", "status": "$.out.call.end_reason",
                "createdAt": "$.out.call.created_at", "endedAt": "$.out.call.ended_at"}}'),
    ('seed003', 'POST', '/api/calls/end', 'call_end', '{"call_id": "$.body.callId"}', '{callId}', 200,
     '{"success": true, "message": "Call ended",
       "data": {"_id": "$.out.call.id", "callerId": {"_id": "$.out.call.created_by"},
                "callType": "$.out.call.media", "status": "$.out.call.end_reason",
                "duration": "$.out.call.duration_seconds", "createdAt": "$.out.call.created_at",
                "startedAt": "$.out.call.answered_at", "endedAt": "$.out.call.ended_at"}}');

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, response)
SELECT 'seed003', 'GET', p, 'call_history',
       jsonb_build_object('type', '$.query.type', 'limit', '$.query.limit', 'skip', '$.query.skip')
           || CASE WHEN p = '/api/calls/missed' THEN '{"missed_only": true}'::jsonb ELSE '{}'::jsonb END,
       '{"success": true,
         "data": {"$each": "$.out.data",
                  "$to": {"_id": "$.item.id",
                          "callerId": {"_id": "$.item.caller.id", "username": "$.item.caller.display_name",
                                       "images": "$.item.caller.avatar_url"},
                          "receiverId": {"_id": "$.item.participants[0].id",
                                         "username": "$.item.participants[0].display_name",
                                         "images": "$.item.participants[0].avatar_url"},
                          "callType": "$.item.type",
                          "status": {"$if": "$.item.status == \"ringing\"", "$then": "no-answer",
                                     "$else": "$.item.status"},
                          "duration": "$.item.duration",
                          "direction": "$.item.direction", "isMissed": "$.item.is_missed",
                          "createdAt": "$.item.created_at", "startedAt": "$.item.started_at",
                          "endedAt": "$.item.ended_at"}},
         "hasMore": "$.out.has_more"}'::jsonb
  FROM unnest(ARRAY['/api/calls/history', '/api/calls/missed']) p;

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, response) VALUES
    ('seed003', 'DELETE', '/api/calls/history/:callId', 'call_history_delete', '{"call_id": "$.params.callId"}',
     '{"success": true, "message": "Call deleted from history"}');

-- Seed 000 (Express + Sequelize, Agora): no authentication there; here the
-- body's userId must be the token's user, or a backend token acts for it.
INSERT INTO pgcall.dialect (name, namespace, error_event, http_error, description) VALUES
    ('seed000', '/', NULL, '{"success": false, "message": "$.error.message"}',
     'Seed 000: Agora one-to-one calls over REST (POST /api/calls/session, /end, /logs)');

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('seed000', 'P503A', 'Calls not configured', 503),
    ('seed000', '42883', 'Not found', 404),
    ('seed000', '22032', 'Invalid JSON body', 400),
    ('seed000', 'P404A', 'Call not found', 404),
    ('seed000', 'P403A', 'userId must be the authenticated user', 403),
    ('seed000', 'P401A', 'Authentication required', 401);

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, required_message, self_fields, response) VALUES
    ('seed000', 'POST', '/api/calls/session', 'call_session',
     '{"other_user": "$.body.otherUserId", "type": "$.body.type", "channel_id": "$.body.channelId"}',
     '{userId,otherUserId}', 'userId and otherUserId are required', '{userId}',
     '{"success": true, "appId": "$.out.app_id", "channelId": "$.out.channel_id", "token": "$.out.token",
       "expireAt": "$.out.expire_at", "type": "$.body.type"}'),
    ('seed000', 'POST', '/api/calls/end', 'call_end', '{"channel_id": "$.body.channelId"}',
     '{userId,channelId}', 'userId and channelId are required', '{userId}',
     '{"success": true, "message": "Call ended",
       "callLog": {"id": "$.out.call_id", "channelId": "$.out.channel_id",
                   "durationSeconds": "$.out.call.duration_seconds", "endedAt": "$.out.call.ended_at"}}'),
    ('seed000', 'POST', '/api/calls/logs', 'call_logs', '{"page": "$.body.page", "limit": "$.body.limit"}',
     '{userId}', 'userId is required', '{userId}',
     '{"success": true,
       "logs": {"$each": "$.out.logs",
                "$to": {"id": "$.item.id", "channelId": "$.item.channel_id", "type": "$.item.type",
                        "startedAt": "$.item.started_at", "endedAt": "$.item.ended_at",
                        "durationSeconds": "$.item.duration_seconds", "role": "$.item.role",
                        "otherUser": {"id": "$.item.other_user.id", "fullName": "$.item.other_user.display_name",
                                      "profilePicture": "$.item.other_user.avatar_url"}}},
       "pagination": "$.out.pagination"}');

-- Seed 002 (Ikoota, Agora conferences): bearer tokens, admin routes for
-- pgcall_admin, the token-by-channel route for backend tokens only.
INSERT INTO pgcall.dialect (name, namespace, error_event, http_error, description) VALUES
    ('seed002', '/', NULL, '{"success": false, "error": "$.error.message"}',
     'Seed 002: Agora conferences over REST (/api/calling/...)');

INSERT INTO pgcall.dialect_error (dialect, sqlstate, message, http_status) VALUES
    ('seed002', '42883', 'Not found', 404),
    ('seed002', '22032', 'Invalid request parameters', 400),
    ('seed002', '22P02', 'Call not found or ended', 404),
    ('seed002', 'P404A', 'Call not found or ended', 404),
    ('seed002', 'P409B', 'Call not found or ended', 404),
    ('seed002', 'P409D', 'Call is full', 400),
    ('seed002', 'P403C', 'Access denied to private call', 403),
    ('seed002', 'P403B', 'Access denied to this call', 403),
    ('seed002', 'P404B', 'Participant not found', 404),
    ('seed002', '42501', 'Access denied', NULL),
    ('seed002', 'P403F', 'Admin access required', 403),
    ('seed002', 'P400S', 'Invalid request parameters', 400),
    ('seed002', 'P503A', 'Token generation failed', 500);

INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args, required, backend_only, status, response) VALUES
    ('seed002', 'POST', '/api/calling/token', 'channel_token',
     '{"channel_id": "$.body.channelName", "user_id": "$.body.userId", "uid": "$.body.uid"}',
     '{channelName,userId}', true, 200,
     '{"token": "$.out.token", "appId": "$.out.app_id", "channelName": "$.out.channel_id", "uid": "$.out.uid",
       "userAccount": "$.out.account", "expiresAt": "$.out.expires_at"}'),
    ('seed002', 'POST', '/api/calling/create', 'conference_create',
     '{"title": "$.body.title", "description": "$.body.description", "is_public": "$.body.isPublic",
       "max_participants": "$.body.maxParticipants"}', '{title}', false, 200,
     '{"callId": "$.out.call.id", "channelName": "$.out.call.channel_id", "title": "$.out.call.title",
       "description": "$.out.call.description", "isPublic": "$.out.call.is_public",
       "maxParticipants": "$.out.call.max_participants"}'),
    ('seed002', 'POST', '/api/calling/:callId/join', 'call_join', '{"call_id": "$.params.callId"}', '{}', false, 200,
     '{"success": true, "channelName": "$.out.call.channel_id", "callTitle": "$.out.call.title",
       "token": "$.out.agora.token", "appId": "$.out.agora.app_id", "userAccount": "$.out.agora.account",
       "expiresAt": "$.out.agora.expires_at"}'),
    ('seed002', 'POST', '/api/calling/:callId/leave', 'call_leave', '{"call_id": "$.params.callId"}', '{}', false, 200,
     '{"success": true}'),
    ('seed002', 'GET', '/api/calling/my-calls', 'calls_mine', '{"status": "$.query.status", "limit": "$.query.limit"}',
     '{}', false, 200, NULL),
    ('seed002', 'GET', '/api/calling/preferences', 'preferences_get', '{}', '{}', false, 200, NULL),
    ('seed002', 'PUT', '/api/calling/preferences', 'preferences_set',
     '{"voice_masking_enabled": "$.body.voice_masking_enabled", "video_masking_enabled": "$.body.video_masking_enabled",
       "auto_mute_on_join": "$.body.auto_mute_on_join", "video_quality": "$.body.video_quality",
       "preferred_avatar": "$.body.preferred_avatar"}', '{}', false, 200,
     '{"success": true, "message": "Preferences updated successfully",
       "preferences": {"voice_masking_enabled": "$.out.voice_masking_enabled",
                       "video_masking_enabled": "$.out.video_masking_enabled",
                       "auto_mute_on_join": "$.out.auto_mute_on_join", "video_quality": "$.out.video_quality",
                       "preferred_avatar": "$.out.preferred_avatar"}}'),
    ('seed002', 'GET', '/api/calling/admin/analytics', 'admin_analytics',
     '{"days": "$.query.days", "group_by": "$.query.groupBy"}', '{}', false, 200,
     '{"dailyStats": {"$each": "$.out.stats",
                      "$to": {"date": "$.item.period", "total_calls": "$.item.calls",
                              "total_participants": "$.item.participants", "avg_duration": "$.item.avg_duration",
                              "audio_minutes": "$.item.audio_minutes", "video_minutes": "$.item.video_minutes"}},
       "summary": {"totalCalls": "$.out.summary.calls", "totalParticipants": "$.out.summary.participants",
                   "totalAudioMinutes": "$.out.summary.audio_minutes",
                   "totalVideoMinutes": "$.out.summary.video_minutes",
                   "averageCallDuration": "$.out.summary.avg_duration",
                   "peakParticipants": "$.out.summary.peak_participants"}}'),
    ('seed002', 'GET', '/api/calling/admin/:callId/details', 'admin_call_details', '{"call_id": "$.params.callId"}',
     '{}', false, 200, NULL),
    ('seed002', 'POST', '/api/calling/admin/:callId/end', 'admin_call_end', '{"call_id": "$.params.callId"}',
     '{}', false, 200, '{"success": true, "message": "Call ended successfully", "endedAt": "$.out.ended_at"}'),
    ('seed002', 'DELETE', '/api/calling/admin/:callId/participants/:userId', 'admin_remove_participant',
     '{"call_id": "$.params.callId", "user_id": "$.params.userId"}', '{}', false, 200,
     '{"success": true, "message": "Participant removed from call"}');
-- Analytics counts against pgcall.rate_limit_analytics (a write), and the
-- seed's dashboard reads it with GET: the one shipped GET route that writes.
UPDATE pgcall.dialect_route SET writes = true
 WHERE dialect = 'seed002' AND method = 'GET' AND path = '/api/calling/admin/analytics';

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
