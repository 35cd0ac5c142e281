-- The call object every call_* function returns and events carry is built
-- in C (extension/call_json.c, build_call_json) for pgcall's own functions;
-- anyone row-level security applies to gets it from the query below, which
-- is the definition.  Both must write the same text, byte for byte (events
-- carry it as is), for calls in every state.
CREATE FUNCTION pg_temp.reference(call_id uuid) RETURNS text
LANGUAGE sql AS $$
SELECT json_build_object(
   'id', c.id, 'kind', c.kind, 'media', c.media,
   'status', pgcall.effective_call_status(c.status, c.ring_deadline),
   'end_reason', CASE WHEN pgcall.effective_call_status(c.status, c.ring_deadline) = 'ended'
                      THEN COALESCE(c.end_reason, 'missed') END,
   'channel_id', c.channel_id, 'room_id', c.room_id, 'created_by', c.created_by,
   'answered_by', c.answered_by, 'ended_by', c.ended_by, 'title', c.title,
   'description', c.description, 'is_public', c.is_public,
   'max_participants', c.max_participants, 'created_at', c.created_at,
   'ring_deadline', c.ring_deadline, 'answered_at', c.answered_at,
   'ended_at', COALESCE(c.ended_at, CASE WHEN pgcall.effective_call_status(c.status, c.ring_deadline) <> c.status
                                         THEN c.ring_deadline END),
   'duration_seconds', COALESCE(c.duration_seconds,
                                CASE WHEN pgcall.effective_call_status(c.status, c.ring_deadline) <> c.status THEN 0 END),
   'participants', (
       SELECT json_agg(json_build_object(
                  'user_id', p.user_id, 'role', p.role,
                  'status', pgcall.effective_participant_status(p.status, p.ring_deadline),
                  'reason', CASE WHEN pgcall.effective_participant_status(p.status, p.ring_deadline) <> p.status
                                 THEN 'timeout' ELSE p.reason END,
                  'invited_at', p.invited_at, 'joined_at', p.joined_at, 'left_at', p.left_at,
                  'joined_seconds', p.joined_seconds, 'device_id', p.device_id,
                  'mic_muted', p.mic_muted, 'camera_off', p.camera_off,
                  'sharing_screen', p.sharing_screen)
                ORDER BY p.invited_at, p.user_id)
         FROM pgcall.participant p WHERE p.call_id = c.id))::text
       || ' version ' || COALESCE((SELECT max(e.id) FROM pgcall.event e WHERE e.call_id = c.id)::text, 'null')
  FROM pgcall.call c WHERE c.id = call_id
$$;

-- pgcall.call_json(id) as text, its version moved where the reference has it
CREATE FUNCTION pg_temp.built(call_id uuid) RETURNS text
LANGUAGE sql AS $$
SELECT regexp_replace(pgcall.call_json(call_id)::text, ', "version" : (\S+)}$', '} version \1')
$$;

CREATE TEMP TABLE calls (label text, id uuid);

-- every call_* reply carries the C-built object: it parses to the reference
CREATE FUNCTION pg_temp.reply_ok(reply jsonb) RETURNS boolean
LANGUAGE sql AS $$
SELECT (reply->'call') - 'version' = regexp_replace(pg_temp.reference((reply->'call'->>'id')::uuid), ' version \S+$', '')::jsonb
$$;

