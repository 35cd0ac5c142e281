
-- Issue 10: pgcall.event's GIN index without a pending list.  The insert
-- that finds a full pending list (4 MB by default) cleans all of it up,
-- inside the commit's serialized part: a stall of up to 300 ms for every
-- commit waiting behind it (bench/event-gin).  Entries now go in directly;
-- the pending list left by 0.1.0 is cleaned up here.
ALTER INDEX pgcall.event_recipients_idx SET (fastupdate = off);
SELECT pg_catalog.gin_clean_pending_list('pgcall.event_recipients_idx'::pg_catalog.regclass);
