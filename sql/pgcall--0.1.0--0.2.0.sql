-- pgcall 0.1.0 -> 0.2.0 (ALTER EXTENSION pgcall UPDATE).
--
-- Made by `make sql` from sql/update/0.1.0--0.2.0/*.sql, in name order: one
-- file per change, so changes made side by side do not collide.  Every
-- change here is also in the fresh install script, and test/suites/93-upgrade
-- compares the two catalogs.

\echo Use "ALTER EXTENSION pgcall UPDATE TO '0.2.0'" to load this file. \quit
-------------------------------------------------------------------------------
-- Dialect templates: arrays reshaped element by element
--
-- {"$each": <path to an array>, "$to": <template>} fills the template in once
-- per element of the array, with the element at $.item ([] when the path
-- names no array).  Seed 001's call_participants (the call's participants in
-- the seed's camelCase) needs it.  The REST dialects (40-dialect-rest.sql)
-- define dialect_fill the same way; whichever part comes last replaces it
-- with the same function.  Inbound only: outbound templates keep to the
-- paths the bridge evaluates ($.event and $.me), so a "$to" with $.item
-- paths is refused there by dialect_template_ok.
-------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pgcall.dialect_fill(template jsonb, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    v jsonb;
    r jsonb;
    result jsonb;
BEGIN
    CASE jsonb_typeof(template)
    WHEN 'object' THEN
        IF template ? '$each' AND template ? '$to' THEN
            r := CASE WHEN jsonb_typeof(template -> '$each') = 'string'
                      THEN jsonb_path_query_first(ctx, (template ->> '$each')::jsonpath) END;
            IF jsonb_typeof(r) IS DISTINCT FROM 'array' THEN
                RETURN '[]';
            END IF;
            SELECT coalesce(jsonb_agg(pgcall.dialect_fill(template -> '$to',
                                                          ctx || jsonb_build_object('item', e)) ORDER BY n), '[]')
              INTO result
              FROM jsonb_array_elements(r) WITH ORDINALITY AS a(e, n);
            RETURN result;
        END IF;
        result := '{}';
        FOR k, v IN SELECT * FROM jsonb_each(template) LOOP
            IF jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^\$[.[]' THEN
                r := jsonb_path_query_first(ctx, (v #>> '{}')::jsonpath);
                CONTINUE WHEN r IS NULL;
            ELSE
                r := pgcall.dialect_fill(v, ctx);
            END IF;
            result := result || jsonb_build_object(k, r);
        END LOOP;
        RETURN result;
    WHEN 'array' THEN
        SELECT coalesce(jsonb_agg(pgcall.dialect_fill(e, ctx) ORDER BY n), '[]')
          INTO result
          FROM jsonb_array_elements(template) WITH ORDINALITY AS a(e, n);
        RETURN result;
    WHEN 'string' THEN
        IF (template #>> '{}') ~ '^\$[.[]' THEN
            RETURN coalesce(jsonb_path_query_first(ctx, (template #>> '{}')::jsonpath), 'null');
        END IF;
        RETURN template;
    ELSE
        RETURN template;
    END CASE;
END
$$;

COMMENT ON FUNCTION pgcall.dialect_fill(jsonb, jsonb) IS
'A dialect template filled in from a context: every string that is a path ($. or $[) replaced by the value it names, members whose path names nothing left out; an object {"$each": <path>, "$to": <template>} becomes the array of the template filled in for each element of the array the path names (the element at $.item; [] when it names no array).';
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
