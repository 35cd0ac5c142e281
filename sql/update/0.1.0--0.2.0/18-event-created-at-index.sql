
-- Issue 10: event_created_at_idx dropped.  Only purge() read it, and purge
-- now walks the oldest events by id (event_pkey), max_rows at a time,
-- deleting those past the retention: ids follow commit order, so the
-- oldest events come first.  Every event paid its entry, inside the
-- commit's serialized part.
DROP INDEX pgcall.event_created_at_idx;
