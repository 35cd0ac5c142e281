-- The daily report (UTC) over the last :days days against a brute-force
-- computation from every session, written independently of
-- analytics_report: each session is cut into the UTC days it overlaps, and
-- each call counts on the day it started.  Prints the days where any figure
-- differs (none expected).
\set ON_ERROR_STOP on
SET work_mem = '256MB';
WITH report AS (
    SELECT (s->>'period')::date AS day, s
      FROM jsonb_array_elements(pgcall.admin_analytics(:days, 'day')->'stats') s
), cut AS (
    SELECT d::date AS day, c.media, s.call_id,
           GREATEST(s.joined_at, d) AS a,
           LEAST(COALESCE(s.left_at, now()), d + interval '1 day') AS z
      FROM pgcall.participant_session s
      JOIN pgcall.call c ON c.id = s.call_id,
           generate_series(date_trunc('day', s.joined_at, 'UTC'),
                           date_trunc('day', GREATEST(s.joined_at, COALESCE(s.left_at, now()) - interval '1 microsecond'), 'UTC'),
                           interval '1 day') AS d
), minutes AS (
    SELECT day,
           round((COALESCE(sum(EXTRACT(epoch FROM z - a)) FILTER (WHERE media = 'audio'), 0) / 60)::numeric, 2) AS audio,
           round((COALESCE(sum(EXTRACT(epoch FROM z - a)) FILTER (WHERE media = 'video'), 0) / 60)::numeric, 2) AS video
      FROM cut GROUP BY day
), peaks AS (
    SELECT day, max(peak) AS peak
      FROM (SELECT day, call_id, pgcall.peak_concurrency(a, z) AS peak FROM cut GROUP BY day, call_id) x
     GROUP BY day
), starts AS (
    SELECT date_trunc('day', c.created_at, 'UTC')::date AS day, count(*) AS calls,
           round(avg(c.duration_seconds) FILTER (WHERE c.status = 'ended' AND c.answered_at IS NOT NULL)) AS avg_duration,
           sum((SELECT count(*) FROM pgcall.participant p WHERE p.call_id = c.id AND p.joined_at IS NOT NULL)) AS participants
      FROM pgcall.call c GROUP BY 1
)
SELECT r.day, r.s, st.calls, st.participants, st.avg_duration, m.audio, m.video, pk.peak
  FROM report r
  LEFT JOIN starts st ON st.day = r.day
  LEFT JOIN minutes m ON m.day = r.day
  LEFT JOIN peaks pk ON pk.day = r.day
 WHERE ((r.s->>'calls')::bigint IS DISTINCT FROM COALESCE(st.calls, 0)
        OR (r.s->>'participants')::bigint IS DISTINCT FROM COALESCE(st.participants, 0)
        OR (r.s->>'avg_duration')::numeric IS DISTINCT FROM st.avg_duration
        OR (r.s->>'audio_minutes')::numeric IS DISTINCT FROM COALESCE(m.audio, 0)
        OR (r.s->>'video_minutes')::numeric IS DISTINCT FROM COALESCE(m.video, 0)
        OR (r.s->>'peak_participants')::int IS DISTINCT FROM COALESCE(pk.peak, 0));
