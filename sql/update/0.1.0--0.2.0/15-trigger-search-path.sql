
-- Issue 10: the C trigger functions pin search_path themselves, only when it
-- is not pinned already (extension/call_triggers.c, PINNED_TRIGGER): SET
-- search_path on them made fmgr set and restore it around every row.
ALTER FUNCTION pgcall.call_before() RESET search_path;
ALTER FUNCTION pgcall.call_after() RESET search_path;
ALTER FUNCTION pgcall.participant_before() RESET search_path;
ALTER FUNCTION pgcall.participant_after() RESET search_path;
