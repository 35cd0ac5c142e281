-------------------------------------------------------------------------------
-- Call functions
--
-- SECURITY DEFINER: they write tables no application role can write, for
-- the user pgcall.current_user_id() names, after checking that user may.
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.call_start(
    invitees text[],
    type text DEFAULT 'audio',
    room_id text DEFAULT NULL,
    max_participants integer DEFAULT NULL,
    ring_timeout integer DEFAULT NULL,
    is_group boolean DEFAULT NULL,
    require_online boolean DEFAULT false,
    device_id text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_start'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_start(text[], text, text, integer, integer, boolean, boolean, text) IS
'Call the invitees: a direct call for one invitee (unless is_group), a group call otherwise.  type is audio (or voice) or video.  At most pgcall.max_invitees invitees (P400V).  Invitees already in a call are marked busy; with require_online, invitees with no open socket are missed as unavailable.  If the one invitee is already calling you, answers that call instead (glare).  Returns {call, agora, glare}; agora holds your token when Agora is configured.';

GRANT EXECUTE ON FUNCTION pgcall.call_start(text[], text, text, integer, integer, boolean, boolean, text) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_invite(call_id uuid, invitees text[], ring_timeout integer DEFAULT NULL,
                                   require_online boolean DEFAULT false)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_invite'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_invite(uuid, text[], integer, boolean) IS
'Add people to a live group call you are in: they are rung (call.incoming) and the others told (participant.invited).  Busy and offline people are marked as in call_start.  At most pgcall.max_invitees people per request (P400V) and rung by the call in all (P409E); each person invited counts against pgcall.rate_limit_invites (P429A).';

GRANT EXECUTE ON FUNCTION pgcall.call_invite(uuid, text[], integer, boolean) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_session(other_user text, type text DEFAULT 'audio', channel_id text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_session'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_session(text, text, text) IS
'Agora one-to-one flow: without channel_id, call other_user; with the channel_id of your call with other_user, answer it.  Returns {app_id, channel_id, token, expire_at, type, account, call_id, status, call}.  Needs Agora configured.';

GRANT EXECUTE ON FUNCTION pgcall.call_session(text, text, text) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_accept(call_id uuid, device_id text DEFAULT NULL,
                                   mic_muted boolean DEFAULT NULL, camera_off boolean DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_accept'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_accept(uuid, text, boolean, boolean) IS
'Answer a call that rings for you.  The first device to answer wins; another device gets P409A (answered elsewhere); the same device again gets the call back.  Returns {call, agora}.';

GRANT EXECUTE ON FUNCTION pgcall.call_accept(uuid, text, boolean, boolean) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_join(call_id uuid, device_id text DEFAULT NULL,
                                 mic_muted boolean DEFAULT NULL, camera_off boolean DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_join'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_join(uuid, text, boolean, boolean) IS
'Join a live call you are part of: answer it, or rejoin after leaving, declining or missing it.  Refused when the call is full or ended.  Returns {call, agora}; for a call of more than 50 people, {call, agora, participant}: the call without its participants (participant_count and joined_count instead; page them with call_participants) and your own participant.';

GRANT EXECUTE ON FUNCTION pgcall.call_join(uuid, text, boolean, boolean) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_reject(call_id uuid, reason text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_reject'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_reject(uuid, text) IS
'Decline a call that rings for you, with an optional reason.  A direct call ends as rejected; a group call goes on for the others.';

GRANT EXECUTE ON FUNCTION pgcall.call_reject(uuid, text) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_cancel(call_id uuid)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_cancel'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_cancel(uuid) IS
'The caller hangs up before anyone answered: the call ends as cancelled and stops ringing everywhere.';

GRANT EXECUTE ON FUNCTION pgcall.call_cancel(uuid) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_leave(call_id uuid)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_leave'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_leave(uuid) IS
'Hang up your own part of a call.  A direct call then ends; a group call ends when nobody is left in it.';

GRANT EXECUTE ON FUNCTION pgcall.call_leave(uuid) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_end(call_id uuid DEFAULT NULL, channel_id text DEFAULT NULL, reason text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_end'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_end(uuid, text, text) IS
'End a call for everyone, by call_id or channel_id: either person in a direct call, the host in a group call.  While it rings this is a cancel (caller) or a decline (callee).  reason: completed (default) or failed.  Returns {call, call_id, channel_id}; the call carries ended_at and duration_seconds.';

GRANT EXECUTE ON FUNCTION pgcall.call_end(uuid, text, text) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_set_status(call_id uuid, status text, reason text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_set_status'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_set_status(uuid, text, text) IS
'Set your participant status: invited, ringing (your device rings), joined, left, declined, missed or busy, along the participant state machine.  joined counts against pgcall.rate_limit_joins, and changes nothing when you are joined already.';

GRANT EXECUTE ON FUNCTION pgcall.call_set_status(uuid, text, text) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_set_media(call_id uuid, mic_muted boolean DEFAULT NULL,
                                      camera_off boolean DEFAULT NULL, sharing_screen boolean DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_set_media'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_set_media(uuid, boolean, boolean, boolean) IS
'Set your microphone, camera and screen-share state in a call; others get participant.media when something changed.  Counts against pgcall.rate_limit_media (P429A).';

GRANT EXECUTE ON FUNCTION pgcall.call_set_media(uuid, boolean, boolean, boolean) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_media_session(call_id uuid, ttl integer DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_media_session'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_media_session(uuid, integer) IS
'A fresh Agora token for your place in a live call: {call_id, agora: {provider, app_id, channel_id, account, token, expires_at}}.  Only for participants being rung or in the call.  ttl may shorten the token''s lifetime, never lengthen it past pgcall.agora_token_ttl (P400F).';

GRANT EXECUTE ON FUNCTION pgcall.call_media_session(uuid, integer) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_signal(call_id uuid, to_user text, kind text, payload jsonb DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'pgcall_call_signal'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_signal(uuid, text, text, jsonb) IS
'Relay a WebRTC message (offer, answer, candidate, end_of_candidates, renegotiate) to another participant of the same live call, as a call.signal event.  Payload at most pgcall.signal_max_bytes (16 KiB; P413A); each sender may send pgcall.rate_limit_signals signals and pgcall.rate_limit_signal_bytes bytes per call per minute (P429A).';

GRANT EXECUTE ON FUNCTION pgcall.call_signal(uuid, text, text, jsonb) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_get(call_id uuid)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_get'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_get(uuid) IS
'A call you take part in, with its participants.';

GRANT EXECUTE ON FUNCTION pgcall.call_get(uuid) TO pgcall_user, pgcall_backend;
GRANT EXECUTE ON FUNCTION pgcall.call_get(uuid) TO pgcall_admin;

CREATE FUNCTION pgcall.call_participants(call_id uuid, after text DEFAULT NULL, max integer DEFAULT 100)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_call_participants'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_participants(uuid, text, integer) IS
'A page of the participants of a call you may read with call_get, ordered by user id: those after the user id after (from the first when null), at most max (1 to 1000, default 100; P400P otherwise).  Returns {participants, next, version}: next is the after of the next page, null on the last one; version is the call''s when the page was read.  The call_* functions that change a call leave the list out of their reply for calls of more than 50 people.';

GRANT EXECUTE ON FUNCTION pgcall.call_participants(uuid, text, integer) TO pgcall_user, pgcall_backend;
GRANT EXECUTE ON FUNCTION pgcall.call_participants(uuid, text, integer) TO pgcall_admin;

CREATE FUNCTION pgcall.call_history_delete(call_id uuid)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_call_history_delete'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_history_delete(uuid) IS
'Remove a call from your own history.  The other participants keep theirs.';

GRANT EXECUTE ON FUNCTION pgcall.call_history_delete(uuid) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_expire()
RETURNS integer
AS 'MODULE_PATHNAME', 'pgcall_call_expire'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_expire() IS
'Mark invitations rung past their deadline as missed and end the calls that leaves empty.  Safe to run from several sessions at once; the bridge runs it every second.  Returns the number of calls touched.';

GRANT EXECUTE ON FUNCTION pgcall.call_expire() TO pgcall_bridge;

-- The token-by-channel operation of seed 002 (POST /api/calling/token), in
-- pgcall's own API first: for application servers only, and with the checks
-- call_media_session makes for a user (the user is being rung or is in the
-- live call on that channel), since the server acts for that user.

CREATE FUNCTION pgcall.channel_call_id(channel_id text)
RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.id FROM pgcall.call c
     WHERE c.channel_id = channel_call_id.channel_id AND pgcall.is_participant(c.id)
$$;

COMMENT ON FUNCTION pgcall.channel_call_id(text) IS
'The call on a channel, if the current user takes part in it (else NULL).  Internal: behind channel_token.';

GRANT EXECUTE ON FUNCTION pgcall.channel_call_id(text) TO pgcall_backend;

CREATE FUNCTION pgcall.channel_token(channel_id text, user_id text, uid bigint DEFAULT NULL,
                                     ttl integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cid uuid;
    s jsonb;
    tok text;
BEGIN
    IF channel_id IS NULL THEN
        RAISE EXCEPTION 'channel_id required' USING ERRCODE = 'P400R';
    END IF;
    IF user_id IS NULL THEN
        RAISE EXCEPTION 'user_id required' USING ERRCODE = 'P400R';
    END IF;
    -- act for the user: only pgcall_backend may set pgcall.user_id
    PERFORM set_config('pgcall.user_id', user_id, true);
    cid := pgcall.channel_call_id(channel_id);
    IF cid IS NULL THEN
        -- no call on the channel, or one the user takes no part in (row security)
        RAISE EXCEPTION 'call not found' USING ERRCODE = 'P404A',
            DETAIL = 'No call of this user has this channel.';
    END IF;
    s := pgcall.call_media_session(cid, ttl);
    IF uid IS NOT NULL THEN
        tok := pgcall.agora_rtc_token(channel_token.channel_id, uid, 'publisher',
                                      greatest(60, ((s #>> '{agora,expires_at}')::bigint
                                                    - extract(epoch FROM now())::bigint)::integer));
        s := jsonb_set(s, '{agora,token}', to_jsonb(tok));
    END IF;
    RETURN jsonb_build_object('call_id', cid, 'user_id', user_id, 'uid', uid) || (s -> 'agora');
END
$$;

COMMENT ON FUNCTION pgcall.channel_token(text, text, bigint, integer) IS
'For application servers (pgcall_backend): a fresh Agora token for user_id in the live call on channel_id, with the checks call_media_session makes for that user (being rung or in the call; P404A when the user has no call on the channel).  With uid, the token is for that numeric Agora uid instead of the user account.  Returns {call_id, user_id, uid, provider, app_id, channel_id, account, token, expires_at}.';

GRANT EXECUTE ON FUNCTION pgcall.channel_token(text, text, bigint, integer) TO pgcall_backend;
