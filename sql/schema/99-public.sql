-------------------------------------------------------------------------------
-- What PUBLIC may run, and a check of the API list
--
-- Last, once every function exists: PostgreSQL lets PUBLIC execute a new
-- function, pgcall lets it execute nothing but these four, which describe
-- the API.  Each other function's grants follow it in its own file.  Then
-- every name in pgcall.api_function (90-api.sql) must be a function.
-------------------------------------------------------------------------------

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA pgcall FROM PUBLIC;
REVOKE EXECUTE ON ALL PROCEDURES IN SCHEMA pgcall FROM PUBLIC;

GRANT EXECUTE ON FUNCTION pgcall.error_codes(), pgcall.state_transitions(), pgcall.event_types(),
    pgcall.rings_until(text, timestamptz) TO PUBLIC;

DO $api$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(a.name, ', ') INTO missing
      FROM pgcall.api_function a
     WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_proc p
                        WHERE p.pronamespace = 'pgcall'::regnamespace AND p.proname = a.name
                          AND p.prokind = 'f' AND p.prorettype <> 'trigger'::regtype);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'pgcall.api_function names functions that do not exist: %', missing;
    END IF;
END
$api$;
