-- The REST routes of seeds 000, 002 and 003 (docs/migrating/seed000.md,
-- seed002.md, seed003.md): their paths, bodies, response shapes, status
-- codes and error texts, over pgcall's functions.

-- Seed 003 (MongoDB + WebRTC peer-to-peer): {success, message, data}.
UPDATE pgcall.dialect SET http_error = '{"success": false, "message": "$.error.message"}'
 WHERE name = 'seed003';
UPDATE pgcall.dialect_error SET http_status = 404 WHERE dialect = 'seed003' AND sqlstate = '22P02';

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
                "status": "$.out.call.status", "endReason": "$.out.call.end_reason",
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
                          "callType": "$.item.type", "status": "$.item.status", "duration": "$.item.duration",
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
