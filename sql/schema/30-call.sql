-------------------------------------------------------------------------------
-- Calls, participants, sessions
--
-- A call is direct (two people), group (invitees, optional room) or
-- conference (open to join).  Its status is ringing until someone answers,
-- then active, then ended with an end_reason.  Each person in it has a
-- participant row whose status follows the state machine
-- (pgcall.state_transitions()); each stretch of time a participant is joined
-- is a participant_session row.  Only pgcall's SECURITY DEFINER functions
-- write these tables; row-level security decides what each user reads.
-------------------------------------------------------------------------------

-- The rules of a call row and of a participant row, each one CHECK calling
-- one C function on the columns (call_triggers.c): PostgreSQL reads every
-- check of a table back from its stored text and plans it again in each
-- statement that writes the table, and one function of the columns is a
-- fraction of that work (docs/benchmarks.md, "the row checks").  A failure
-- is check_violation (23514) naming the constraint, the rule in its detail.
CREATE FUNCTION pgcall.call_row_check(kind text, media text, status text, end_reason text,
                                      ended_at timestamptz, ring_deadline timestamptz,
                                      max_participants integer) RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_call_row_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.call_row_check(text, text, text, text, timestamptz, timestamptz, integer) IS
'Check of pgcall.call (call_row_check): kind is direct, group or conference; media audio or video; status ringing, active or ended; end_reason completed, cancelled, rejected, missed, busy, unavailable, failed or terminated; max_participants between 2 and 10000; end_reason and ended_at are set when, and only when, the call has ended; a ringing call has a ring_deadline.';

CREATE FUNCTION pgcall.participant_row_check(role text, status text, current_join timestamptz,
                                             ring_deadline timestamptz) RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_participant_row_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.participant_row_check(text, text, timestamptz, timestamptz) IS
'Check of pgcall.participant (participant_row_check): role is caller, callee, host or member; status invited, ringing, joined, left, declined, missed, busy or removed; current_join is set when, and only when, the participant is joined; an invited or ringing participant has a ring_deadline.';

-- The check of pgcall.event (40-event.sql), a C function for the same reason.
CREATE FUNCTION pgcall.event_call_check(type text, call_id "any") RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_event_call_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.event_call_check(text, "any") IS
'Check of pgcall.event (event_check): (call_id IS NULL) = (type = ''presence.changed'').';

-- ----------------------------------------------------------------------------
-- Row-level security: a user reads the calls they take part in; admins read
-- everything, but calls and their participants only while pgcall.pseudonymize
-- is off; nobody writes but pgcall's functions.  No end-user or admin role
-- reads these tables directly (the functions of 32-call-api.sql and
-- 36-history.sql do): the policies stay as a second line should someone
-- grant more.

CREATE TABLE pgcall.call (
    id               uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    kind             text NOT NULL,
    media            text NOT NULL,
    channel_id       text NOT NULL UNIQUE,
    room_id          text,
    created_by       text NOT NULL,
    title            text,
    description      text,
    is_public        boolean NOT NULL DEFAULT false,
    max_participants integer NOT NULL,
    status           text NOT NULL,
    end_reason       text,
    answered_by      text,
    ended_by         text,
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    ring_deadline    timestamptz,
    answered_at      timestamptz,
    ended_at         timestamptz,
    duration_seconds integer,
    -- the call's usage (70-admin.sql), stored by its trigger when it ends
    participant_count   integer,
    peak_participants   integer,
    participant_seconds double precision,
    CONSTRAINT call_row_check CHECK (pgcall.call_row_check(kind, media, status, end_reason, ended_at,
                                                           ring_deadline, max_participants))
);

COMMENT ON TABLE pgcall.call IS
'One row per call.  Written only by pgcall functions; users read the calls they take part in.';

COMMENT ON COLUMN pgcall.call.participant_count IS
'People who were in the call at some time; set when it ends.';
COMMENT ON COLUMN pgcall.call.peak_participants IS
'Most people in the call at once; set when it ends.';
COMMENT ON COLUMN pgcall.call.participant_seconds IS
'Everyone''s time in the call added up, in seconds; set when it ends.';

-- A room's live calls (call_active, the presence policy); calls without a
-- room (every direct call) need no entry: equality on room_id implies it.
CREATE INDEX call_room_live_idx ON pgcall.call (room_id) WHERE status <> 'ended' AND room_id IS NOT NULL;
-- Public conferences still going on (conferences_public).
CREATE INDEX call_public_live_idx ON pgcall.call (created_at)
    WHERE kind = 'conference' AND is_public AND status <> 'ended';

