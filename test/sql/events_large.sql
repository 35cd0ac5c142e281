-- Events of a large call (issue 10): the GIN index on recipients holds only
-- events addressed to at most 64 people; events_since finds the others
-- through the user's calls.  Each resume must return exactly the events
-- addressed to the user, in id order, whichever way they are stored.
SET pgcall.rate_limit_joins = 0;
SET pgcall.rate_limit_calls = 0;
-- Only this file's events count: those after what earlier files left, and
-- after what they purged.
SELECT GREATEST((SELECT coalesce(max(id), 0) FROM pgcall.event),
                (SELECT through_id FROM pgcall.event_purged)) AS start \gset
SET pgcall.user_id = 'host';
SELECT pgcall.conference_create('Big room', NULL, true, 500)->'call'->>'id' AS call_id \gset
-- 80 people join, one transaction each (the later joins are told to more
-- than 64); the statements name the call's random id, so they are not echoed.
\set ECHO none
SELECT format('SET pgcall.user_id = %L; SELECT pgcall.call_join(%L) IS NOT NULL AS joined;',
              'p' || lpad(i::text, 3, '0'), :'call_id')
  FROM generate_series(1, 80) i \gexec
\set ECHO all
-- A small call of p001's too, after, and one p080 leaves (p080 hears no more after).
SET pgcall.user_id = 'p001';
SELECT pgcall.call_start(ARRAY['friend'])->'call'->>'id' IS NOT NULL AS small_call;
SET pgcall.user_id = 'p080';
SELECT pgcall.call_leave(:'call_id')->'participant'->>'status' AS p080;
SET pgcall.user_id = 'p002';
SELECT pgcall.call_set_media(:'call_id', mic_muted => true)->'participant'->>'mic_muted' AS p002_muted;
RESET pgcall.user_id;

-- Which events are in the index, and which are not.
SELECT count(*) FILTER (WHERE cardinality(recipients) <= 64) AS indexed,
       count(*) FILTER (WHERE cardinality(recipients) > 64) AS through_calls
  FROM pgcall.event WHERE id > :start;

-- For every user: events_since(start) is exactly the events addressed to them, in order.
CREATE FUNCTION pg_temp.resumed(u text, after bigint, max integer) RETURNS bigint[]
    LANGUAGE plpgsql AS $$
DECLARE r bigint[];
BEGIN
    PERFORM set_config('pgcall.user_id', u, true);
    SELECT array_agg(id ORDER BY n) INTO r
      FROM (SELECT id, row_number() OVER () AS n FROM pgcall.events_since(after, max)) s;
    PERFORM set_config('pgcall.user_id', '', true);
    RETURN coalesce(r, '{}');
END $$;
CREATE FUNCTION pg_temp.addressed(u text, after bigint, max integer) RETURNS bigint[]
    LANGUAGE sql AS $$
    SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM (
        SELECT id FROM pgcall.event WHERE u = ANY (recipients) AND id > after ORDER BY id LIMIT max) s $$;
SELECT count(*) AS users,
       count(*) FILTER (WHERE pg_temp.resumed(u, :start, 10000) = pg_temp.addressed(u, :start, 10000)) AS all_resumed
  FROM (SELECT DISTINCT unnest(recipients) AS u FROM pgcall.event WHERE id > :start) s;
-- Pages: from the middle, with a small max, mixing both kinds of event.
SELECT count(*) AS pages,
       count(*) FILTER (WHERE pg_temp.resumed(u, a, m) = pg_temp.addressed(u, a, m)) AS right_pages
  FROM (VALUES ('p001'), ('p002'), ('p040'), ('p080'), ('host'), ('friend')) us(u),
       (SELECT a FROM (SELECT id AS a FROM pgcall.event WHERE id > :start ORDER BY id OFFSET 60 LIMIT 1) x
        UNION ALL SELECT :start) af,
       (VALUES (1), (3), (7), (1000)) ms(m);
-- p080 left: the mute after is not addressed to them, and not resumed.
SELECT (SELECT max(id) FROM pgcall.event WHERE type = 'participant.media') = ANY (pg_temp.resumed('p080', :start, 10000)) AS p080_hears_mute,
       (SELECT max(id) FROM pgcall.event WHERE type = 'participant.media') = ANY (pg_temp.resumed('p079', :start, 10000)) AS p079_hears_mute;
-- Someone outside the call gets none of its events.
SELECT cardinality(pg_temp.resumed('stranger', :start, 10000)) AS stranger_events;

-- A large call's recipients go out of line uncompressed (storage external):
-- the join of the 300th person is told to 301 (3 kB of names), and no
-- commit spends its time compressing them.
SET pgcall.user_id = 'host2';
SELECT pgcall.conference_create('Bigger room', NULL, true, 500)->'call'->>'id' AS big_id \gset
\set ECHO none
\o /dev/null
SELECT format('SET pgcall.user_id = %L; SELECT pgcall.call_join(%L) IS NOT NULL AS joined;',
              'q' || lpad(i::text, 3, '0'), :'big_id')
  FROM generate_series(1, 300) i \gexec
\o
\set ECHO all
RESET pgcall.user_id;
SELECT cardinality(recipients) AS told, pg_column_compression(recipients) AS compression
  FROM pgcall.event WHERE call_id = :'big_id' ORDER BY id DESC LIMIT 1;
-- q150 leaves: told to the 300 still in it and to q150, whose name joins
-- the audience read in index order at its place.  Every event's recipients
-- are sorted (byte order) and distinct.
SET pgcall.user_id = 'q150';
SELECT pgcall.call_leave(:'big_id')->'participant'->>'status' AS q150;
SET pgcall.user_id = 'Zoe';
SELECT pgcall.call_start(ARRAY['q150', 'Amy', 'host2', 'bob', 'q010', 'Q999'])->'call'->>'status' AS zoe_calls;
RESET pgcall.user_id;
SELECT cardinality(recipients) AS told, 'q150' = ANY (recipients) AS q150_told
  FROM pgcall.event WHERE call_id = :'big_id' ORDER BY id DESC LIMIT 1;
SELECT count(*) AS events,
       count(*) FILTER (WHERE recipients = ARRAY(SELECT DISTINCT r COLLATE "C" FROM unnest(recipients) r
                                                 ORDER BY r COLLATE "C")) AS sorted_distinct
  FROM pgcall.event WHERE id > :start;

-- purge keeps a call as long as its events may be resumed (and a day more):
-- with history kept one day, a call ended two days ago stays while events
-- are kept three; one ended five days ago goes.
SET pgcall.history_retention = 1;
UPDATE pgcall.call SET status = 'ended', end_reason = 'completed', ended_at = now() - interval '2 days'
 WHERE id = :'call_id';
SELECT pgcall.purge()->>'calls_deleted' AS deleted_two_days;
UPDATE pgcall.call SET ended_at = now() - interval '5 days' WHERE id = :'call_id';
SELECT pgcall.purge()->>'calls_deleted' AS deleted_five_days;
