-- Analytics against a hand-computed fixture: overlapping participants, re-joins, calls across
-- midnight and across a week boundary, audio and video, by day, week and month, in two time zones.
BEGIN;
SELECT plan(42);
SET LOCAL TimeZone = 'UTC';

-- The fixture lies in the two weeks before this one: d0 is the Monday two
-- weeks ago, 00:00 UTC; days makes the range start exactly at d0.
CREATE TEMP TABLE fx AS
    SELECT w, w - interval '14 days' AS d0,
           (now()::date - (w - interval '14 days')::date) + 1 AS days
      FROM (SELECT date_trunc('week', now()) AS w) x;
CREATE FUNCTION pg_temp.at(o interval) RETURNS timestamptz LANGUAGE sql AS $$ SELECT d0 + o FROM fx $$;
CREATE FUNCTION pg_temp.cid(n int) RETURNS uuid LANGUAGE sql
    AS $$ SELECT ('00000000-0000-0000-0000-' || lpad(n::text, 12, '0'))::uuid $$;
CREATE FUNCTION pg_temp.day(j jsonb, n int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT s - 'period' - 'starts_at' - 'ends_at' FROM jsonb_array_elements(j->'stats') s, fx
     WHERE (s->>'period')::date = (fx.d0 + n * interval '1 day')::date
$$;
CREATE FUNCTION pg_temp.row(calls int, participants int, avg_duration int, audio numeric, video numeric, peak int)
RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('calls', calls, 'participants', participants, 'avg_duration', avg_duration,
                              'audio_minutes', audio, 'video_minutes', video, 'peak_participants', peak)
$$;

-- Rows written as they were then, without the triggers (which stamp now()).
SET LOCAL session_replication_role = replica;
INSERT INTO pgcall.call (id, kind, media, channel_id, created_by, max_participants, status, end_reason,
                         created_at, ring_deadline, answered_at, ended_at, duration_seconds)
SELECT pg_temp.cid(n), kind, media, 'fx-' || n, creator, 10, 'ended', reason,
       pg_temp.at(cr), pg_temp.at(cr) + interval '90 s', pg_temp.at(an), pg_temp.at(en), dur
  FROM (VALUES
    -- A: Monday d0, 10:00-11:00, video.
    (1, 'group', 'video', 'u1', 'completed', interval '10:00', interval '10:00', interval '11:00', 3600),
    -- B: Tuesday, 09:00-09:21, audio, answered at 09:01.
    (2, 'direct', 'audio', 'c1', 'completed', '1 day 09:00', '1 day 09:01', '1 day 09:21', 1200),
    -- C: Wednesday 23:30 to Thursday 00:30, audio, answered at 23:31.
    (3, 'group', 'audio', 'h', 'completed', '2 days 23:30', '2 days 23:31', '3 days 00:30', 3540),
    -- D: Sunday 23:30 to Monday 00:30, across the week boundary, video.
    (4, 'group', 'video', 'a', 'completed', '6 days 23:30', '6 days 23:30', '7 days 00:30', 3600),
    -- E: next Tuesday, a missed audio call: the caller waited 90 seconds.
    (5, 'direct', 'audio', 'e1', 'missed', '8 days 12:00', NULL, '8 days 12:01:30', 0),
    -- F: next Thursday, 15:00-15:45, a video conference.
    (6, 'conference', 'video', 'p1', 'completed', '10 days 15:00', '10 days 15:00', '10 days 15:45', 2700)
  ) v(n, kind, media, creator, reason, cr, an, en, dur);

CREATE TEMP TABLE fx_session (n int, u text, a interval, z interval);
INSERT INTO fx_session VALUES
    (1, 'u1', '10:00', '11:00'),
    (1, 'u2', '10:10', '10:40'), (1, 'u2', '10:50', '11:00'),              -- a re-join
    (1, 'u3', '10:30', '10:55'),                                           -- three at once, twice
    (2, 'c1', '1 day 09:00', '1 day 09:21'), (2, 'c2', '1 day 09:01', '1 day 09:21'),
    (3, 'h',  '2 days 23:30', '3 days 00:30'),
    (3, 'm1', '2 days 23:31', '3 days 00:20'),
    (3, 'm3', '2 days 23:40', '3 days 00:00'),                             -- leaves at midnight
    (3, 'm2', '3 days 00:00', '3 days 00:30'),                             -- joins at midnight
    (3, 'm4', '3 days 00:05', '3 days 00:10'),                             -- four at once, on Thursday
    (4, 'a',  '6 days 23:30', '7 days 00:30'), (4, 'b', '6 days 23:45', '7 days 00:15'),
    (5, 'e1', '8 days 12:00', '8 days 12:01:30'),
    (6, 'p1', '10 days 15:00', '10 days 15:45'),
    (6, 'p2', '10 days 15:05', '10 days 15:20'),
    (6, 'p3', '10 days 15:10', '10 days 15:30'),
    (6, 'p4', '10 days 15:20', '10 days 15:40');                           -- as p2 leaves: still three
INSERT INTO pgcall.participant (call_id, user_id, role, status, invited_at, joined_at, left_at, joined_time)
SELECT pg_temp.cid(n), u, 'member', 'left', pg_temp.at(min(a)), pg_temp.at(min(a)), pg_temp.at(max(z)), sum(z - a)
  FROM fx_session GROUP BY n, u;
INSERT INTO pgcall.participant (call_id, user_id, role, status, invited_at, reason)
VALUES (pg_temp.cid(1), 'u4', 'member', 'missed', pg_temp.at('10:00'), 'timeout'),
       (pg_temp.cid(5), 'e2', 'callee', 'missed', pg_temp.at('8 days 12:00'), 'timeout');
INSERT INTO pgcall.participant_session (call_id, user_id, joined_at, left_at)
SELECT pg_temp.cid(n), u, pg_temp.at(a), pg_temp.at(z) FROM fx_session;
-- What the call_before trigger stores when a call ends.
UPDATE pgcall.call c
   SET (participant_count, peak_participants, participant_seconds) =
       (SELECT u.participants, u.peak_participants, u.participant_seconds
          FROM pgcall.session_usage(ARRAY[c.id], '{-infinity,infinity}') u)
 WHERE c.channel_id LIKE 'fx-%';
SET LOCAL session_replication_role = origin;
GRANT SELECT ON fx TO PUBLIC;

-- The peak aggregate on its own: half-open intervals.
CREATE FUNCTION pg_temp.peak(iv int[]) RETURNS integer LANGUAGE sql AS $$
    SELECT pgcall.peak_concurrency(timestamptz '2024-01-01' + iv[i][1] * interval '1 min',
                                   timestamptz '2024-01-01' + iv[i][2] * interval '1 min')
      FROM generate_subscripts(iv, 1) i
$$;
SELECT is(pgcall.peak_concurrency(a, b), 0, 'no intervals: a peak of 0')
  FROM (SELECT now() AS a, now() AS b WHERE false) x;
SELECT is(pg_temp.peak('{{0,10},{10,20},{20,30}}'), 1, 'one after another: never two at once');
SELECT is(pg_temp.peak('{{0,10},{9,20},{19,30}}'), 2, 'overlapping by a minute: two');
SELECT is(pg_temp.peak('{{0,60},{10,20},{15,25},{20,30},{24,40}}'), 4, 'nested and chained: four at 24');
SELECT is(pg_temp.peak('{{5,5},{5,5},{0,10}}'), 1, 'empty intervals never count');
SELECT is(pgcall.peak_concurrency(a, b), 1, 'an interval with a missing bound is ignored')
  FROM (VALUES (now(), now() + interval '1 s'), (NULL, now()), (now(), NULL)) v(a, b);

-- Usage of each call, exactly from its intervals.
SELECT results_eq($$SELECT participant_count, peak_participants, participant_seconds::int FROM pgcall.call
                     WHERE channel_id LIKE 'fx-%' ORDER BY channel_id$$,
                  $$VALUES (3, 3, 7500), (2, 2, 2460), (5, 4, 9840), (2, 2, 5400), (1, 1, 90), (4, 3, 6000)$$,
                  'per call: people, most at once (half-open stretches), joined seconds');

SET LOCAL ROLE pgcall_admin;

-- Refusals.
SELECT throws_ok($$SELECT pgcall.admin_analytics(0)$$, 'P400T', 'days must be between 1 and 3660', 'days too few');
SELECT throws_ok($$SELECT pgcall.admin_analytics(3661)$$, 'P400T', 'days must be between 1 and 3660', 'days too many');
SELECT throws_ok($$SELECT pgcall.admin_analytics(7, 'year')$$, 'P400T', 'group_by "year" is not day, week or month',
                 'an unknown grouping');
SELECT throws_ok($$SELECT pgcall.admin_analytics(7, 'day', 'Mars/Olympus_Mons')$$, 'P400T',
                 'time zone "Mars/Olympus_Mons" is not recognized', 'an unknown time zone');

-- By day, in UTC.
CREATE TEMP TABLE daily AS SELECT pgcall.admin_analytics((SELECT days FROM fx), 'DAY') AS j;
SELECT is((SELECT j->>'group_by' FROM daily), 'day', 'grouped by day');
SELECT is((SELECT (j->>'from')::timestamptz FROM daily), (SELECT d0 FROM fx), 'from the start of the first day');
SELECT is((SELECT (j->>'to')::timestamptz FROM daily), now(), 'to now');
SELECT is((SELECT jsonb_array_length(j->'stats') FROM daily), (SELECT days FROM fx), 'one row per day, today included');
SELECT is(pg_temp.day(j, 0), pg_temp.row(1, 3, 3600, 0, 125, 3), 'Monday: A; u2''s two stretches count once as a person')
  FROM daily;
SELECT is(pg_temp.day(j, 1), pg_temp.row(1, 2, 1200, 41, 0, 2), 'Tuesday: B, 21 + 20 audio minutes') FROM daily;
SELECT is(pg_temp.day(j, 2), pg_temp.row(1, 5, 3540, 79, 0, 3),
          'Wednesday: C counts where it started; its minutes before midnight; three at once') FROM daily;
SELECT is(pg_temp.day(j, 3), pg_temp.row(0, 0, NULL, 85, 0, 4),
          'Thursday: C''s minutes after midnight and its four at once, no call started') FROM daily;
SELECT is(pg_temp.day(j, 4), pg_temp.row(0, 0, NULL, 0, 0, 0), 'a day without calls') FROM daily;
SELECT is(pg_temp.day(j, 6), pg_temp.row(1, 2, 3600, 0, 45, 2), 'Sunday: D until midnight') FROM daily;
SELECT is(pg_temp.day(j, 7), pg_temp.row(0, 0, NULL, 0, 45, 2), 'the next Monday: the rest of D') FROM daily;
SELECT is(pg_temp.day(j, 8), pg_temp.row(1, 1, NULL, 1.5, 0, 1),
          'Tuesday: a missed call has no duration, but its caller waited a minute and a half') FROM daily;
SELECT is(pg_temp.day(j, 10), pg_temp.row(1, 4, 2700, 0, 100, 3),
          'Thursday: F, where one leaving as another joins is not four at once') FROM daily;
SELECT is((SELECT j->'summary' FROM daily), pg_temp.row(6, 17, 2928, 206.5, 315, 4),
          'summary: six calls, 17 people, average of the five answered, peak of all');

-- By week.
CREATE TEMP TABLE weekly AS SELECT pgcall.admin_analytics((SELECT days FROM fx), 'week') AS j;
SELECT is((SELECT jsonb_agg(s->'period' ORDER BY s->>'period') FROM weekly, jsonb_array_elements(j->'stats') s),
          (SELECT jsonb_build_array(d0::date, (d0 + interval '7 days')::date, w::date) FROM fx),
          'three weeks, each named by its Monday');
SELECT is(pg_temp.day(j, 0), pg_temp.row(4, 12, 2985, 205, 170, 4),
          'the first week: A, B, C and D, with D''s minutes up to Sunday midnight') FROM weekly;
SELECT is(pg_temp.day(j, 7), pg_temp.row(2, 5, 2700, 1.5, 145, 3),
          'the second week: E and F, and the rest of D, which started the week before') FROM weekly;
SELECT is(pg_temp.day(j, 14), pg_temp.row(0, 0, NULL, 0, 0, 0), 'this week: nothing yet') FROM weekly;
SELECT is((SELECT j->'summary' FROM weekly), (SELECT j->'summary' FROM daily), 'the same summary as by day');

-- By month: however the months fall, they add up to the same.
CREATE TEMP TABLE monthly AS SELECT pgcall.admin_analytics((SELECT days FROM fx), 'month') AS j;
SELECT is((SELECT j->'summary' FROM monthly), (SELECT j->'summary' FROM daily), 'the same summary by month');
SELECT is((SELECT sum((s->>'calls')::int)::int FROM monthly, jsonb_array_elements(j->'stats') s), 6,
          'the months'' calls add up');
SELECT ok((SELECT bool_and(extract(day FROM (s->>'period')::date) = 1) FROM monthly, jsonb_array_elements(j->'stats') s),
          'each month is named by its first day');

-- A range that starts in the middle of a call: D counts only from there, and not as a call.
CREATE TEMP TABLE later AS SELECT pgcall.admin_analytics((SELECT days - 7 FROM fx), 'week') AS j;
SELECT is((SELECT (j->>'from')::timestamptz FROM later), (SELECT d0 + interval '7 days' FROM fx),
          'the range starts at the second Monday');
SELECT is(pg_temp.day(j, 7), pg_temp.row(2, 5, 2700, 1.5, 145, 3), 'that week is unchanged') FROM later;
SELECT is((SELECT j->'summary' FROM later), pg_temp.row(2, 5, 2700, 1.5, 145, 3),
          'nothing from before the range but D''s 45 minutes after it');

-- In Asia/Kolkata (UTC+05:30) C lies within Thursday and D within Monday.
CREATE TEMP TABLE kolkata AS SELECT pgcall.admin_analytics((SELECT days + 1 FROM fx), 'day', 'Asia/Kolkata') AS j;
SELECT is(pg_temp.day(j, 2), pg_temp.row(0, 0, NULL, 0, 0, 0), 'Wednesday in Kolkata: nothing') FROM kolkata;
SELECT is(pg_temp.day(j, 3), pg_temp.row(1, 5, 3540, 164, 0, 4), 'Thursday in Kolkata: all of C') FROM kolkata;
SELECT is(pg_temp.day(j, 7), pg_temp.row(1, 2, 3600, 0, 90, 2), 'Monday in Kolkata: all of D') FROM kolkata;
SELECT is((SELECT (s->>'starts_at')::timestamptz FROM kolkata, jsonb_array_elements(j->'stats') s, fx
            WHERE (s->>'period')::date = (fx.d0 + interval '3 days')::date),
          (SELECT d0 + interval '2 days 18:30' FROM fx), 'a Kolkata day starts at 18:30 UTC');
CREATE TEMP TABLE kolkata_weeks AS SELECT pgcall.admin_analytics((SELECT days + 1 FROM fx), 'week', 'Asia/Kolkata') AS j;
SELECT is(pg_temp.day(j, 7), pg_temp.row(3, 7, 3150, 1.5, 190, 3), 'the second Kolkata week has D, E and F')
  FROM kolkata_weeks;

-- A call still going on counts until now.
RESET ROLE;
SELECT set_config('pgcall.user_id', 'live-host', true);
SELECT pgcall.conference_create('Live', type => 'audio') IS NOT NULL AS created;
UPDATE pgcall.participant_session SET joined_at = now() - interval '10 min' WHERE user_id = 'live-host';
UPDATE pgcall.call SET created_at = now() - interval '10 min' WHERE created_by = 'live-host';
SELECT set_config('pgcall.user_id', '', true);
SET LOCAL ROLE pgcall_admin;
SELECT is((SELECT pgcall.admin_analytics((SELECT days FROM fx))->'summary'),
          pg_temp.row(7, 18, 2928, 216.5, 315, 4),
          'a live call adds a call, a person and its ten audio minutes so far');

SELECT * FROM finish();
ROLLBACK;
