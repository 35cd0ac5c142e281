-- History: call_logs (seed 000), call_history (seed 003), missed count, profiles, delete, retention.
BEGIN;
SELECT plan(27);

\ir include/roles.psql
CREATE FUNCTION pg_temp.call(caller text, callee text, type text, outcome text, secs integer, ago interval)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    cid uuid;
BEGIN
    PERFORM pg_temp.act(caller);
    cid := (pgcall.call_start(ARRAY[callee], type)->'call'->>'id')::uuid;
    PERFORM pg_temp.act(callee);
    IF outcome = 'completed' THEN
        PERFORM pgcall.call_accept(cid);
        UPDATE pgcall.call c SET answered_at = answered_at - make_interval(secs => secs) WHERE c.id = cid;
        PERFORM pgcall.call_end(cid);
    ELSIF outcome = 'rejected' THEN
        PERFORM pgcall.call_reject(cid);
    ELSIF outcome = 'missed' THEN
        UPDATE pgcall.participant p SET ring_deadline = now() - interval '1 s' WHERE p.call_id = cid AND p.status = 'invited';
        PERFORM pgcall.call_expire();
    END IF;
    UPDATE pgcall.call c SET created_at = created_at - ago WHERE c.id = cid;
    RETURN cid;
END
$$;

INSERT INTO pgcall.profile VALUES ('bob', 'Bob Builder', 'https://example.com/bob.png');
SELECT pg_temp.call('alice', 'bob', 'video', 'completed', 125, interval '5 hours');
SELECT pg_temp.call('bob', 'alice', 'audio', 'missed', 0, interval '4 hours');
SELECT pg_temp.call('carol', 'alice', 'audio', 'rejected', 0, interval '3 hours');
SELECT pg_temp.call('alice', 'carol', 'video', 'missed', 0, interval '2 hours');
SELECT pg_temp.call('bob', 'alice', 'video', 'completed', 30, interval '1 hour');

SELECT pg_temp.act('alice');
CREATE TEMP TABLE logs AS SELECT pgcall.call_logs(1, 2) AS j;
SELECT is((SELECT j->'pagination' FROM logs), '{"page": 1, "limit": 2, "total": 5}', 'pagination counts all of alice''s calls');
SELECT is((SELECT jsonb_array_length(j->'logs') FROM logs), 2, 'a page holds limit logs');
SELECT is((SELECT j->'logs'->0->>'role' FROM logs), 'callee', 'the newest call: alice was the callee');
SELECT is((SELECT j->'logs'->0->'other_user' FROM logs),
          '{"id": "bob", "avatar_url": "https://example.com/bob.png", "display_name": "Bob Builder"}',
          'the other user comes with the profile');
SELECT is((SELECT j->'logs'->0->>'duration_seconds' FROM logs), '30', 'with its duration');
SELECT is((SELECT j->'logs'->0->>'type' FROM logs), 'video', 'and its type');
SELECT is(pgcall.call_logs(3, 2)->'logs'->0->>'role', 'caller', 'page 3 holds the oldest call, alice called');
SELECT is(pgcall.call_logs(3, 2)->'logs'->0->>'duration_seconds', '125', 'which lasted 125 s');
SELECT is(jsonb_array_length(pgcall.call_logs(4, 2)->'logs'), 0, 'past the end: no logs');
SELECT is(pgcall.call_logs(1, 1000)->'pagination'->>'limit', '100', 'limit is capped at 100');

CREATE TEMP TABLE h AS SELECT pgcall.call_history() AS j;
SELECT is((SELECT jsonb_agg(x->>'status') FROM h, jsonb_array_elements(j->'data') x),
          '["completed", "missed", "rejected", "missed", "completed"]', 'statuses, newest first');
SELECT is((SELECT jsonb_agg(x->>'direction') FROM h, jsonb_array_elements(j->'data') x),
          '["incoming", "outgoing", "incoming", "incoming", "outgoing"]', 'directions');
SELECT is((SELECT jsonb_agg(x->'is_missed') FROM h, jsonb_array_elements(j->'data') x),
          '[false, false, false, true, false]', 'only incoming missed calls are missed');
SELECT is((SELECT j->'has_more' FROM h), 'false', 'everything fit');
SELECT is(jsonb_array_length(pgcall.call_history(type => 'video')->'data'), 3, 'filter by type');
SELECT is(jsonb_array_length(pgcall.call_history(type => 'voice')->'data'), 2, 'voice means audio');
SELECT is(jsonb_array_length(pgcall.call_history(direction => 'outgoing')->'data'), 2, 'filter by direction');
SELECT is(jsonb_array_length(pgcall.call_history(missed_only => true)->'data'), 1, 'missed only');
SELECT is(pgcall.call_history("limit" => 2)->'has_more', 'true', 'has_more when a page is full');
SELECT is(pgcall.call_history("limit" => 2, skip => 4)->'data'->0->>'status', 'completed', 'skip pages on');
SELECT is(pgcall.call_history("limit" => 2, skip => 4)->'has_more', 'false', 'the last page has no more');
SELECT is(pgcall.call_missed_count(), 1::bigint, 'missed-calls badge');

-- Profiles from the app's own table.
CREATE TABLE public.app_users (uid integer PRIMARY KEY, full_name text, photo text);
INSERT INTO public.app_users VALUES (1, 'Carol Danvers', 'carol.jpg');
SELECT lives_ok($$SELECT pgcall.use_profile_source('public.app_users', 'uid', 'full_name', 'photo')$$,
                'point profiles at the app''s users');
SELECT throws_ok($$SELECT pgcall.use_profile_source('public.app_users', 'nope', 'full_name')$$, '42703', NULL,
                 'an unknown column is refused');
SELECT is((SELECT display_name FROM pgcall.user_profile WHERE user_id = '1'), 'Carol Danvers', 'profiles come from there');
SELECT lives_ok($$SELECT pgcall.use_profile_source(NULL)$$, 'and back to pgcall.profile');

-- Retention: ended calls older than pgcall.history_retention days go.
UPDATE pgcall.call SET ended_at = now() - interval '91 days' WHERE created_by = 'carol';
SELECT is(pgcall.purge()->>'calls_deleted', '1', 'purge deletes the old call');

SELECT * FROM finish();
ROLLBACK;
