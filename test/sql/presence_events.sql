-- presence.changed: who hears of whose presence, and resuming from an id.
CREATE FUNCTION pg_temp.presence_of(u text, after bigint DEFAULT 0) RETURNS TABLE (data jsonb)
LANGUAGE sql AS $$
    SELECT (e.payload::jsonb -> 'data') - 'since'
           || jsonb_build_object('since', e.payload::jsonb -> 'data' ->> 'since' IS NOT NULL)
      FROM pgcall.event e
     WHERE u = ANY (e.recipients) AND e.type = 'presence.changed' AND e.id > after
     ORDER BY e.id
$$;
SELECT pgcall.bridge_heartbeat('00000000-0000-0000-0000-0000000000b1');

-- alice and carol follow bob; only alice will share a call with him.
SET pgcall.user_id = 'alice';
SELECT jsonb_path_query_array(pgcall.presence_subscribe(ARRAY['bob']), '$.presence[*].online') AS alice_sees;
SET pgcall.user_id = 'carol';
SELECT jsonb_path_query_array(pgcall.presence_subscribe(ARRAY['bob']), '$.presence[*].online') AS carol_sees;
SET pgcall.user_id = 'bob';
SELECT (pgcall.presence_subscribe(ARRAY['bob', 'alice'])->>'version')::bigint AS v0 \gset
RESET pgcall.user_id;

-- bob comes online: nobody but bob himself may see him yet.
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'bob', 1);
-- A second socket changes nothing: no event.
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'bob', 2);
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'alice', 1);
SELECT * FROM pg_temp.presence_of('bob');
SELECT count(*) AS alice_heard, (SELECT count(*) FROM pg_temp.presence_of('carol')) AS carol_heard
  FROM pg_temp.presence_of('alice');

-- alice calls bob: now they share a call, both hear of each other.
SET pgcall.user_id = 'alice';
SELECT max(id) AS v1 FROM pgcall.event \gset
SELECT pgcall.call_start(ARRAY['bob'])->'call'->>'id' AS call_id \gset
SELECT * FROM pg_temp.presence_of('alice', :v1);
SELECT * FROM pg_temp.presence_of('bob', :v1);
SET pgcall.user_id = 'bob';
SELECT max(id) AS v2 FROM pgcall.event \gset
SELECT pgcall.call_accept(:'call_id') IS NOT NULL AS accepted;
SELECT * FROM pg_temp.presence_of('alice', :v2);

-- The call ends: bob hides from alice (and tells nothing to carol, ever).
SELECT max(id) AS v3 FROM pgcall.event \gset
SELECT pgcall.call_end(:'call_id') IS NOT NULL AS ended;
SELECT * FROM pg_temp.presence_of('alice', :v3);
SELECT * FROM pg_temp.presence_of('bob', :v3);
SELECT count(*) AS carol_heard FROM pg_temp.presence_of('carol');

-- Going offline while hidden: nothing reaches alice.
SELECT max(id) AS v4 FROM pgcall.event \gset
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'bob', 0);
SELECT count(*) AS alice_heard FROM pg_temp.presence_of('alice', :v4);
SELECT * FROM pg_temp.presence_of('bob', :v4);

-- A policy replaced with "everyone": carol hears bob come back, and the
-- bridge going away takes him offline again.
CREATE OR REPLACE FUNCTION pgcall.presence_visible(viewer text, subject text)
RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT true $$;
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'bob', 1);
SELECT pgcall.bridge_unregister('00000000-0000-0000-0000-0000000000b1');
SELECT * FROM pg_temp.presence_of('carol', :v4);

-- Resume: events_since as carol returns the same, with no call_id.
SET pgcall.user_id = 'carol';
SELECT (payload::jsonb ->> 'event') AS event, payload::jsonb ? 'call_id' AS has_call_id,
       payload::jsonb -> 'data' ->> 'online' AS online
  FROM pgcall.events_since(:v4);
RESET pgcall.user_id;
-- Presence events have no call, every other event has one.
SELECT type = 'presence.changed' AS presence, bool_and(call_id IS NULL) AS no_call, count(*) > 0 AS some
  FROM pgcall.event GROUP BY 1 ORDER BY 1;
-- A bridge that falls silent without unregistering: the next heartbeat of
-- another bridge announces its users offline, once; it comes back, they are
-- back online.
SELECT pgcall.bridge_heartbeat('00000000-0000-0000-0000-0000000000b2');
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b2', 'bob', 1);
SELECT max(id) AS v5 FROM pgcall.event \gset
UPDATE pgcall.bridge SET last_seen = now() - interval '1 minute' WHERE id = '00000000-0000-0000-0000-0000000000b2';
SELECT pgcall.bridge_heartbeat('00000000-0000-0000-0000-0000000000b3');
SELECT pgcall.bridge_heartbeat('00000000-0000-0000-0000-0000000000b3');
SELECT * FROM pg_temp.presence_of('carol', :v5);
SELECT max(id) AS v6 FROM pgcall.event \gset
SELECT pgcall.bridge_heartbeat('00000000-0000-0000-0000-0000000000b2');
SELECT * FROM pg_temp.presence_of('carol', :v6);

-- Many followers: rows of at most 64 recipients (resume finds events
-- about no call by their recipients), each follower once.
INSERT INTO pgcall.presence_subscription (subscriber, subject)
    SELECT 'fan' || i, 'star' FROM generate_series(1, 100) i;
SELECT max(id) AS v7 FROM pgcall.event \gset
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b3', 'star', 1);
SELECT count(*) AS event_rows, sum(cardinality(recipients)) AS deliveries,
       max(cardinality(recipients)) AS largest, count(DISTINCT payload::jsonb -> 'data') AS payloads
  FROM pgcall.event WHERE id > :v7;
SET pgcall.user_id = 'fan99';
SELECT payload::jsonb -> 'data' ->> 'user_id' AS fan99_resumes FROM pgcall.events_since(:v7);
RESET pgcall.user_id;

-- A call event without a call is refused by the table.
INSERT INTO pgcall.event (id, call_id, type, recipients, created_at, payload)
    VALUES (1, NULL, 'call.ended', '{x}', '2026-01-01 00:00:00+00', '{}');
