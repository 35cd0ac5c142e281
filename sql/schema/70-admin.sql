-------------------------------------------------------------------------------
-- Usage, analytics and administration
--
-- What a call used comes from its participant sessions: how many people
-- were in it, the most that were in it at once (exactly, from overlapping
-- intervals; a stretch is [joined_at, left_at), so someone leaving as
-- another joins does not overlap them), and everyone's joined time added
-- up.  Audio minutes are joined time in audio calls, video minutes joined
-- time in video calls.  When a call ends, its trigger stores its usage in
-- the columns participant_count, peak_participants and participant_seconds
-- of pgcall.call, so reports read one row per call.
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.peak_concurrency_step(internal, timestamptz, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'pgcall_peak_concurrency_step'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.peak_concurrency_step(internal, timestamptz, timestamptz) IS
'Transition function of pgcall.peak_concurrency.';

CREATE FUNCTION pgcall.peak_concurrency_final(internal)
RETURNS integer
AS 'MODULE_PATHNAME', 'pgcall_peak_concurrency_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.peak_concurrency_final(internal) IS
'Final function of pgcall.peak_concurrency.';

CREATE AGGREGATE pgcall.peak_concurrency(starts_at timestamptz, ends_at timestamptz) (
    SFUNC = pgcall.peak_concurrency_step,
    STYPE = internal,
    FINALFUNC = pgcall.peak_concurrency_final,
    FINALFUNC_MODIFY = READ_WRITE
);

COMMENT ON AGGREGATE pgcall.peak_concurrency(timestamptz, timestamptz) IS
'The most intervals [starts_at, ends_at) that overlap at one instant; 0 for none.  Half-open: one ending as another starts is no overlap, and empty intervals never count.';

CREATE FUNCTION pgcall.session_usage(
    call_ids uuid[], bounds timestamptz[],
    OUT call_id uuid, OUT n integer,
    OUT participants integer, OUT peak_participants integer, OUT participant_seconds double precision)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
    -- Each session [joined_at, left_at) (open ones until now, or their
    -- start if a clock put that after now) is cut into
    -- the periods it overlaps; width_bucket finds the first and the last
    -- (the one holding its last microsecond).  A session of no length
    -- stays in its own period: its person was there, for no time.
    SELECT c.call_id, c.n,
           count(DISTINCT c.user_id)::integer,
           pgcall.peak_concurrency(c.a, c.z),
           sum(EXTRACT(epoch FROM c.z - c.a))::double precision
      FROM (SELECT s.call_id, s.user_id, k.n,
                   GREATEST(s.joined_at, session_usage.bounds[k.n]) AS a,
                   LEAST(COALESCE(s.left_at, GREATEST(s.joined_at, now())), session_usage.bounds[k.n + 1]) AS z
              FROM pgcall.participant_session s,
                   generate_series(
                       GREATEST(width_bucket(s.joined_at, session_usage.bounds), 1),
                       LEAST(width_bucket(GREATEST(s.joined_at, COALESCE(s.left_at, now()) - interval '1 microsecond'),
                                          session_usage.bounds),
                             cardinality(session_usage.bounds) - 1)) AS k(n)
             WHERE s.call_id = ANY (session_usage.call_ids)) c
     GROUP BY c.call_id, c.n
$$;

COMMENT ON FUNCTION pgcall.session_usage(uuid[], timestamptz[]) IS
'What each call used in each period, from its participant sessions (open ones until now): period n is [bounds[n], bounds[n+1]).  One row per call and period it used: people in it, the most in it at once, their joined time added up in seconds.  Every usage figure pgcall reports comes from here.  Internal.';

CREATE FUNCTION pgcall.call_details_report(call_id uuid)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'pseudonymous', pgcall.pseudonymous(),
        'call', jsonb_build_object(
            'id', c.id,
            'kind', c.kind,
            'type', c.media,
            'title', c.title,
            'description', c.description,
            'channel_id', c.channel_id,
            'room_id', c.room_id,
            'created_by', pgcall.admin_user(c.created_by),
            'is_public', c.is_public,
            'max_participants', c.max_participants,
            'status', pgcall.effective_call_status(c.status, c.ring_deadline),
            'end_reason', CASE WHEN pgcall.effective_call_status(c.status, c.ring_deadline) = 'ended'
                               THEN COALESCE(c.end_reason, 'missed') END,
            'ended_by', pgcall.admin_user(c.ended_by),
            'created_at', c.created_at,
            'answered_at', c.answered_at,
            'ended_at', c.ended_at),
        'participants', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'user_id', pgcall.admin_user(p.user_id),
                       'role', p.role,
                       'status', pgcall.effective_participant_status(p.status, p.ring_deadline),
                       'reason', p.reason,
                       'invited_at', p.invited_at,
                       'joined_at', s.first_joined,
                       'left_at', CASE WHEN s.open = 0 THEN s.last_left END,
                       'duration_seconds', COALESCE(s.seconds, 0),
                       'sessions', COALESCE(s.sessions, 0))
                   ORDER BY p.invited_at, p.user_id)
              FROM pgcall.participant p
              LEFT JOIN LATERAL (
                  SELECT min(ps.joined_at) AS first_joined,
                         max(ps.left_at) AS last_left,
                         count(*) FILTER (WHERE ps.left_at IS NULL) AS open,
                         floor(sum(EXTRACT(epoch FROM COALESCE(ps.left_at, GREATEST(ps.joined_at, now())) - ps.joined_at)))::bigint AS seconds,
                         count(*) AS sessions
                    FROM pgcall.participant_session ps
                   WHERE ps.call_id = p.call_id AND ps.user_id = p.user_id) s ON true
             WHERE p.call_id = c.id), '[]'::jsonb),
        'stats', jsonb_build_object(
            'total_participants', COALESCE(u.participants, 0),
            'invited', (SELECT count(*) FROM pgcall.participant p WHERE p.call_id = c.id),
            'peak_participants', COALESCE(u.peak_participants, 0),
            'total_duration_seconds', COALESCE(c.duration_seconds,
                                               CASE WHEN c.answered_at IS NOT NULL
                                                    THEN floor(EXTRACT(epoch FROM now() - c.answered_at))::integer END,
                                               0),
            'participant_seconds', floor(COALESCE(u.participant_seconds, 0))::bigint,
            'audio_minutes', round((CASE WHEN c.media = 'audio' THEN COALESCE(u.participant_seconds, 0) ELSE 0 END / 60)::numeric, 2),
            'video_minutes', round((CASE WHEN c.media = 'video' THEN COALESCE(u.participant_seconds, 0) ELSE 0 END / 60)::numeric, 2)))
      FROM pgcall.call c
      LEFT JOIN pgcall.session_usage(ARRAY[c.id], '{-infinity,infinity}') u ON true
     WHERE c.id = call_details_report.call_id
