-- The event log: who gets which event, in commit order, and resuming from an id.
-- One row per event, addressed to its recipients; event_to has one row per
-- (event, recipient).
CREATE VIEW pg_temp.event_to AS
    SELECT e.id, r.user_id, e.type, e.call_id, e.payload, e.created_at
      FROM pgcall.event e, unnest(e.recipients) r(user_id);
CREATE FUNCTION pg_temp.events_of(u text) RETURNS TABLE (type text, data jsonb)
LANGUAGE sql AS $$
    SELECT e.type, e.payload::jsonb -> 'data'
      FROM pgcall.event e WHERE u = ANY (e.recipients) ORDER BY e.id
$$;

SET pgcall.user_id = 'alice';
SELECT pgcall.call_start(ARRAY['bob'], 'video')->'call'->>'id' AS call_id \gset
SET pgcall.user_id = 'bob';
SELECT pgcall.call_set_status(:'call_id', 'ringing') IS NOT NULL AS rang;
SELECT pgcall.call_accept(:'call_id', 'bob-phone') IS NOT NULL AS answered;
SELECT pgcall.call_signal(:'call_id', 'alice', 'answer', '{"type": "answer", "sdp": "v=0 b"}');
SET pgcall.user_id = 'alice';
SELECT pgcall.call_signal(:'call_id', 'bob', 'offer', '{"type": "offer", "sdp": "v=0 a"}');

-- A rolled-back savepoint takes its events with it; a rolled-back transaction all of them.
BEGIN;
SAVEPOINT s;
SELECT pgcall.call_signal(:'call_id', 'bob', 'candidate', '{"candidate": "lost"}');
ROLLBACK TO s;
SELECT pgcall.call_signal(:'call_id', 'bob', 'candidate', '{"candidate": "kept"}');
COMMIT;
BEGIN;
SELECT pgcall.call_set_media(:'call_id', mic_muted => true) IS NOT NULL AS muted;
ROLLBACK;

SELECT pgcall.call_set_media(:'call_id', mic_muted => true) IS NOT NULL AS muted;
SELECT pgcall.call_end(:'call_id') IS NOT NULL AS ended;

SELECT * FROM pg_temp.events_of('alice');
SELECT * FROM pg_temp.events_of('bob');

-- Adding someone to a live group call rings them and tells the others.
SET pgcall.user_id = 'host';
SELECT pgcall.call_start(ARRAY['gus', 'hal'], is_group => true)->'call'->>'id' AS group_id \gset
SET pgcall.user_id = 'gus';
SELECT pgcall.call_accept(:'group_id') IS NOT NULL AS answered;
SELECT pgcall.call_invite(:'group_id', ARRAY['ivy'])->'call'->'participants'->-1->>'user_id' AS invited;
SELECT pgcall.call_invite(:'group_id', ARRAY['hal']);
SELECT user_id, type, payload::jsonb->'data'->>'user_id' AS about FROM pg_temp.event_to
 WHERE call_id = :'group_id' AND type IN ('call.incoming', 'participant.invited') ORDER BY id, user_id;
-- The invitees rung alike at once share one call.incoming.
SELECT recipients, payload::jsonb->'data' AS data,
       jsonb_array_length(payload::jsonb->'call'->'participants') AS participants
  FROM pgcall.event WHERE call_id = :'group_id' AND type = 'call.incoming' ORDER BY id;
RESET pgcall.user_id;

-- Every event carries the call as committed, except signals: the call's own
-- members (participants only in call.started, call.incoming and the end
-- events), the participant that changed, and the version (its id).
SELECT type, payload::jsonb -> 'call' ->> 'status' AS call_status, payload::jsonb ? 'call' AS has_call,
       payload::jsonb -> 'call' ? 'participants' AS whole_call,
       payload::jsonb -> 'participant' ->> 'user_id' AS participant,
       payload::jsonb ->> 'call_id' = :'call_id' AS same_call
  FROM pg_temp.event_to WHERE user_id = 'bob' ORDER BY id;
