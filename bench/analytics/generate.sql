-- Synthetic call history for the analytics benchmark: :calls calls over
-- the last :days days with about five participants each.  Bounded: every
-- statement is one set-based pass (no loops), the whole load takes a few
-- minutes on two cores for a million calls.
--
-- Rows are written as pgcall's functions would leave them, but directly
-- and with triggers off (session_replication_role = replica), since the
-- triggers stamp now().  Each call's stored usage is then computed by the
-- same aggregate the call_before trigger uses.
--
--   psql -v calls=1000000 -v days=90 -f generate.sql
\set ON_ERROR_STOP on
\timing on
SET session_replication_role = replica;
SET work_mem = '512MB';
SELECT setseed(0.5);

-- Calls: 40% direct (2 people), 45% group (3 to 9), 15% conferences (5 to 15):
-- five participants on average.  60% audio.  10% missed (the caller waited
-- 30 to 90 seconds), the rest answered, lasting 10 minutes on average
-- (exponential, at most 4 hours).  200 calls, started in the last hour,
-- are still going on.
CREATE UNLOGGED TABLE bench_call AS
SELECT i,
       gen_random_uuid() AS id,
       k.kind,
       CASE WHEN random() < 0.6 THEN 'audio' ELSE 'video' END AS media,
       CASE k.kind WHEN 'direct' THEN 2
                   WHEN 'group' THEN 3 + floor(random() * 7)::int
                   ELSE 5 + floor(random() * 11)::int END AS people,
       i > :calls - 200 AS live,
       random() < 0.1 AND i <= :calls - 200 AS missed,
       -- Ended calls ended before now: they started at least 15000 s ago.
       CASE WHEN i > :calls - 200 THEN now() - random() * interval '1 hour'
            ELSE now() - make_interval(secs => 15000 + random() * (:days * 86400 - 15000)) END AS created_at,
       LEAST(10 + floor(-ln(1 - random()) * 590), 14400)::int AS seconds,
       30 + floor(random() * 60)::int AS ring_seconds
  FROM generate_series(1, :calls) i,
       LATERAL (SELECT CASE WHEN r < 0.40 THEN 'direct' WHEN r < 0.85 THEN 'group' ELSE 'conference' END AS kind
                  FROM (SELECT random() + i * 0 AS r) x) k;

-- Participants: the creator (in from the start), then invitees.  In an
-- answered call 90% of invitees join, at a random time in the first
-- fifth, and leave in the last fifth (or stay, if the call is live);
-- one in ten of them left for a while and came back.
CREATE UNLOGGED TABLE bench_part AS
SELECT b.id AS call_id, b.i, j,
       'user-' || ((b.i * 7 + j * 104729) % 200000) AS user_id,
       b.created_at, b.live,
       CASE WHEN j = 0 THEN 0 WHEN b.missed OR random() < 0.1 THEN NULL
            WHEN b.live THEN floor(random() * extract(epoch FROM now() - b.created_at))
            ELSE LEAST(b.ring_seconds, 20) + floor(random() * b.seconds * 0.2) END AS join_s,
       CASE WHEN b.live THEN NULL
            WHEN b.missed THEN b.ring_seconds
            ELSE LEAST(b.ring_seconds, 20) + b.seconds - floor(random() * b.seconds * 0.2) END AS leave_s,
       random() < 0.1 AS rejoins
  FROM bench_call b, generate_series(0, b.people - 1) j;
UPDATE bench_part SET leave_s = NULL WHERE join_s IS NULL;
UPDATE bench_part SET rejoins = false WHERE live OR join_s IS NULL OR leave_s - join_s < 3;

INSERT INTO pgcall.participant (call_id, user_id, role, status, reason, invited_at, joined_at, left_at,
                                current_join, joined_time)
