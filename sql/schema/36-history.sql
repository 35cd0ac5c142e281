-------------------------------------------------------------------------------
-- Profiles and call history
--
-- Display names and avatars come from pgcall.user_profile: pgcall.profile
-- unless use_profile_source() points it at your own users table.  Profiles
-- are public to pgcall's roles.
-------------------------------------------------------------------------------

CREATE TABLE pgcall.profile (
    user_id      text PRIMARY KEY,
    display_name text,
    avatar_url   text
);

COMMENT ON TABLE pgcall.profile IS
'Display names and avatars for call logs, unless pgcall.use_profile_source() points them at your own users table.';

ALTER TABLE pgcall.profile ENABLE ROW LEVEL SECURITY;

CREATE POLICY profile_read ON pgcall.profile FOR SELECT
    TO pgcall_user, pgcall_backend USING (true);

CREATE POLICY profile_admin_read ON pgcall.profile FOR SELECT
    TO pgcall_admin USING (NOT pgcall.pseudonymous());

CREATE POLICY profile_backend_write ON pgcall.profile FOR ALL
    TO pgcall_backend USING (true) WITH CHECK (true);

GRANT SELECT ON pgcall.profile TO pgcall_user, pgcall_backend, pgcall_admin;
GRANT INSERT, UPDATE, DELETE ON pgcall.profile TO pgcall_backend;

-- security_invoker: whoever reads it reads the source with their own
-- privileges and row-level security, not the extension owner's.
CREATE VIEW pgcall.user_profile WITH (security_invoker = true) AS
    SELECT user_id, display_name, avatar_url FROM pgcall.profile;

COMMENT ON VIEW pgcall.user_profile IS
'Where call logs find display names and avatars, read with the reader''s own privileges and row-level security.  Point it at your own users table with pgcall.use_profile_source().';

GRANT SELECT ON pgcall.user_profile TO pgcall_user, pgcall_backend, pgcall_admin;

