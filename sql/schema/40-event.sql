-------------------------------------------------------------------------------
-- Events
--
-- Triggers queue events in memory; at commit pgcall takes an exclusive lock,
-- gives them ids from event_id_seq and writes one row per event, addressed
-- to its recipients, then sends one NOTIFY on the event channel
-- (pgcall.event_channel).  Ids are therefore assigned in commit order: a
-- reader that has seen id N has seen every event with a smaller id that will
-- ever exist, and resumes with "id > N".  An event's id is also its call's
-- version: call_get returns the largest one the call has.  Clients read their
-- own events (events_since); the bridge reads all of them (bridge_*).
-------------------------------------------------------------------------------

CREATE SEQUENCE pgcall.event_id_seq AS bigint CACHE 1;

CREATE TABLE pgcall.event (
    id         bigint PRIMARY KEY,
    call_id    uuid,
    type       text NOT NULL,
    recipients text[] NOT NULL CHECK (pg_catalog.cardinality(recipients) > 0),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    payload    text NOT NULL,
    -- every event is about a call but presence.changed, which is about a user
    CONSTRAINT event_check CHECK (pgcall.event_call_check(type, call_id))
);

-- A user's events (events_since): those addressed to at most 64 people
-- through the GIN index on recipients, the others (the changes of a large
-- call, addressed to everyone in it) through the user's calls and
-- event_call_idx.  An index entry per recipient would make every change of
-- a call of N people write N entries inside the commit's serialized part
-- (docs/benchmarks.md); a participant's rows last as long as the call, and
-- purge() keeps a call at least as long as its events.  The 64 is
-- PGCALL_EVENT_INDEXED_RECIPIENTS in extension/events.c.  A call's
-- version: event_call_idx.  Without a pending list (fastupdate off): the
-- insert that finds a full pending list cleans all of it up, a stall of up
-- to 300 ms inside the commit's serialized part; each row's two or three
-- entries go in directly for about 2 microseconds more (bench/event-gin).
-- A large call's recipients (a thousand names, a dozen kB) go out of line
-- uncompressed: pglz spent 2 million instructions on each such row inside
-- the commit's serialized part, for a list stored once and read once by
-- each bridge (bench/session/instructions.sh KINDS="joinsmall joinbig").
ALTER TABLE pgcall.event ALTER COLUMN recipients SET STORAGE EXTERNAL;

CREATE INDEX event_recipients_idx ON pgcall.event USING gin (recipients) WITH (fastupdate = off)
    WHERE pg_catalog.cardinality(recipients) <= 64;

CREATE INDEX event_call_idx ON pgcall.event (call_id, id);

COMMENT ON TABLE pgcall.event IS
'Event log: one row per event, addressed to recipients (user ids, distinct).  payload is the JSON message the bridge sends to each of them as is: the change (data, the call''s own members, the participant that changed) and the call''s version after it (the id).';

ALTER TABLE pgcall.event ENABLE ROW LEVEL SECURITY;

CREATE POLICY event_own_read ON pgcall.event FOR SELECT
    TO pgcall_user, pgcall_backend USING (recipients @> ARRAY[pgcall.current_user_id()]);

CREATE POLICY event_bridge_read ON pgcall.event FOR SELECT
    TO pgcall_bridge USING (true);

GRANT SELECT ON pgcall.event TO pgcall_bridge;

CREATE TABLE pgcall.event_purged (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    through_id bigint NOT NULL
);

INSERT INTO pgcall.event_purged VALUES (true, 0);

COMMENT ON TABLE pgcall.event_purged IS
'The largest event id purged so far: resuming from an older id cannot be complete.';

ALTER TABLE pgcall.event_purged ENABLE ROW LEVEL SECURITY;

-- Event ids are epoch * 2^40 + n, the epoch being the WAL timeline minus one
-- plus this offset, so that a promoted standby, which may lack the old
-- primary's last events, still gives out ids above all of them (see
-- extension/event_ids.c).  The offset is raised only when the timeline went
-- down under existing ids (pg_upgrade starts the new cluster on timeline 1).
CREATE TABLE pgcall.event_id_epoch (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    timeline_offset integer NOT NULL CHECK (timeline_offset BETWEEN 0 AND 8191)
);

INSERT INTO pgcall.event_id_epoch VALUES (true, 0);

ALTER TABLE pgcall.event_id_epoch ENABLE ROW LEVEL SECURITY;

COMMENT ON TABLE pgcall.event_id_epoch IS
'Added to the WAL timeline to make the high bits of event ids (epoch * 2^40): written by pgcall when the timeline went down under existing ids.';

-- The NOTIFY channel of events has a random name, readable by no role:
-- LISTEN needs no privilege, so a known name would let any login watch the
-- rate of calls.  The bridge listens through pgcall.bridge_listen().
CREATE TABLE pgcall.event_channel (
    name text NOT NULL CHECK (name ~ '^pgcall_events_[0-9a-f]{32}$')
);

CREATE UNIQUE INDEX event_channel_one_row ON pgcall.event_channel ((true));

INSERT INTO pgcall.event_channel (name)
    VALUES ('pgcall_events_' || pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''));

REVOKE ALL ON pgcall.event_channel FROM PUBLIC;

ALTER TABLE pgcall.event_channel ENABLE ROW LEVEL SECURITY;

COMMENT ON TABLE pgcall.event_channel IS
'The name of the NOTIFY channel that announces new events: random per installation and readable by superusers only.  pgcall.bridge_listen() subscribes a session to it.';

CREATE FUNCTION pgcall.event_types(OUT type text, OUT recipients text, OUT description text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgcall_event_types_list'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.event_types() IS
'Every event type pgcall sends, who receives it and when: the event catalog (docs/events.md has an example of each).';

CREATE FUNCTION pgcall.events_since(after bigint, max integer DEFAULT 1000,
                                    OUT id bigint, OUT payload text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgcall_events_since'
LANGUAGE C STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.events_since(bigint, integer) IS
'Your events with an id above after, oldest first (at most max, up to 10000): what a client missed while disconnected.  Raises P410A when some of them were already purged.';

GRANT EXECUTE ON FUNCTION pgcall.events_since(bigint, integer) TO pgcall_user, pgcall_backend;

CREATE FUNCTION pgcall.bridge_listen()
RETURNS void
AS 'MODULE_PATHNAME', 'pgcall_bridge_listen'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.bridge_listen() IS
'LISTEN to the event channel (whose name only this function knows), as of the end of the transaction.  For the bridge''s listener connection.';

GRANT EXECUTE ON FUNCTION pgcall.bridge_listen() TO pgcall_bridge;

-- The bridge reads the event table directly (a policy lets pgcall_bridge see
-- every row), so bridge_events is plain SQL that the planner inlines into the
-- bridge's prepared statement: no function call, no re-planning per fetch.
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

CREATE FUNCTION pgcall.bridge_event_horizon()
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

GRANT EXECUTE ON FUNCTION pgcall.bridge_event_horizon() TO pgcall_bridge;