-- Indexes for purge and the reports.  All but call_live_idx hold ended
-- calls only, so a call gets its entries once, when it ends.
CREATE INDEX call_ended_at_idx ON pgcall.call (ended_at) WHERE status = 'ended';
-- Everything analytics_report reads per ended call, for an index-only scan.
CREATE INDEX call_analytics_idx ON pgcall.call (created_at)
    INCLUDE (ended_at, answered_at, duration_seconds, media,
             participant_count, peak_participants, participant_seconds, id)
    WHERE status = 'ended';
-- Ended calls that were going on at a given instant (the start of a report's
-- range).  GREATEST: a transaction that began before the call was created
-- may end it, with an ended_at before created_at.
CREATE INDEX call_span_idx ON pgcall.call
    USING gist (tstzrange(created_at, GREATEST(created_at, ended_at))) WHERE status = 'ended';
CREATE INDEX call_live_idx ON pgcall.call (created_at) WHERE status <> 'ended';
ALTER TABLE pgcall.call ENABLE ROW LEVEL SECURITY;

-- When a participant's invitation stops ringing, or NULL when it does not
-- ring.  call_expire() finds overdue invitations through an index on this
-- expression; unlike a partial index on the status, the planner cannot
-- reach for it in queries that merely filter on status.
CREATE FUNCTION pgcall.rings_until(status text, ring_deadline timestamptz)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN status IN ('invited', 'ringing') THEN ring_deadline END
$$;

COMMENT ON FUNCTION pgcall.rings_until(text, timestamptz) IS
'The ring deadline of an invitation still ringing (invited or ringing), else NULL.';

CREATE TABLE pgcall.participant (
    call_id        uuid NOT NULL REFERENCES pgcall.call (id) ON DELETE CASCADE,
    user_id        text NOT NULL,
    role           text NOT NULL,
    status         text NOT NULL,
    reason         text,
    invited_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    ring_deadline  timestamptz,
    joined_at      timestamptz,
    left_at        timestamptz,
    current_join   timestamptz,
    joined_time    interval NOT NULL DEFAULT '0',
    joined_seconds integer GENERATED ALWAYS AS (pg_catalog.floor(EXTRACT(epoch FROM joined_time))::integer) STORED,
    device_id      text,
    mic_muted      boolean NOT NULL DEFAULT false,
    camera_off     boolean NOT NULL DEFAULT false,
    sharing_screen boolean NOT NULL DEFAULT false,
    hidden         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (call_id, user_id),
    CONSTRAINT participant_row_check CHECK (pgcall.participant_row_check(role, status, current_join,
                                                                         ring_deadline))
)
-- Participants change status several times in a minute: vacuum them early,
-- so their indexes do not fill with dead entries.
WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

CREATE INDEX participant_user_idx ON pgcall.participant (user_id, invited_at DESC);

CREATE INDEX participant_ringing_idx ON pgcall.participant (pgcall.rings_until(status, ring_deadline))
    WHERE pgcall.rings_until(status, ring_deadline) IS NOT NULL;

-- The calls a user is live in (being rung or in them): the presence policy,
-- and whether a user is busy (in a call: its joined rows, a few at most).
CREATE INDEX participant_live_idx ON pgcall.participant (user_id)
    WHERE status IN ('invited', 'ringing', 'joined');

COMMENT ON TABLE pgcall.participant IS
'One row per person in a call: role, status, answered time (joined_seconds) and media state.  hidden removes the call from that person''s history only.';

ALTER TABLE pgcall.participant ENABLE ROW LEVEL SECURITY;

CREATE TABLE pgcall.participant_session (
    call_id   uuid NOT NULL,
    user_id   text NOT NULL,
    joined_at timestamptz NOT NULL,
    left_at   timestamptz,
    PRIMARY KEY (call_id, user_id, joined_at),
    FOREIGN KEY (call_id, user_id) REFERENCES pgcall.participant (call_id, user_id) ON DELETE CASCADE,
    CHECK (left_at IS NULL OR left_at >= joined_at)
);

COMMENT ON TABLE pgcall.participant_session IS
'Each stretch of time a participant was joined: re-joins add rows.  Durations and peak concurrency come from here.';

ALTER TABLE pgcall.participant_session ENABLE ROW LEVEL SECURITY;

-- ----------------------------------------------------------------------------
-- Call state: reads never show ringing past the deadline
--
-- The one place the rule is written: a call or an invitation rung past its
-- deadline reads as ended (missed) even before call_expire() records it.
-- Every query, here and in the C files, asks these two functions (and
-- pgcall.rings_until above, which says which statuses ring).

CREATE FUNCTION pgcall.effective_call_status(status text, ring_deadline timestamptz)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN status = 'ringing' AND ring_deadline <= pg_catalog.now()
                THEN 'ended' ELSE status END
$$;

COMMENT ON FUNCTION pgcall.effective_call_status(text, timestamptz) IS
'A call''s status as of now: a call still marked ringing after its deadline has ended (missed), even before call_expire() records it.';