CREATE FUNCTION pgcall.use_profile_source(source regclass, id_column name DEFAULT NULL,
                                          name_column name DEFAULT NULL, avatar_column name DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'pgcall_use_profile_source'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.use_profile_source(regclass, name, name, name) IS
'Point pgcall.user_profile (display names and avatars in call logs) at your own users table: SELECT pgcall.use_profile_source(''public.users'', ''id'', ''full_name'', ''avatar_url'').  The view is security_invoker: each reader needs SELECT on those columns and sees only the rows its row-level security allows (a WARNING names the pgcall roles that lack the privilege).  NULL source: back to pgcall.profile.  Superusers only; run it again after restoring a dump.';

-- ----------------------------------------------------------------------------
-- Reads
--
-- End-user roles have no SELECT on the call tables: a policy's predicate
-- runs after leakproof ones, so EXPLAIN (ANALYZE) over a base table tells
-- through "Rows Removed by Filter" and buffer counts what the policy hides.
-- These functions read as their owner and name the current user themselves.

CREATE FUNCTION pgcall.call_active(room_id text)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pgcall.call_json(c.id)::jsonb
      FROM pgcall.call c
      JOIN pgcall.participant p ON p.call_id = c.id
      JOIN (SELECT pgcall.require_user_id() AS id OFFSET 0) who ON p.user_id = who.id
     WHERE c.room_id = call_active.room_id
       AND c.status <> 'ended'  -- implied by the next line; lets call_room_live_idx find the room
       AND pgcall.effective_call_status(c.status, c.ring_deadline) <> 'ended'
     ORDER BY c.created_at DESC
     LIMIT 1
$$;

COMMENT ON FUNCTION pgcall.call_active(text) IS
'The live call of a room (chat room, conversation) that you take part in, or null: what a client rejoins after reconnecting.';

GRANT EXECUTE ON FUNCTION pgcall.call_active(text) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_logs(page integer DEFAULT 1, "limit" integer DEFAULT 20)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH who AS MATERIALIZED (
        SELECT pgcall.require_user_id() AS id
    ), mine AS (
        SELECT c.*, me.role AS my_role,
               pgcall.effective_call_status(c.status, c.ring_deadline) AS eff_status
          FROM who
          JOIN pgcall.participant me ON me.user_id = who.id
          JOIN pgcall.call c ON c.id = me.call_id
         WHERE NOT me.hidden
    ), page AS (
        SELECT * FROM mine
         ORDER BY created_at DESC, id
         LIMIT GREATEST(LEAST(call_logs."limit", 100), 1)
        OFFSET (GREATEST(call_logs.page, 1) - 1) * GREATEST(LEAST(call_logs."limit", 100), 1)
    )
    SELECT jsonb_build_object(
        'logs', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', l.id,
                       'channel_id', l.channel_id,
                       'type', l.media,
                       'kind', l.kind,
                       'status', l.eff_status,
                       'end_reason', CASE WHEN l.eff_status = 'ended' THEN COALESCE(l.end_reason, 'missed') END,
                       'started_at', l.created_at,
                       'answered_at', l.answered_at,
                       'ended_at', l.ended_at,
                       'duration_seconds', COALESCE(l.duration_seconds, 0),
                       'role', CASE WHEN l.created_by = pgcall.current_user_id() THEN 'caller' ELSE 'callee' END,
                       'other_user', (
                           SELECT jsonb_build_object('id', o.user_id,
                                                     'display_name', up.display_name,
                                                     'avatar_url', up.avatar_url)
                             FROM pgcall.participant o
                             LEFT JOIN pgcall.user_profile up ON up.user_id = o.user_id
                            WHERE o.call_id = l.id AND o.user_id <> pgcall.current_user_id()
                            ORDER BY (o.user_id = l.created_by) DESC, o.invited_at, o.user_id
                            LIMIT 1))
                   ORDER BY l.created_at DESC, l.id)
              FROM page l), '[]'::jsonb),
        'pagination', jsonb_build_object(
            'page', GREATEST(call_logs.page, 1),
            'limit', GREATEST(LEAST(call_logs."limit", 100), 1),
            'total', (SELECT count(*) FROM mine)))
$$;

COMMENT ON FUNCTION pgcall.call_logs(integer, integer) IS
'Your call history, newest first, page by page (limit at most 100): {logs: [{id, channel_id, type, kind, status, end_reason, started_at, answered_at, ended_at, duration_seconds, role, other_user: {id, display_name, avatar_url}}], pagination: {page, limit, total}}.';