SELECT count(*) = count(DISTINCT id) AND bool_and(payload::jsonb ->> 'id' = id::text)
       AND bool_and(payload::jsonb ->> 'version' = id::text) AS ids_match,
       bool_and(cardinality(recipients) = (SELECT count(DISTINCT r) FROM unnest(recipients) r)) AS distinct_recipients
  FROM pgcall.event;

-- The participant an event carries has the members of call_get's
-- participants, and call_get's version is the call's last event id.
SET pgcall.user_id = 'alice';
SELECT (pgcall.call_get(:'call_id')->>'version')::bigint
       = (SELECT max(id) FROM pgcall.event WHERE call_id = :'call_id') AS version_is_last_event;
SELECT ev->>'mic_muted' AS muted_in_event,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(ev) k)
       = (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(cp) k) AS same_members
  FROM (SELECT payload::jsonb -> 'participant' AS ev FROM pgcall.event
         WHERE call_id = :'call_id' AND type = 'participant.media') e,
       (SELECT p AS cp FROM jsonb_array_elements(pgcall.call_get(:'call_id')->'participants') p
         WHERE p->>'user_id' = 'alice') c;
RESET pgcall.user_id;

-- Resuming: a user reads their own events after an id, nobody else's.
RESET pgcall.user_id;
SELECT set_config('request.jwt.claims', '{"sub": "bob"}', false) IS NOT NULL AS claims;
SELECT count(*) AS bob_all FROM pgcall.events_since(0);
SELECT count(*) AS after_third FROM pgcall.events_since((SELECT id FROM pgcall.events_since(0) LIMIT 1 OFFSET 2));
SELECT count(*) AS at_end FROM pgcall.events_since((SELECT max(id) FROM pgcall.event));
SELECT count(*) AS max_two FROM pgcall.events_since(0, 2);
SELECT * FROM pgcall.events_since(0, 0);
SELECT * FROM pgcall.events_since(NULL);
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL AS claims;
SELECT * FROM pgcall.events_since(0);

-- The bridge's feed has everyone's events in id order.
SELECT count(*) = (SELECT count(*) FROM pgcall.event) AS all_events,
       bool_and(b.recipients::jsonb = to_jsonb(e.recipients)) AS recipients_as_json,
       bool_and(b.payload = e.payload) AS same_payload
  FROM pgcall.bridge_events(0, 10000) b JOIN pgcall.event e USING (id);
SELECT pgcall.bridge_event_horizon() = (SELECT max(id) FROM pgcall.event) AS horizon_is_last;
-- Payloads of 256 bytes or more are stored compressed (lz4) as they are
-- written, shorter ones as they are; both read back as the same JSON.
SELECT octet_length(payload) >= 252 AS long, pg_column_compression(payload) AS compression,
       bool_and(payload::jsonb->>'id' = id::text) AS json_ok, count(*) > 0 AS some
  FROM pgcall.event GROUP BY 1, 2 ORDER BY 1, 2;

-- Purged events cannot be resumed from.
SET pgcall.event_retention = 60;
UPDATE pgcall.event SET created_at = now() - interval '2 minutes'
 WHERE id <= (SELECT min(id) + 2 FROM pgcall.event);
