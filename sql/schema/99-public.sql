REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA pgcall FROM PUBLIC;

REVOKE EXECUTE ON ALL PROCEDURES IN SCHEMA pgcall FROM PUBLIC;

GRANT EXECUTE ON FUNCTION pgcall.error_codes(), pgcall.state_transitions(), pgcall.event_types(),
    pgcall.rings_until(text, timestamptz) TO PUBLIC;
