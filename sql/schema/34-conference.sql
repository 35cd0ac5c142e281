-------------------------------------------------------------------------------
-- Conferences
--
-- A conference is a call with a title that people join rather than answer:
-- it starts active with its host in it, anyone may join a public one, only
-- those invited a private one (call_join checks both).  From then on it
-- follows the group call rules: capacity (max_participants joined at once),
-- leave, removal, and it ends when the last person leaves or the host ends it.
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.conference_create(
    title text,
    description text DEFAULT NULL,
    is_public boolean DEFAULT false,
    max_participants integer DEFAULT NULL,
    type text DEFAULT 'video',
    invitees text[] DEFAULT NULL,
    room_id text DEFAULT NULL,
    device_id text DEFAULT NULL,
    mic_muted boolean DEFAULT NULL,
    camera_off boolean DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_conference_create'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.conference_create(text, text, boolean, integer, text, text[], text, text, boolean, boolean) IS
'Create a conference (title up to 200 bytes, description up to 4000) with you in it as host: public (anyone may join with call_join) or private (only invitees may), at most max_participants in it at once (default pgcall.max_participants), type audio or video (default video).  invitees are rung and may join while it lasts; call_invite rings more (only the host, in a private one).  Your microphone starts muted if you ask or your auto_mute_on_join preference says so.  Counts against pgcall.rate_limit_calls (and pgcall.rate_limit_tokens when Agora is configured).  Returns {call, agora}.';

GRANT EXECUTE ON FUNCTION pgcall.conference_create(text, text, boolean, integer, text, text[], text, text, boolean, boolean) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_status_arg(status text)
RETURNS text
AS 'MODULE_PATHNAME', 'pgcall_call_status_arg'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.call_status_arg(text) IS
'A call status filter as a client gave it, lower-cased; NULL means no filter.  Raises P400M unless it is ringing, active or ended.';

GRANT EXECUTE ON FUNCTION pgcall.call_status_arg(text) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.calls_mine(status text DEFAULT NULL, "limit" integer DEFAULT 20)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH args AS MATERIALIZED (
        SELECT pgcall.require_user_id() AS me, pgcall.call_status_arg(calls_mine.status) AS status
    ), mine AS (
        SELECT c.*, me.role AS my_role,
               pgcall.effective_participant_status(me.status, me.ring_deadline) AS my_status,
               pgcall.effective_call_status(c.status, c.ring_deadline) AS eff_status
          FROM args
          JOIN pgcall.participant me ON me.user_id = args.me
          JOIN pgcall.call c ON c.id = me.call_id
         WHERE NOT me.hidden
    ), page AS (
        SELECT m.* FROM mine m, args
         WHERE args.status IS NULL OR m.eff_status = args.status
         ORDER BY m.created_at DESC, m.id
         LIMIT GREATEST(LEAST(calls_mine."limit", 100), 1)
    )
    SELECT COALESCE(jsonb_agg(jsonb_build_object(
               'id', l.id,
               'kind', l.kind,
               'type', l.media,
               'title', l.title,
               'description', l.description,
               'channel_id', l.channel_id,
               'room_id', l.room_id,
               'created_by', l.created_by,
               'is_public', l.is_public,
               'max_participants', l.max_participants,
               'status', l.eff_status,
               'end_reason', CASE WHEN l.eff_status = 'ended' THEN COALESCE(l.end_reason, 'missed') END,
               'created_at', l.created_at,
               'ended_at', l.ended_at,
               'role', l.my_role,
               'my_status', l.my_status,
               'participant_count', (SELECT count(*) FROM pgcall.participant p
                                      WHERE p.call_id = l.id AND p.joined_at IS NOT NULL),
               'joined_count', (SELECT count(*) FROM pgcall.participant p
                                 WHERE p.call_id = l.id AND p.status = 'joined'))
           ORDER BY l.created_at DESC, l.id), '[]'::jsonb)
      FROM page l
$$;

COMMENT ON FUNCTION pgcall.calls_mine(text, integer) IS
'The calls you host or take part in, newest first (at most limit, up to 100), optionally only those whose status is ringing, active or ended: [{id, kind, type, title, description, channel_id, room_id, created_by, is_public, max_participants, status, end_reason, created_at, ended_at, role, my_status, participant_count, joined_count}].  participant_count counts everyone who was ever in the call, joined_count those in it now.';

GRANT EXECUTE ON FUNCTION pgcall.calls_mine(text, integer) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.conferences_public("limit" integer DEFAULT 20)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH who AS MATERIALIZED (
        SELECT pgcall.require_user_id() AS id
    ), page AS (
        SELECT c.* FROM pgcall.call c, who
         WHERE c.kind = 'conference' AND c.is_public AND c.status <> 'ended'
         ORDER BY c.created_at DESC, c.id
         LIMIT GREATEST(LEAST(conferences_public."limit", 100), 1)
    )
    SELECT COALESCE(jsonb_agg(jsonb_build_object(
               'id', l.id,
               'type', l.media,
               'title', l.title,
               'description', l.description,
               'room_id', l.room_id,
               'created_by', l.created_by,
               'max_participants', l.max_participants,
               'created_at', l.created_at,
               'joined_count', (SELECT count(*) FROM pgcall.participant p
                                 WHERE p.call_id = l.id AND p.status = 'joined'))
           ORDER BY l.created_at DESC, l.id), '[]'::jsonb)
      FROM page l
$$;

COMMENT ON FUNCTION pgcall.conferences_public(integer) IS
'Live public conferences anyone may join, newest first (at most limit, up to 100): [{id, type, title, description, room_id, created_by, max_participants, created_at, joined_count}].  Join one with call_join.';

GRANT EXECUTE ON FUNCTION pgcall.conferences_public(integer) TO pgcall_user, pgcall_backend;