SELECT call_id, user_id,
       CASE WHEN j = 0 THEN 'host' ELSE 'member' END,
       CASE WHEN join_s IS NULL THEN 'missed' WHEN live THEN 'joined' ELSE 'left' END,
       CASE WHEN join_s IS NULL THEN 'timeout' END,
       created_at,
       created_at + make_interval(secs => join_s),
       CASE WHEN NOT live AND join_s IS NOT NULL THEN created_at + make_interval(secs => GREATEST(leave_s, join_s)) END,
       CASE WHEN live AND join_s IS NOT NULL THEN created_at + make_interval(secs => join_s) END,
       CASE WHEN rejoins THEN make_interval(secs => (leave_s - join_s) / 3 + leave_s - join_s - 2 * (leave_s - join_s) / 3)
            WHEN join_s IS NOT NULL AND NOT live THEN make_interval(secs => GREATEST(leave_s - join_s, 0))
            ELSE '0' END
  FROM bench_part
 ORDER BY call_id, user_id;   -- in primary key order: the index grows at one end

-- Sessions: one stretch each, or two with a gap in the middle third for those who re-joined.
CREATE UNLOGGED TABLE bench_session AS
SELECT call_id, user_id, created_at + make_interval(secs => a) AS joined_at,
       created_at + make_interval(secs => z) AS left_at
  FROM (SELECT call_id, user_id, created_at, join_s AS a,
               CASE WHEN rejoins THEN join_s + (leave_s - join_s) / 3 ELSE GREATEST(leave_s, join_s) END AS z
          FROM bench_part WHERE join_s IS NOT NULL
        UNION ALL
        SELECT call_id, user_id, created_at, join_s + 2 * (leave_s - join_s) / 3, leave_s
          FROM bench_part WHERE rejoins) s;

-- What each ended call used, as the call_before trigger stores it when the
-- call ends (same aggregate), computed before the calls are written so that
-- no call row is written twice.
CREATE UNLOGGED TABLE bench_usage AS
SELECT call_id,
       count(DISTINCT user_id)::int AS participants,
       pgcall.peak_concurrency(joined_at, left_at) AS peak,
       sum(EXTRACT(epoch FROM left_at - joined_at))::double precision AS seconds
  FROM bench_session GROUP BY call_id;

INSERT INTO pgcall.call (id, kind, media, channel_id, created_by, title, is_public, max_participants, status,
                         end_reason, created_at, ring_deadline, answered_at, ended_at, duration_seconds,
                         participant_count, peak_participants, participant_seconds)
SELECT id, kind, media, 'call-' || id, 'user-' || ((i * 7) % 200000), CASE WHEN kind = 'conference' THEN 'Bench ' || i END,
       kind = 'conference', 50,
       CASE WHEN live THEN 'active' ELSE 'ended' END,
       CASE WHEN live THEN NULL WHEN missed THEN 'missed' ELSE 'completed' END,
       created_at, created_at + interval '90 s',
       CASE WHEN missed THEN NULL ELSE created_at + make_interval(secs => LEAST(ring_seconds, 20)) END,
       CASE WHEN live THEN NULL
            WHEN missed THEN created_at + make_interval(secs => ring_seconds)
            ELSE created_at + make_interval(secs => LEAST(b.ring_seconds, 20) + b.seconds) END,
       CASE WHEN live THEN NULL WHEN missed THEN 0 ELSE b.seconds END,
       CASE WHEN NOT live THEN COALESCE(u.participants, 0) END,
       CASE WHEN NOT live THEN COALESCE(u.peak, 0) END,
       CASE WHEN NOT live THEN COALESCE(u.seconds, 0) END
  FROM bench_call b LEFT JOIN bench_usage u ON u.call_id = b.id
 ORDER BY b.id;

INSERT INTO pgcall.participant_session (call_id, user_id, joined_at, left_at)
SELECT call_id, user_id, joined_at, left_at FROM bench_session ORDER BY call_id, user_id, joined_at;

DROP TABLE bench_call, bench_part, bench_session, bench_usage;
RESET session_replication_role;
VACUUM (ANALYZE) pgcall.call, pgcall.participant, pgcall.participant_session;
SELECT (SELECT count(*) FROM pgcall.call) AS calls,
       (SELECT count(*) FROM pgcall.participant) AS participants,
       (SELECT count(*) FROM pgcall.participant_session) AS sessions;