GRANT EXECUTE ON FUNCTION pgcall.call_logs(integer, integer) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_history(
    type text DEFAULT NULL, direction text DEFAULT NULL, missed_only boolean DEFAULT false,
    "limit" integer DEFAULT 50, skip integer DEFAULT 0)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH who AS MATERIALIZED (
        SELECT pgcall.require_user_id() AS id
    ), mine AS (
        SELECT c.id, c.kind, c.media, c.created_by, c.created_at, c.answered_at, c.ended_at,
               COALESCE(c.duration_seconds, 0) AS duration_seconds,
               pgcall.effective_call_status(c.status, c.ring_deadline) AS status,
               CASE WHEN pgcall.effective_call_status(c.status, c.ring_deadline) = 'ended'
                    THEN COALESCE(c.end_reason, 'missed') END AS end_reason,
               CASE WHEN c.created_by = pgcall.current_user_id() THEN 'outgoing' ELSE 'incoming' END AS direction,
               pgcall.effective_participant_status(me.status, me.ring_deadline) AS my_status
          FROM who
          JOIN pgcall.participant me ON me.user_id = who.id
          JOIN pgcall.call c ON c.id = me.call_id
         WHERE NOT me.hidden
    ), filtered AS (
        SELECT m.*, (m.direction = 'incoming' AND m.my_status IN ('missed', 'busy')) AS is_missed
          FROM mine m
         WHERE (call_history.type IS NULL
                OR m.media = CASE lower(call_history.type) WHEN 'voice' THEN 'audio' ELSE lower(call_history.type) END)
           AND (call_history.direction IS NULL OR m.direction = lower(call_history.direction))
    ), page AS (
        SELECT * FROM filtered
         WHERE NOT call_history.missed_only OR is_missed
         ORDER BY created_at DESC, id
         LIMIT GREATEST(LEAST(call_history."limit", 200), 1) + 1
        OFFSET GREATEST(call_history.skip, 0)
    ), numbered AS (
        SELECT p.*, row_number() OVER (ORDER BY created_at DESC, id) AS n FROM page p
    )
    SELECT jsonb_build_object(
        'data', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', h.id,
                       'kind', h.kind,
                       'type', h.media,
                       'status', CASE WHEN h.status <> 'ended' THEN h.status
                                      WHEN h.end_reason = 'completed' THEN 'completed'
                                      ELSE h.end_reason END,
                       'direction', h.direction,
                       'is_missed', h.is_missed,
                       'duration', h.duration_seconds,
                       'caller', (SELECT jsonb_build_object('id', h.created_by,
                                                            'display_name', up.display_name,
                                                            'avatar_url', up.avatar_url)
                                    FROM (SELECT 1) x
                                    LEFT JOIN pgcall.user_profile up ON up.user_id = h.created_by),
                       'participants', (SELECT jsonb_agg(jsonb_build_object(
                                                   'id', o.user_id,
                                                   'display_name', up.display_name,
                                                   'avatar_url', up.avatar_url,
                                                   'status', pgcall.effective_participant_status(o.status, o.ring_deadline))
                                               ORDER BY o.invited_at, o.user_id)
                                          FROM pgcall.participant o
                                          LEFT JOIN pgcall.user_profile up ON up.user_id = o.user_id
                                         WHERE o.call_id = h.id AND o.user_id <> pgcall.current_user_id()),
                       'created_at', h.created_at,
                       'started_at', h.answered_at,
                       'ended_at', h.ended_at)
                   ORDER BY h.created_at DESC, h.id)
              FROM numbered h
             WHERE h.n <= GREATEST(LEAST(call_history."limit", 200), 1)), '[]'::jsonb),
        'has_more', (SELECT count(*) FROM page) > GREATEST(LEAST(call_history."limit", 200), 1))
$$;

COMMENT ON FUNCTION pgcall.call_history(text, text, boolean, integer, integer) IS
'Your call history as the peer-to-peer apps show it, newest first: filter by type (audio/video), direction (outgoing/incoming), missed_only; page with limit (at most 200) and skip.  Returns {data: [{id, kind, type, status, direction, is_missed, duration, caller, participants, created_at, started_at, ended_at}], has_more}.  status is ringing, active, completed, cancelled, rejected, missed, busy, unavailable, failed or terminated.';

GRANT EXECUTE ON FUNCTION pgcall.call_history(text, text, boolean, integer, integer) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.call_missed_count(since timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT count(*)
      FROM (SELECT pgcall.require_user_id() AS id OFFSET 0) who
      JOIN pgcall.participant me ON me.user_id = who.id
      JOIN pgcall.call c ON c.id = me.call_id
     WHERE NOT me.hidden
       AND c.created_by <> me.user_id
       AND pgcall.effective_participant_status(me.status, me.ring_deadline) IN ('missed', 'busy')
       AND (call_missed_count.since IS NULL OR c.created_at > call_missed_count.since)
$$;

COMMENT ON FUNCTION pgcall.call_missed_count(timestamptz) IS
'How many incoming calls you missed (since a time, if given): the missed-calls badge.';

GRANT EXECUTE ON FUNCTION pgcall.call_missed_count(timestamptz) TO pgcall_user, pgcall_backend;
