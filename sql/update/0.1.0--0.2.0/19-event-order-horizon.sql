
-- Issue 10: pgcall.event_order = horizon (event_order.c).  bridge_events
-- takes the horizon to stop below; bridge_event_horizon reads the horizon
-- before its snapshot; bridge_wait wakes the bridge instead of NOTIFY.
DROP FUNCTION pgcall.bridge_events(bigint, integer);

CREATE FUNCTION pgcall.bridge_events(after bigint, max integer DEFAULT 1000, below bigint DEFAULT NULL,
                                     OUT id bigint, OUT recipients text, OUT payload text)
RETURNS SETOF record
LANGUAGE sql STABLE
AS $$
    SELECT e.id, pg_catalog.array_to_json(e.recipients)::text, e.payload
      FROM pgcall.event e
     WHERE e.id > bridge_events.after
       AND (bridge_events.below IS NULL OR e.id < bridge_events.below)
     ORDER BY e.id
     LIMIT LEAST(GREATEST(bridge_events.max, 1), 10000)
$$;

COMMENT ON FUNCTION pgcall.bridge_events(bigint, integer, bigint) IS
'Every event above an id (and below the horizon "below", when given), oldest first, with its recipients as a JSON array of user ids, for the bridge to fan out to each of their sockets.  With pgcall.event_order = lock ids are commit-ordered; with horizon, every event below the horizon bridge_wait() gave is committed or never will be: after the last id fetched, nothing is ever skipped.';

GRANT EXECUTE ON FUNCTION pgcall.bridge_events(bigint, integer, bigint) TO pgcall_bridge;

CREATE OR REPLACE FUNCTION pgcall.bridge_event_horizon()
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgcall_bridge_event_horizon'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.bridge_event_horizon() IS
'The largest event id committed so far below which nothing is still in flight: a starting bridge fetches only events after it.';

CREATE FUNCTION pgcall.bridge_wait(seen bigint, timeout_ms integer, OUT finished bigint, OUT below bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pgcall_bridge_wait'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.bridge_wait(bigint, integer) IS
'With pgcall.event_order = horizon: waits (at most timeout_ms, up to a minute) until the count of finished event-writing transactions is no longer seen, then gives the count and the horizon (every event id below it is committed or never will be).  Both null with pgcall.event_order = lock, where the bridge LISTENs (bridge_listen) instead.';

GRANT EXECUTE ON FUNCTION pgcall.bridge_wait(bigint, integer) TO pgcall_bridge;

REVOKE EXECUTE ON FUNCTION pgcall.bridge_events(bigint, integer, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgcall.bridge_wait(bigint, integer) FROM PUBLIC;