SET pgcall.user_id = 'co-alice';
WITH r AS (SELECT pgcall.call_start(ARRAY['co-bob'], 'video') AS j)
INSERT INTO calls SELECT 'direct, ringing', (j->'call'->>'id')::uuid FROM r WHERE pg_temp.reply_ok(j);
-- a group call: everyone invited at the same time, so ordered by user id
WITH r AS (SELECT pgcall.call_start(ARRAY['co-Zed', 'co-bob', 'co-amy', 'co-Émile', 'co-"quoted"\']) AS j)
INSERT INTO calls SELECT 'group, ringing', (j->'call'->>'id')::uuid FROM r WHERE pg_temp.reply_ok(j);
WITH r AS (SELECT pgcall.call_start(ARRAY['co-carol']) AS j)
INSERT INTO calls SELECT 'direct, to answer', (j->'call'->>'id')::uuid FROM r WHERE pg_temp.reply_ok(j);
WITH r AS (SELECT pgcall.call_start(ARRAY['co-dave']) AS j)
INSERT INTO calls SELECT 'direct, to end', (j->'call'->>'id')::uuid FROM r WHERE pg_temp.reply_ok(j);
WITH r AS (SELECT pgcall.call_start(ARRAY['co-erin']) AS j)
INSERT INTO calls SELECT 'direct, rung past its deadline', (j->'call'->>'id')::uuid FROM r WHERE pg_temp.reply_ok(j);
WITH r AS (SELECT pgcall.conference_create('Title "with" quotes', E'line\nbreak', true) AS j)
INSERT INTO calls SELECT 'conference', (j->'call'->>'id')::uuid FROM r WHERE pg_temp.reply_ok(j);

SET pgcall.user_id = 'co-carol';
SELECT pg_temp.reply_ok(pgcall.call_accept((SELECT id FROM calls WHERE label = 'direct, to answer'), 'phone-1', true)) AS accepted;
SET pgcall.user_id = 'co-amy';
SELECT pg_temp.reply_ok(pgcall.call_accept((SELECT id FROM calls WHERE label = 'group, ringing'))) AS group_accepted;
SET pgcall.user_id = 'co-dave';
SELECT pg_temp.reply_ok(pgcall.call_accept((SELECT id FROM calls WHERE label = 'direct, to end'))) AS accepted;
SELECT pg_temp.reply_ok(pgcall.call_end((SELECT id FROM calls WHERE label = 'direct, to end'))) AS ended;
SET pgcall.user_id = 'co-alice';
SELECT pg_temp.reply_ok(pgcall.call_set_media((SELECT id FROM calls WHERE label = 'direct, to answer'), camera_off => true, sharing_screen => true)) AS media;
-- past its deadline, not yet expired: reads as ended (missed), the invitee's as missed (timeout)
ALTER TABLE pgcall.call DISABLE TRIGGER USER;
ALTER TABLE pgcall.participant DISABLE TRIGGER USER;
UPDATE pgcall.call SET ring_deadline = now() - interval '1 minute' WHERE id = (SELECT id FROM calls WHERE label = 'direct, rung past its deadline');
UPDATE pgcall.participant SET ring_deadline = now() - interval '1 minute' WHERE call_id = (SELECT id FROM calls WHERE label = 'direct, rung past its deadline');
ALTER TABLE pgcall.call ENABLE TRIGGER USER;
ALTER TABLE pgcall.participant ENABLE TRIGGER USER;

-- a call with no participant left, and no call at all
INSERT INTO pgcall.call (kind, media, channel_id, created_by, max_participants, status, ring_deadline)
VALUES ('direct', 'audio', 'co-empty', 'co-alice', 2, 'ringing', now() + interval '1 minute')
RETURNING 'no participants' AS label, id \gset empty_
INSERT INTO calls VALUES (:'empty_label', :'empty_id');

SELECT label, pg_temp.built(id) = pg_temp.reference(id) AS same_text,
       pgcall.call_json(id)::jsonb->>'status' AS status,
       jsonb_typeof(pgcall.call_json(id)::jsonb->'participants') AS participants,
       pgcall.call_json(id)::jsonb->>'version' IS NOT NULL AS has_version
  FROM calls ORDER BY label;
SELECT pgcall.call_json('00000000-0000-0000-0000-000000000000') IS NULL AS no_call;
SELECT string_agg(p->>'user_id', ' ' ORDER BY n) AS group_order
  FROM calls, jsonb_array_elements(pgcall.call_json(id)::jsonb->'participants') WITH ORDINALITY AS a(p, n)
 WHERE label = 'group, ringing';

-- in another time zone, timestamps as json_build_object writes them there
SET TimeZone = 'Asia/Kolkata';
SELECT count(*) FILTER (WHERE pg_temp.built(id) = pg_temp.reference(id)) AS same_text, count(*) FROM calls;
RESET TimeZone;

-- The columns of the two tables.  A column added or changed here needs a
-- decision in extension/call_json.c (build_call_json) and in the reference
-- above: the object lists some columns, not all.
SELECT attrelid::regclass AS "table", attname, format_type(atttypid, atttypmod) AS type
  FROM pg_attribute
 WHERE attrelid IN ('pgcall.call'::regclass, 'pgcall.participant'::regclass) AND attnum > 0 AND NOT attisdropped
 ORDER BY attrelid::regclass::text, attnum;

DELETE FROM pgcall.call WHERE id IN (SELECT id FROM calls);
