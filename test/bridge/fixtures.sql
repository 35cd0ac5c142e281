-- Fixtures of the bridge tests: functions in their own exposed schema,
-- bridge_test, that raise each kind of error, echo the request context, and
-- return each kind of result.  Run as a superuser after CREATE EXTENSION.
CREATE SCHEMA bridge_test;
GRANT USAGE ON SCHEMA bridge_test TO pgcall_anon, pgcall_user, pgcall_admin;

-- RAISE with any SQLSTATE, message, detail and hint.
CREATE FUNCTION bridge_test.raise(code text, message text DEFAULT 'raised on purpose',
                                  detail text DEFAULT NULL, hint text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF detail IS NULL AND hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
    ELSIF hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message, DETAIL = detail;
    ELSE
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message, DETAIL = coalesce(detail, ''), HINT = hint;
    END IF;
END $$;

-- PostgREST's convention: SQLSTATE 'PGRST', the body as message, status and headers as detail.
CREATE FUNCTION bridge_test.pgrst(body jsonb, status integer, headers jsonb DEFAULT '{}')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE SQLSTATE 'PGRST' USING MESSAGE = body::text,
        DETAIL = json_build_object('status', status, 'headers', headers)::text;
END $$;

-- The request as the database sees it.
CREATE FUNCTION bridge_test.whoami()
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'role', current_user,
        'user_id', pgcall.current_user_id(),
        'claims', current_setting('request.jwt.claims', true),
        'headers', current_setting('request.headers', true),
        'method', current_setting('request.method', true),
        'path', current_setting('request.path', true),
        'read_only', current_setting('transaction_read_only'),
        'statement_timeout', current_setting('statement_timeout'))
$$;

CREATE FUNCTION bridge_test.echo(a text DEFAULT NULL, b integer DEFAULT NULL,
                                 c jsonb DEFAULT NULL, d text[] DEFAULT NULL)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('a', a, 'b', b, 'c', c, 'd', d)
$$;

CREATE FUNCTION bridge_test.numbers(n integer)
RETURNS SETOF integer LANGUAGE sql IMMUTABLE AS $$ SELECT generate_series(1, n) $$;

CREATE FUNCTION bridge_test.pair(x integer)
RETURNS TABLE (x integer, y text) LANGUAGE sql IMMUTABLE AS $$ SELECT pair.x, 'y' || pair.x $$;

CREATE FUNCTION bridge_test.nothing()
RETURNS void LANGUAGE sql AS $$ SELECT $$;

CREATE FUNCTION bridge_test.sleep(seconds float8)
RETURNS text LANGUAGE sql AS $$ SELECT pg_sleep(seconds)::text $$;

CREATE FUNCTION bridge_test.big(n integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT repeat('x', n) $$;

CREATE TABLE bridge_test.written (id bigserial PRIMARY KEY, at timestamptz DEFAULT now());
GRANT SELECT, INSERT ON bridge_test.written TO pgcall_anon, pgcall_user;
GRANT USAGE ON SEQUENCE bridge_test.written_id_seq TO pgcall_anon, pgcall_user;

CREATE FUNCTION bridge_test.write()
RETURNS bigint LANGUAGE sql AS $$ INSERT INTO bridge_test.written DEFAULT VALUES RETURNING id $$;

CREATE FUNCTION bridge_test.admin_only()
RETURNS text LANGUAGE sql AS $$ SELECT 'admin' $$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA bridge_test FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA bridge_test TO pgcall_anon, pgcall_user;
REVOKE EXECUTE ON FUNCTION bridge_test.admin_only() FROM pgcall_anon, pgcall_user;
GRANT EXECUTE ON FUNCTION bridge_test.admin_only() TO pgcall_admin;

-- pgcall.rpc reaches only the schemas this setting lists (the bridge's
-- --schemas picks among them); the setting applies to new sessions.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET pgcall.rpc_schemas = %L', current_database(), 'pgcall, bridge_test');
END
$$;
