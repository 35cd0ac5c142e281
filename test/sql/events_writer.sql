-- The event flush writes its rows straight into pgcall.event and its
-- indexes, inside the serialized part of the commit (extension/events.c,
-- EventWriter).  A column it does not know makes it fall back to an INSERT
-- statement, which applies the column's default; a dropped column does not.
CREATE FUNCTION pg_temp.rows_of(c uuid) RETURNS TABLE (type text, recipients text[], at_now boolean, id_in_payload boolean)
LANGUAGE sql AS $$
    SELECT e.type, e.recipients, e.created_at = (SELECT created_at FROM pgcall.call WHERE id = c),
           (e.payload::jsonb->>'id')::bigint = e.id AND (e.payload::jsonb->>'version')::bigint = e.id
      FROM pgcall.event e WHERE e.call_id = c ORDER BY e.id
$$;

-- the direct path
SET pgcall.user_id = 'ew-alice';
SELECT pgcall.call_start(ARRAY['ew-bob'])->'call'->>'id' AS c1 \gset
SELECT * FROM pg_temp.rows_of(:'c1');

-- a column the writer does not know: an INSERT, with its default
ALTER TABLE pgcall.event ADD COLUMN note text NOT NULL DEFAULT 'by insert';
SELECT pgcall.call_start(ARRAY['ew-carol'])->'call'->>'id' AS c2 \gset
SELECT * FROM pg_temp.rows_of(:'c2');
SELECT DISTINCT note FROM pgcall.event WHERE call_id = :'c2';

-- dropped again: straight into the table, around the dropped column
ALTER TABLE pgcall.event DROP COLUMN note;
SELECT pgcall.call_start(ARRAY['ew-dave'])->'call'->>'id' AS c3 \gset
SELECT * FROM pg_temp.rows_of(:'c3');

-- the rows are in every index: each found through it
SET enable_seqscan = off;
SET enable_bitmapscan = on;
SELECT count(*) AS by_recipient FROM pgcall.event
 WHERE recipients @> ARRAY['ew-dave'] AND cardinality(recipients) <= 64;
SELECT count(*) AS by_call FROM pgcall.event WHERE call_id = :'c3';
SELECT count(*) AS by_id FROM pgcall.event
 WHERE id = (SELECT max(id) FROM pgcall.event WHERE call_id = :'c3');
SELECT count(*) AS by_time FROM pgcall.event
 WHERE created_at = (SELECT created_at FROM pgcall.call WHERE id = :'c3');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- and a resume reads them
SET pgcall.user_id = 'ew-dave';
SELECT min(id) - 1 AS before_c3 FROM pgcall.event WHERE call_id = :'c3' \gset
SELECT payload::jsonb->>'event' AS event FROM pgcall.events_since(:before_c3, 100);
RESET pgcall.user_id;
