-- Fan-out bounds: what one request may write to the event log, committed.
-- An event is one row addressed to its recipients (deliveries counts them).
CREATE FUNCTION pg_temp.written() RETURNS TABLE (event_rows bigint, deliveries bigint, under_64_kib boolean)
    LANGUAGE sql
    AS $$ SELECT count(*), coalesce(sum(cardinality(recipients)), 0),
                 coalesce(sum(octet_length(payload) + octet_length(recipients::text)), 0) < 64 * 1024
            FROM pgcall.event $$;

TRUNCATE pgcall.event;
SET pgcall.user_id = 'host';
-- More invitees than pgcall.max_invitees (50): refused before anything is written.
SELECT pgcall.call_start(array_agg('guest' || i)) FROM generate_series(1, 1000) i;
SELECT * FROM pg_temp.written();

-- The largest call allowed: call.started to the host and one call.incoming to
-- all 50 invitees, each with the whole call: 51 deliveries of 2 rows, under
-- 64 KiB in all (one row per recipient with the whole call was 51 rows,
-- about 1 MiB).
SELECT pgcall.call_start(array_agg('guest' || i), is_group => true)->'call'->>'id' AS call_id
  FROM generate_series(1, 50) i \gset
SELECT * FROM pg_temp.written();
SET pgcall.user_id = 'guest1';
SELECT pgcall.call_accept(:'call_id', 'phone')->'call'->>'status' AS status;

-- A media change tells everyone in the call or being rung once; no change tells nobody.
TRUNCATE pgcall.event;
SELECT pgcall.call_set_media(:'call_id', mic_muted => true) IS NOT NULL AS muted;
SELECT * FROM pg_temp.written();
TRUNCATE pgcall.event;
SELECT pgcall.call_set_media(:'call_id', mic_muted => true) IS NOT NULL AS muted_again;
SELECT * FROM pg_temp.written();

-- Joined again through call_set_status: no event, no session.
SELECT count(*) AS sessions FROM pgcall.participant_session WHERE call_id = :'call_id';
SELECT pgcall.call_set_status(:'call_id', 'joined')->'call'->>'status' AS status;
SELECT * FROM pg_temp.written();
SELECT count(*) AS sessions FROM pgcall.participant_session WHERE call_id = :'call_id';

-- A signal of the largest size allowed is one row of about that size; one byte more is refused.
SELECT pgcall.call_signal(:'call_id', 'host', 'offer', jsonb_build_object('sdp', repeat('a', 16384 - 11)));
SELECT pgcall.call_signal(:'call_id', 'host', 'offer', jsonb_build_object('sdp', repeat('a', 16384 - 10)));
SELECT count(*) AS event_rows, max(octet_length(payload)) < 16384 + 512 AS about_16_kib
  FROM pgcall.event WHERE type = 'call.signal';

-- Someone removed hears nothing more of the call.
RESET pgcall.user_id;
SELECT pgcall.admin_remove_participant(:'call_id', 'guest2')->>'already_removed' AS already_removed;
TRUNCATE pgcall.event;
SET pgcall.user_id = 'host';
SELECT pgcall.call_end(:'call_id')->'call'->>'status' AS status;
SELECT count(*) FILTER (WHERE 'guest2' = ANY (recipients)) AS to_removed, count(*) AS event_rows,
       sum(cardinality(recipients)) AS deliveries FROM pgcall.event;
