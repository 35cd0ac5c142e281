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
-- is declined ends as call.call_rejected.
-------------------------------------------------------------------------------

INSERT INTO pgcall.dialect (name, namespace, error_event, description) VALUES
    ('seed004', '/realtime', NULL,
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
     '{"callId": "$.event.call_id", "roomId": "$.event.call.channel_id", "userId": "$.event.data.by"}'),
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