GRANT EXECUTE ON FUNCTION pgcall.effective_call_status(text, timestamptz) TO pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge;

CREATE FUNCTION pgcall.effective_participant_status(status text, ring_deadline timestamptz)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN pgcall.rings_until(status, ring_deadline) <= pg_catalog.now()
                THEN 'missed' ELSE status END
$$;

COMMENT ON FUNCTION pgcall.effective_participant_status(text, timestamptz) IS
'A participant''s status as of now: an invitation rung past its deadline is missed.';

GRANT EXECUTE ON FUNCTION pgcall.effective_participant_status(text, timestamptz) TO pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge;

CREATE FUNCTION pgcall.state_transitions(
    OUT machine text, OUT from_status text, OUT to_status text, OUT how text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgcall_state_transitions'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgcall.state_transitions() IS
'The call and participant state machines: every status change the triggers allow, and what causes it.  docs/state-machine.svg is drawn from this.';

CREATE FUNCTION pgcall.call_json(call_id uuid)
RETURNS json
AS 'MODULE_PATHNAME', 'pgcall_call_json'
LANGUAGE C STABLE STRICT
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgcall.call_json(uuid) IS
'The call object every call_* function returns and every event carries: the call and its participants, with effective statuses.  Internal: no access check.';

GRANT EXECUTE ON FUNCTION pgcall.call_json(uuid) TO pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge;

-- ----------------------------------------------------------------------------
-- Triggers: the state machine, and the events of each change

CREATE FUNCTION pgcall.call_before() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgcall_call_before' LANGUAGE C;

COMMENT ON FUNCTION pgcall.call_before() IS 'Trigger: call state machine, answered_at, ended_at, duration.';

CREATE FUNCTION pgcall.call_after() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgcall_call_after' LANGUAGE C;

COMMENT ON FUNCTION pgcall.call_after() IS 'Trigger: call.accepted and call end events.';

CREATE FUNCTION pgcall.participant_before() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgcall_participant_before' LANGUAGE C;

COMMENT ON FUNCTION pgcall.participant_before() IS 'Trigger: participant state machine, join and leave times, answered time.';

CREATE FUNCTION pgcall.participant_after() RETURNS trigger
AS 'MODULE_PATHNAME', 'pgcall_participant_after' LANGUAGE C;

COMMENT ON FUNCTION pgcall.participant_after() IS 'Trigger: participant sessions and participant events.';

CREATE TRIGGER call_before BEFORE INSERT OR UPDATE ON pgcall.call
    FOR EACH ROW EXECUTE FUNCTION pgcall.call_before();

CREATE TRIGGER call_after AFTER UPDATE OF status ON pgcall.call
    FOR EACH ROW EXECUTE FUNCTION pgcall.call_after();

CREATE TRIGGER participant_before BEFORE INSERT OR UPDATE ON pgcall.participant
    FOR EACH ROW EXECUTE FUNCTION pgcall.participant_before();

CREATE TRIGGER participant_after AFTER INSERT OR UPDATE OF status, mic_muted, camera_off, sharing_screen
    ON pgcall.participant
    FOR EACH ROW EXECUTE FUNCTION pgcall.participant_after();

CREATE FUNCTION pgcall.is_participant(call_id uuid)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pgcall.refuse_plain_ids('who takes part in a call');
    SELECT EXISTS (SELECT 1 FROM pgcall.participant p
                    WHERE p.call_id = is_participant.call_id
                      AND p.user_id = pgcall.current_user_id()
                      AND p.status <> 'removed')
$$;

COMMENT ON FUNCTION pgcall.is_participant(uuid) IS
'Whether the current user takes part in the call (someone removed from it no longer does).  Used by row-level security policies.  Refused to administrators (P403G) while pgcall.pseudonymize is on: they could name any user as the current one.';

GRANT EXECUTE ON FUNCTION pgcall.is_participant(uuid) TO pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge;

CREATE POLICY call_participant_read ON pgcall.call FOR SELECT
    TO pgcall_user, pgcall_backend USING (pgcall.is_participant(id));

CREATE POLICY call_admin_read ON pgcall.call FOR SELECT
    TO pgcall_admin USING (NOT pgcall.pseudonymous());

CREATE POLICY participant_participant_read ON pgcall.participant FOR SELECT
    TO pgcall_user, pgcall_backend USING (pgcall.is_participant(call_id));

CREATE POLICY participant_admin_read ON pgcall.participant FOR SELECT
    TO pgcall_admin USING (NOT pgcall.pseudonymous());

CREATE POLICY session_participant_read ON pgcall.participant_session FOR SELECT
    TO pgcall_user, pgcall_backend USING (pgcall.is_participant(call_id));

CREATE POLICY session_admin_read ON pgcall.participant_session FOR SELECT
    TO pgcall_admin USING (NOT pgcall.pseudonymous());
