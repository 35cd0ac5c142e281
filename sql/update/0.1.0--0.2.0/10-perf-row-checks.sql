
-- Issue 10, a lean call: the checks that tie a status to another column are
-- a call of one C function each (extension/call_triggers.c), same names,
-- same meaning and nulls.  PostgreSQL reads every check of a table back
-- from its stored text in each statement that writes the table, and the
-- text constants of the expressions they replace ('ended', 'joined',
-- ARRAY['invited', 'ringing'], ...) were most of that work
-- (docs/benchmarks.md, "Issue 10: a lean call, continued").
CREATE FUNCTION pgcall.call_ended_check(status text, value "any") RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_call_ended_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcall.call_ringing_check(status text, ring_deadline "any") RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_call_ringing_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcall.participant_joined_check(status text, current_join "any") RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_participant_joined_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcall.participant_ringing_check(status text, ring_deadline "any") RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_participant_ringing_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION pgcall.event_call_check(type text, call_id "any") RETURNS boolean
AS 'MODULE_PATHNAME', 'pgcall_event_call_check' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- nothing is executable by PUBLIC unless granted: only pgcall's own
-- functions, as the tables' owner, write these tables
REVOKE EXECUTE ON FUNCTION pgcall.call_ended_check(text, "any"), pgcall.call_ringing_check(text, "any"),
    pgcall.participant_joined_check(text, "any"), pgcall.participant_ringing_check(text, "any"),
    pgcall.event_call_check(text, "any") FROM PUBLIC;

COMMENT ON FUNCTION pgcall.call_ended_check(text, "any") IS
'Check of pgcall.call: (status = ''ended'') = (value IS NOT NULL), for end_reason (call_check) and ended_at (call_check1).';
COMMENT ON FUNCTION pgcall.call_ringing_check(text, "any") IS
'Check of pgcall.call (call_check2): status <> ''ringing'' OR ring_deadline IS NOT NULL.';
COMMENT ON FUNCTION pgcall.participant_joined_check(text, "any") IS
'Check of pgcall.participant (participant_check): (status = ''joined'') = (current_join IS NOT NULL).';
COMMENT ON FUNCTION pgcall.participant_ringing_check(text, "any") IS
'Check of pgcall.participant (participant_check1): status NOT IN (''invited'', ''ringing'') OR ring_deadline IS NOT NULL.';
COMMENT ON FUNCTION pgcall.event_call_check(text, "any") IS
'Check of pgcall.event (event_check): (call_id IS NULL) = (type = ''presence.changed'').';

ALTER TABLE pgcall.call
    DROP CONSTRAINT call_check,
    DROP CONSTRAINT call_check1,
    DROP CONSTRAINT call_check2,
    ADD CONSTRAINT call_check CHECK (pgcall.call_ended_check(status, end_reason)),
    ADD CONSTRAINT call_check1 CHECK (pgcall.call_ended_check(status, ended_at)),
    ADD CONSTRAINT call_check2 CHECK (pgcall.call_ringing_check(status, ring_deadline));
ALTER TABLE pgcall.participant
    DROP CONSTRAINT participant_check,
    DROP CONSTRAINT participant_check1,
    ADD CONSTRAINT participant_check CHECK (pgcall.participant_joined_check(status, current_join)),
    ADD CONSTRAINT participant_check1 CHECK (pgcall.participant_ringing_check(status, ring_deadline));
ALTER TABLE pgcall.event
    DROP CONSTRAINT event_check,
    ADD CONSTRAINT event_check CHECK (pgcall.event_call_check(type, call_id));