$$;

COMMENT ON FUNCTION pgcall.call_details_report(uuid) IS
'The report behind admin_call_details; NULL for an unknown call.  Internal: no access check.';

CREATE FUNCTION pgcall.analytics_report(days integer, group_by text, time_zone text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Periods are numbered 1 to k; period n runs from starts_at to ends_at
    -- (the last one to now).  The ended calls started in each period come
    -- from a range scan of the covering index call_analytics_idx (an
    -- index-only scan), so the pass over every call does no time zone
    -- arithmetic.  A
    -- call "spans" when it is live, or ended in a later period than it
    -- started in, or started before the range: its usage is cut at the
    -- period boundaries from its sessions (session_usage).  Every other
    -- call's usage is the one stored when it ended, all in the period it
    -- started in.
    WITH bounds AS MATERIALIZED (
        SELECT (date_trunc('day', now() AT TIME ZONE analytics_report.time_zone)
                - make_interval(days => analytics_report.days - 1)) AT TIME ZONE analytics_report.time_zone
                   AS range_from
    ), periods AS MATERIALIZED (
        SELECT row_number() OVER (ORDER BY g.local_start)::integer AS n,
               g.local_start::date AS period,
               GREATEST(g.local_start AT TIME ZONE analytics_report.time_zone, b.range_from) AS starts_at,
               LEAST((g.local_start + ('1 ' || analytics_report.group_by)::interval)
                         AT TIME ZONE analytics_report.time_zone, now()) AS ends_at
          FROM bounds b,
               generate_series(date_trunc(analytics_report.group_by, b.range_from AT TIME ZONE analytics_report.time_zone),
                               now() AT TIME ZONE analytics_report.time_zone,
                               ('1 ' || analytics_report.group_by)::interval) AS g(local_start)
    ), by_start AS (
        -- Ended calls, each in the period it started in.
        SELECT p.n,
               count(*) AS calls,
               sum(c.participant_count) AS participants,
               sum(c.duration_seconds) FILTER (WHERE c.answered_at IS NOT NULL) AS duration_sum,
               count(c.duration_seconds) FILTER (WHERE c.answered_at IS NOT NULL) AS answered,
               sum(c.participant_seconds) FILTER (WHERE c.ended_at <= p.ends_at AND c.media = 'audio') AS audio_seconds,
               sum(c.participant_seconds) FILTER (WHERE c.ended_at <= p.ends_at AND c.media = 'video') AS video_seconds,
               max(c.peak_participants) FILTER (WHERE c.ended_at <= p.ends_at) AS peak,
               array_agg(c.id) FILTER (WHERE c.ended_at > p.ends_at) AS spanning
          FROM periods p
          JOIN pgcall.call c ON c.status = 'ended' AND c.created_at >= p.starts_at AND c.created_at < p.ends_at
         GROUP BY p.n
    ), live AS (
        -- Calls still going on (few): counted, and their people, whose
        -- number is stored only once a call ends.
        SELECT p.n, count(*) AS calls, array_agg(c.id) AS ids,
               sum((SELECT count(*) FROM pgcall.participant pa
                     WHERE pa.call_id = c.id AND pa.joined_at IS NOT NULL)) AS participants
          FROM periods p
          JOIN pgcall.call c ON c.status <> 'ended' AND c.created_at >= p.starts_at AND c.created_at < p.ends_at
         GROUP BY p.n
    ), spanning AS (
        SELECT unnest(a.spanning) AS id FROM by_start a
        UNION ALL
        SELECT unnest(l.ids) FROM live l
        UNION ALL
        SELECT c.id FROM pgcall.call c, bounds b
         WHERE c.status = 'ended' AND tstzrange(c.created_at, GREATEST(c.created_at, c.ended_at)) @> b.range_from
           AND c.created_at < b.range_from
        UNION ALL
        SELECT c.id FROM pgcall.call c, bounds b
         WHERE c.status <> 'ended' AND c.created_at < b.range_from
    ), by_session AS (
        SELECT u.n,
               sum(u.participant_seconds) FILTER (WHERE c.media = 'audio') AS audio_seconds,
               sum(u.participant_seconds) FILTER (WHERE c.media = 'video') AS video_seconds,
               max(u.peak_participants) AS peak
          FROM pgcall.session_usage((SELECT array_agg(id) FROM spanning),
                                    (SELECT array_agg(starts_at ORDER BY n) || now() FROM periods)) u
          JOIN pgcall.call c ON c.id = u.call_id
         GROUP BY u.n
    ), rows AS (
        SELECT p.period, p.starts_at, p.ends_at,
               COALESCE(a.calls, 0) + COALESCE(l.calls, 0) AS calls,
               COALESCE(a.participants, 0) + COALESCE(l.participants, 0) AS participants,
               COALESCE(a.duration_sum, 0) AS duration_sum,
               COALESCE(a.answered, 0) AS answered,
               COALESCE(a.audio_seconds, 0) + COALESCE(s.audio_seconds, 0) AS audio_seconds,
               COALESCE(a.video_seconds, 0) + COALESCE(s.video_seconds, 0) AS video_seconds,
               GREATEST(COALESCE(a.peak, 0), COALESCE(s.peak, 0)) AS peak
          FROM periods p
          LEFT JOIN by_start a ON a.n = p.n
          LEFT JOIN live l ON l.n = p.n
          LEFT JOIN by_session s ON s.n = p.n
    )
    SELECT jsonb_build_object(
        'days', analytics_report.days,
        'group_by', analytics_report.group_by,
        'time_zone', analytics_report.time_zone,
        'from', (SELECT range_from FROM bounds),
        'to', now(),
        'stats', (SELECT jsonb_agg(jsonb_build_object(
                             'period', r.period,
                             'starts_at', r.starts_at,
                             'ends_at', r.ends_at,
                             'calls', r.calls,
                             'participants', r.participants,
                             'avg_duration', round(r.duration_sum::numeric / NULLIF(r.answered, 0)),
                             'audio_minutes', round((r.audio_seconds / 60)::numeric, 2),
                             'video_minutes', round((r.video_seconds / 60)::numeric, 2),
                             'peak_participants', r.peak)
                         ORDER BY r.period)
                    FROM rows r),
        'summary', (SELECT jsonb_build_object(
                               'calls', sum(r.calls),
                               'participants', sum(r.participants),
                               'avg_duration', round(sum(r.duration_sum)::numeric / NULLIF(sum(r.answered), 0)),
                               'audio_minutes', round((sum(r.audio_seconds) / 60)::numeric, 2),
                               'video_minutes', round((sum(r.video_seconds) / 60)::numeric, 2),
                               'peak_participants', max(r.peak))
                      FROM rows r))
$$;

COMMENT ON FUNCTION pgcall.analytics_report(integer, text, text) IS
'The report behind admin_analytics.  Internal: no access check and no argument check.';

-- ----------------------------------------------------------------------------
-- Administration
--
-- For members of pgcall_admin only: EXECUTE is granted to nobody else, and
-- each function checks the role again (P403F).  What they return shows
-- users as pgcall.admin_user does.

CREATE FUNCTION pgcall.admin_call_end(call_id uuid)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_admin_call_end'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.admin_call_end(uuid) IS
'End any call for everyone, with end_reason terminated: those in it leave, those rung miss it, all get call.ended.  P404A for an unknown call, P409B if it already ended.  Returns {call_id, status, end_reason, ended_at, duration_seconds}.';

GRANT EXECUTE ON FUNCTION pgcall.admin_call_end(uuid) TO pgcall_admin;

CREATE FUNCTION pgcall.admin_remove_participant(call_id uuid, user_id text DEFAULT NULL,
                                                pseudonym text DEFAULT NULL, reason text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_admin_remove_participant'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.admin_remove_participant(uuid, text, text, text) IS
'Remove a participant, named by user_id or by pseudonym, from a live call for good: they leave it (or stop ringing), get a participant.removed event about themselves telling their client to leave (as does everyone still in the call), and cannot join it again (P403E).  A direct call then ends as terminated.  P404B when there is no such participant, P409B when the call ended.  Returns {user_id, already_removed, call_status}.';

GRANT EXECUTE ON FUNCTION pgcall.admin_remove_participant(uuid, text, text, text) TO pgcall_admin;

CREATE FUNCTION pgcall.admin_call_details(call_id uuid)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_admin_call_details'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.admin_call_details(uuid) IS
'One call for administrators: {pseudonymous, call: {id, kind, type, title, description, channel_id, room_id, created_by, is_public, max_participants, status, end_reason, ended_by, created_at, answered_at, ended_at}, participants: [{user_id, role, status, reason, invited_at, joined_at (first), left_at (last, null while in it), duration_seconds (all stretches), sessions}], stats: {total_participants, invited, peak_participants, total_duration_seconds, participant_seconds, audio_minutes, video_minutes}}.  Open stretches count until now.  P404A for an unknown call.';

GRANT EXECUTE ON FUNCTION pgcall.admin_call_details(uuid) TO pgcall_admin;

CREATE FUNCTION pgcall.admin_analytics(days integer DEFAULT 30, group_by text DEFAULT 'day',
                                       time_zone text DEFAULT 'UTC')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_admin_analytics'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.admin_analytics(integer, text, text) IS
'Calling analytics over the last days days (1 to 3660, today included), with days, weeks and months as time_zone (default UTC) has them, grouped by day, week or month: {days, group_by, time_zone, from, to, stats: [{period, starts_at, ends_at, calls, participants, avg_duration, audio_minutes, video_minutes, peak_participants}], summary: {calls, participants, avg_duration, audio_minutes, video_minutes, peak_participants}}.  calls and participants count the calls started in a period (all kinds and outcomes) and the people who were in them; avg_duration averages the answered, ended ones (seconds, null if none); audio and video minutes are joined time in audio and video calls, counted in the period it was spent in; peak_participants is the most people in one call at once during the period.  Counts against pgcall.rate_limit_analytics; P400T for bad arguments.';

GRANT EXECUTE ON FUNCTION pgcall.admin_analytics(integer, text, text) TO pgcall_admin;

-- ----------------------------------------------------------------------------
-- The admin dashboard's call lists (web/admin.html)
--
-- Administrators find calls here, then read one with admin_call_details and
-- act on it with admin_call_end and admin_remove_participant.

CREATE FUNCTION pgcall.admin_calls_report(status text, lim integer)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Live calls come from call_live_idx (newest first), ended ones from
    -- call_ended_at_idx (most recently ended first).  A call still marked
    -- ringing past its deadline has ended, as every read shows it.
    WITH picked AS (
        SELECT c.* FROM (
            SELECT c.* FROM pgcall.call c
             WHERE admin_calls_report.status = 'live' AND c.status <> 'ended'
               AND pgcall.effective_call_status(c.status, c.ring_deadline) <> 'ended'
             ORDER BY c.created_at DESC
             LIMIT admin_calls_report.lim) c
        UNION ALL
        SELECT c.* FROM (
            SELECT c.* FROM pgcall.call c
             WHERE admin_calls_report.status = 'ended' AND c.status = 'ended'
             ORDER BY c.ended_at DESC
             LIMIT admin_calls_report.lim) c
    )
    SELECT jsonb_build_object(
        'pseudonymous', pgcall.pseudonymous(),
        'status', admin_calls_report.status,
        'calls', COALESCE(jsonb_agg(jsonb_build_object(
                     'id', c.id,
                     'kind', c.kind,
                     'type', c.media,
                     'title', c.title,
                     'room_id', c.room_id,
                     'created_by', pgcall.admin_user(c.created_by),
                     'status', pgcall.effective_call_status(c.status, c.ring_deadline),
                     'end_reason', c.end_reason,
                     'created_at', c.created_at,
                     'answered_at', c.answered_at,
                     'ended_at', c.ended_at,
                     'participants', (
                         SELECT COALESCE(jsonb_agg(jsonb_build_object(
                                    'user_id', pgcall.admin_user(p.user_id),
                                    'role', p.role,
                                    'status', pgcall.effective_participant_status(p.status, p.ring_deadline))
                                    ORDER BY p.invited_at, p.user_id), '[]'::jsonb)
                           FROM pgcall.participant p
                          WHERE p.call_id = c.id))
                     ORDER BY COALESCE(c.ended_at, c.created_at) DESC, c.id), '[]'::jsonb))
      FROM picked c
$$;

COMMENT ON FUNCTION pgcall.admin_calls_report(text, integer) IS
'The report behind admin_calls.  Internal: no access check and no argument check.';

CREATE FUNCTION pgcall.admin_calls(status text DEFAULT 'live', "limit" integer DEFAULT 50)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'pgcall_admin_calls'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.admin_calls(text, integer) IS
'Calls for administrators to pick from: status ''live'' (ringing or active, newest first) or ''ended'' (most recently ended first), at most limit (1 to 500, default 50): {pseudonymous, status, calls: [{id, kind, type, title, room_id, created_by, status, end_reason, created_at, answered_at, ended_at, participants: [{user_id, role, status}]}]}.  Users show as pseudonyms while pgcall.pseudonymize is on.  P400M for another status, P400P for a limit out of range.';

GRANT EXECUTE ON FUNCTION pgcall.admin_calls(text, integer) TO pgcall_admin;