SELECT pgcall.purge(2);
SELECT pgcall.purge(2);
SELECT set_config('request.jwt.claims', '{"sub": "bob"}', false) IS NOT NULL AS claims;
SELECT * FROM pgcall.events_since(0);
SELECT count(*) > 0 AS resumable FROM pgcall.events_since((SELECT through_id FROM pgcall.event_purged));
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL AS claims;
-- purge reads the max_rows oldest events by id and deletes the old ones
-- among them: a young one (a long transaction's) stays, those past max_rows
-- wait for the next call.
UPDATE pgcall.event SET created_at = now() - interval '2 minutes'
 WHERE id IN (SELECT id FROM pgcall.event ORDER BY id OFFSET 1 LIMIT 3);
SELECT min(id) AS young_id FROM pgcall.event \gset
SELECT pgcall.purge(3)->'events_deleted' AS deleted;
SELECT count(*) FILTER (WHERE created_at < now() - interval '1 minute') AS old_left,
       bool_or(id = :young_id) AS young_kept
  FROM pgcall.event;
SELECT pgcall.purge(3)->'events_deleted' AS deleted;
SELECT count(*) AS old_left FROM pgcall.event WHERE created_at < now() - interval '1 minute';
RESET pgcall.event_retention;

-- Events are written at commit even when the session's role may not write
-- the event table, and a hostile search_path changes nothing.
CREATE SCHEMA evil;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'evil.now() was called'; END $$;
CREATE FUNCTION evil.texteq(text, text) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'evil = was called'; END $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq);
GRANT USAGE ON SCHEMA evil TO PUBLIC;
SELECT max(id) AS before_id FROM pgcall.event \gset
SET ROLE pgcall_user;
SET search_path = evil, pg_catalog, public;
SELECT set_config('request.jwt.claims', '{"sub": "carol"}', false) IS NOT NULL AS claims;
SELECT pgcall.call_start(ARRAY['dave'], 'audio')->'call'->>'status' AS status;
SELECT set_config('request.jwt.claims', '{"sub": "dave"}', false) IS NOT NULL AS claims;
SELECT count(*) AS dave_sees FROM pgcall.events_since(:before_id);
RESET search_path;
RESET ROLE;
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL AS claims;
SELECT user_id, type FROM pg_temp.event_to WHERE user_id IN ('carol', 'dave') ORDER BY id;
-- A direct write by the tables' owner fires the triggers outside any pgcall
-- function: they pin search_path themselves, so the hostile one changes
-- nothing there either (the statement's own = is spelled out).
SELECT max(id) AS before_id FROM pgcall.event \gset
SET search_path = evil, pg_catalog, public;
UPDATE pgcall.participant SET status = 'ringing'
 WHERE user_id OPERATOR(pg_catalog.=) 'dave' AND status OPERATOR(pg_catalog.=) 'invited';
UPDATE pgcall.participant SET status = 'left'
 WHERE user_id OPERATOR(pg_catalog.=) 'carol' AND status OPERATOR(pg_catalog.=) 'joined';
RESET search_path;
SELECT user_id, type FROM pg_temp.event_to WHERE id > :before_id AND user_id IN ('carol', 'dave') ORDER BY id, user_id;
DROP SCHEMA evil CASCADE;

-- The snapshot an event carries is the call as committed, also when the
-- function that queued it already built the same object for its reply:
-- a later write, a rolled-back savepoint and the session's time zone at
-- commit all show.
SET pgcall.user_id = 'snap1';
BEGIN;
SELECT pgcall.call_start(ARRAY['snap2'])->'call'->>'id' AS snap_call \gset
UPDATE pgcall.participant SET mic_muted = true WHERE call_id = :'snap_call' AND user_id = 'snap1';
COMMIT;
SELECT payload::jsonb->'call'->'participants'->0->>'mic_muted' AS later_write_shows
  FROM pg_temp.event_to WHERE user_id = 'snap1' AND type = 'call.started' AND call_id = :'snap_call';
BEGIN;
SELECT pgcall.call_start(ARRAY['snap3'])->'call'->>'id' AS snap_call \gset
SAVEPOINT s;
SELECT pgcall.call_set_media(:'snap_call', mic_muted => true)->'call'->'participants'->0->>'mic_muted' AS muted_in_savepoint;
ROLLBACK TO s;
COMMIT;
SELECT payload::jsonb->'call'->'participants'->0->>'mic_muted' AS rolled_back_gone
  FROM pg_temp.event_to WHERE user_id = 'snap1' AND type = 'call.started' AND call_id = :'snap_call';
BEGIN;
SELECT pgcall.call_start(ARRAY['snap4'])->'call'->>'id' AS snap_call \gset
SET LOCAL timezone = 'Asia/Tokyo';
COMMIT;
SELECT payload::jsonb->'call'->>'created_at' LIKE '%+09:00' AS commit_zone
  FROM pg_temp.event_to WHERE user_id = 'snap4' AND type = 'call.incoming' AND call_id = :'snap_call';
SELECT pgcall.call_start(ARRAY['snap5'])->'call' AS snap_reply \gset
SELECT payload::jsonb->'call' = :'snap_reply'::jsonb - 'version' AS reply_is_snapshot
  FROM pg_temp.event_to WHERE user_id = 'snap5' AND type = 'call.incoming' AND call_id = (:'snap_reply'::jsonb->>'id')::uuid;
RESET pgcall.user_id;

-- call.incoming names the caller from the profile source: {id, name,
-- avatar}, null without a profile; one event still for invitees rung alike.
INSERT INTO pgcall.profile VALUES ('prof-alice', 'Alice "A" Liddell', 'https://img.example/a.png'),
                                  ('prof-noavatar', 'No Avatar', NULL);
SET pgcall.user_id = 'prof-alice';
SELECT pgcall.call_start(ARRAY['prof-bob', 'prof-carol'])->'call'->>'id' AS prof_call \gset
SELECT recipients, payload::jsonb->'data' AS data FROM pgcall.event
 WHERE call_id = :'prof_call' AND type = 'call.incoming';
SET pgcall.user_id = 'prof-noavatar';
SELECT pgcall.call_start(ARRAY['prof-dave'])->'call'->>'id' AS prof_call \gset
SELECT payload::jsonb->'data'->'caller' AS caller_without_avatar FROM pgcall.event
 WHERE call_id = :'prof_call' AND type = 'call.incoming';
SET pgcall.user_id = 'prof-nobody';
SELECT pgcall.call_start(ARRAY['prof-erin'])->'call'->>'id' AS prof_call \gset
SELECT payload::jsonb->'data' AS no_profile FROM pgcall.event
 WHERE call_id = :'prof_call' AND type = 'call.incoming';
-- a profile source that fails to read gives null and a WARNING, not a failed call
CREATE TABLE public.prof_users (id text, name text, pic text);
INSERT INTO public.prof_users VALUES ('prof-bad', 'Bad', '');
CREATE VIEW public.prof_bad AS SELECT id, name, (1 / length(pic))::text AS pic FROM public.prof_users;
GRANT SELECT ON public.prof_bad TO pgcall_user, pgcall_backend;
SELECT pgcall.use_profile_source('public.prof_bad', 'id', 'name', 'pic');
SET pgcall.user_id = 'prof-bad';
SELECT pgcall.call_start(ARRAY['prof-fay'])->'call'->>'status' AS still_rings;
SELECT payload::jsonb->'data' AS failing_source FROM pgcall.event
 WHERE 'prof-fay' = ANY (recipients) AND type = 'call.incoming';
SELECT pgcall.use_profile_source(NULL);
DROP VIEW public.prof_bad;
DROP TABLE public.prof_users;
RESET pgcall.user_id;
-- the default source is read by key, any other by its query: a table of
-- one's own names the caller from it, and back to the default, from
-- pgcall.profile again
CREATE TABLE public.prof_people (id text, full_name text, photo text);
INSERT INTO public.prof_people VALUES ('prof-alice', 'Alice of the people table', NULL);
GRANT SELECT ON public.prof_people TO pgcall_user, pgcall_backend;
SELECT pgcall.use_profile_source('public.prof_people', 'id', 'full_name', 'photo');
SET pgcall.user_id = 'prof-alice';
SELECT pgcall.call_start(ARRAY['prof-gil'])->'call'->>'id' AS prof_call \gset
SELECT payload::jsonb->'data'->'caller' AS own_source FROM pgcall.event
 WHERE call_id = :'prof_call' AND type = 'call.incoming';
RESET pgcall.user_id;
SELECT pgcall.use_profile_source(NULL);
SET pgcall.user_id = 'prof-alice';
SELECT pgcall.call_start(ARRAY['prof-hal'])->'call'->>'id' AS prof_call \gset
SELECT payload::jsonb->'data'->'caller' AS default_again FROM pgcall.event
 WHERE call_id = :'prof_call' AND type = 'call.incoming';
RESET pgcall.user_id;
DROP TABLE public.prof_people;
