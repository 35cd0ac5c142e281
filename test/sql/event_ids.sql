-- Event ids across a failover (extension/event_ids.c): epoch * 2^40 + n,
-- the epoch being the WAL timeline minus one plus
-- pgcall.event_id_epoch.timeline_offset.  Test 47-failover promotes a real
-- standby; here the offset and the sequence stand in for what a promotion
-- and pg_upgrade do to them.
SELECT last_value AS seq_before, is_called AS seq_called FROM pgcall.event_id_seq \gset
-- (a schema, not pg_temp: the offset is cached per session, so the steps
-- that change it by hand reconnect)
CREATE SCHEMA evid;
CREATE FUNCTION evid.timeline() RETURNS bigint LANGUAGE sql AS
$$ SELECT ('x' || left(pg_walfile_name(pg_current_wal_lsn()), 8))::bit(32)::bigint $$;
-- a rings b: events for both, in one transaction
CREATE FUNCTION evid.ring(a text, b text) RETURNS void LANGUAGE sql AS $$
    SELECT set_config('pgcall.user_id', a, false);
    SELECT pgcall.call_start(ARRAY[b]);
    RESET pgcall.user_id;
$$;
CREATE FUNCTION evid.ids(a text, b text) RETURNS bigint[] LANGUAGE sql AS
$$ SELECT array_agg(id ORDER BY id) FROM pgcall.event WHERE recipients && ARRAY[a, b] $$;

-- Never promoted (timeline 1, offset 0): ids are the sequence's values.
SELECT evid.timeline() AS timeline, timeline_offset FROM pgcall.event_id_epoch;
SELECT evid.ring('evid-a1', 'evid-b1');
SELECT ids[cardinality(ids)] = (SELECT last_value FROM pgcall.event_id_seq) AS from_sequence,
       ids[1] < 2^40 AS epoch_0, cardinality(ids) AS events
  FROM evid.ids('evid-a1', 'evid-b1') ids;

-- A promoted standby: its timeline (here the offset) is one epoch up, its
-- sequence behind.  The first id jumps to the start of the new epoch, above
-- every id before, and the sequence follows from there.
UPDATE pgcall.event_id_epoch SET timeline_offset = 2;
\c
SELECT evid.ring('evid-a2', 'evid-b2');
SELECT ids = ARRAY[2 * 2^40 + 1, 2 * 2^40 + 2]::bigint[] AS new_epoch,
       ids[2] = (SELECT last_value FROM pgcall.event_id_seq) AS sequence_follows
  FROM evid.ids('evid-a2', 'evid-b2') ids;
SELECT evid.ring('evid-a3', 'evid-b3');
SELECT evid.ids('evid-a3', 'evid-b3') = ARRAY[2 * 2^40 + 3, 2 * 2^40 + 4]::bigint[] AS dense_after;

-- pg_upgrade: the new cluster starts on timeline 1 with the old sequence.
-- Ids go on from the sequence, and the offset is stored again so that the
-- next promotion still moves above them.
UPDATE pgcall.event_id_epoch SET timeline_offset = 0;
\c
SELECT evid.ring('evid-a4', 'evid-b4');
SELECT evid.ids('evid-a4', 'evid-b4') = ARRAY[2 * 2^40 + 5, 2 * 2^40 + 6]::bigint[] AS continued;
SELECT timeline_offset FROM pgcall.event_id_epoch;

-- The last epoch that keeps ids within 2^53 - 1 (JavaScript's exact integers).
UPDATE pgcall.event_id_epoch SET timeline_offset = 8191;
\c
SELECT evid.ring('evid-a5', 'evid-b5');
SELECT ids = ARRAY[8191 * 2^40 + 1, 8191 * 2^40 + 2]::bigint[] AS last_epoch
  FROM evid.ids('evid-a5', 'evid-b5') ids;
SELECT setval('pgcall.event_id_seq', 9007199254740989) IS NOT NULL AS near_the_end;
SELECT evid.ring('evid-a6', 'evid-b6');
SELECT evid.ids('evid-a6', 'evid-b6') = ARRAY[9007199254740990, 9007199254740991] AS last_ids;
-- 2^53 - 1 was the last id: a commit that needs one more fails, with its events.
SELECT evid.ring('evid-a7', 'evid-b7');
SELECT count(*) AS written FROM pgcall.event WHERE recipients && ARRAY['evid-a7', 'evid-b7'];
SELECT count(*) AS calls FROM pgcall.participant WHERE user_id IN ('evid-a7', 'evid-b7');
-- An offset beyond the last epoch is refused by the table itself.
UPDATE pgcall.event_id_epoch SET timeline_offset = 8192;

-- Leave the database as it was for the files that follow.
DELETE FROM pgcall.event WHERE recipients[1] LIKE 'evid-%';
DELETE FROM pgcall.call WHERE id IN (SELECT call_id FROM pgcall.participant WHERE user_id LIKE 'evid-%');
UPDATE pgcall.event_id_epoch SET timeline_offset = 0;
SELECT setval('pgcall.event_id_seq', :seq_before, :'seq_called'::boolean) IS NOT NULL AS restored;
DROP SCHEMA evid CASCADE;
