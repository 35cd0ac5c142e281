
-- Issue 10, a lean call: the rules of a call row and of a participant row
-- are one CHECK each, calling one C function on the columns
-- (extension/call_triggers.c), in place of 0.1.0's eight checks on a call
-- and four on a participant; same rules, same nulls.  PostgreSQL reads
-- every check of a table back from its stored text and plans it again in
-- each statement that writes the table, which was about a tenth of a
-- call_session (docs/benchmarks.md, "the row checks").  pgcall.event's
-- check is a C function for the same reason.
CREATE FUNCTION pgcall.call_row_check(kind text, media text, status text, end_reason text,
                                      ended_at timestamptz, ring_deadline timestamptz,
                                      max_participants integer) RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_call_row_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcall.participant_row_check(role text, status text, current_join timestamptz,
                                             ring_deadline timestamptz) RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_participant_row_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcall.event_call_check(type text, call_id "any") RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_event_call_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- nothing is executable by PUBLIC unless granted: only pgcall's own
-- functions, as the tables' owner, write these tables
REVOKE EXECUTE ON FUNCTION
    pgcall.call_row_check(text, text, text, text, timestamptz, timestamptz, integer),
    pgcall.participant_row_check(text, text, timestamptz, timestamptz),
    pgcall.event_call_check(text, "any") FROM PUBLIC;

COMMENT ON FUNCTION pgcall.call_row_check(text, text, text, text, timestamptz, timestamptz, integer) IS
'Check of pgcall.call (call_row_check): kind is direct, group or conference; media audio or video; status ringing, active or ended; end_reason completed, cancelled, rejected, missed, busy, unavailable, failed or terminated; max_participants between 2 and 10000; end_reason and ended_at are set when, and only when, the call has ended; a ringing call has a ring_deadline.';
COMMENT ON FUNCTION pgcall.participant_row_check(text, text, timestamptz, timestamptz) IS
'Check of pgcall.participant (participant_row_check): role is caller, callee, host or member; status invited, ringing, joined, left, declined, missed, busy or removed; current_join is set when, and only when, the participant is joined; an invited or ringing participant has a ring_deadline.';
COMMENT ON FUNCTION pgcall.event_call_check(text, "any") IS
'Check of pgcall.event (event_check): (call_id IS NULL) = (type = ''presence.changed'').';

ALTER TABLE pgcall.call
    DROP CONSTRAINT call_kind_check,
    DROP CONSTRAINT call_media_check,
    DROP CONSTRAINT call_max_participants_check,
    DROP CONSTRAINT call_status_check,
    DROP CONSTRAINT call_end_reason_check,
    DROP CONSTRAINT call_check,
    DROP CONSTRAINT call_check1,
    DROP CONSTRAINT call_check2,
    ADD CONSTRAINT call_row_check CHECK (pgcall.call_row_check(kind, media, status, end_reason, ended_at,
                                                               ring_deadline, max_participants));
ALTER TABLE pgcall.participant
    DROP CONSTRAINT participant_role_check,
    DROP CONSTRAINT participant_status_check,
    DROP CONSTRAINT participant_check,
    DROP CONSTRAINT participant_check1,
    ADD CONSTRAINT participant_row_check CHECK (pgcall.participant_row_check(role, status, current_join,
                                                                             ring_deadline));
ALTER TABLE pgcall.event
    DROP CONSTRAINT event_check,
    ADD CONSTRAINT event_check CHECK (pgcall.event_call_check(type, call_id));

DROP FUNCTION pgcall.is_call_kind(text), pgcall.is_call_media(text), pgcall.is_call_status(text),
    pgcall.is_call_end_reason(text), pgcall.is_participant_role(text), pgcall.is_participant_status(text);
