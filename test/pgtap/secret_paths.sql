-- The Agora certificate and the TURN secret cannot be read back by any path
-- an application role has: every table and view of pg_catalog,
-- information_schema, pgcall and public is searched for them, as an end
-- user and as a monitoring role that has pg_read_all_settings,
-- pg_read_all_data and pg_monitor; and the settings by name.
BEGIN;
SELECT plan(9);

CREATE TEMP TABLE s (name text, v text);
INSERT INTO s VALUES ('agora_app_certificate', md5(random()::text)),
                     ('agora_app_certificate_secondary', md5(random()::text)),
                     ('turn_secret', md5(random()::text) || md5(random()::text));
SELECT pgcall.set_secret(name, v) FROM s;
ANALYZE pgcall.secret;

CREATE ROLE tap_app;
GRANT pgcall_user TO tap_app;
CREATE ROLE tap_monitor;
GRANT pgcall_admin, pg_read_all_settings, pg_read_all_data, pg_monitor TO tap_monitor;
GRANT SELECT ON s TO tap_app, tap_monitor;

-- Relations in which any row, as text, contains a secret.
CREATE FUNCTION pg_temp.find_secrets() RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    r record;
    hits text[] := '{}';
    n bigint;
BEGIN
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
              WHERE c.relnamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace,
                                       'pgcall'::regnamespace, 'public'::regnamespace)
                AND c.relkind IN ('r', 'v', 'm') ORDER BY 1 LOOP
        BEGIN
            EXECUTE format('SELECT count(*) FROM %s t WHERE EXISTS (SELECT 1 FROM s WHERE strpos(t::text, s.v) > 0)', r.rel)
               INTO n;
            IF n > 0 THEN hits := hits || r.rel::text; END IF;
        EXCEPTION WHEN OTHERS THEN NULL;   -- not readable by this role
        END;
    END LOOP;
    RETURN hits;
END
$$;

-- Settings, read one by one by name (SHOW and current_setting).
CREATE FUNCTION pg_temp.find_in_settings() RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    g text;
    v text;
    hits text[] := '{}';
BEGIN
    FOREACH g IN ARRAY ARRAY['pgcall.agora_app_certificate', 'pgcall.turn_secret',
                             'pgcall.agora_app_certificate_secondary', 'pgcall.pseudonym_key'] LOOP
        BEGIN
            v := current_setting(g, true);
            IF v IS NOT NULL AND EXISTS (SELECT 1 FROM s WHERE strpos(v, s.v) > 0) THEN
                hits := hits || g;
            END IF;
        EXCEPTION WHEN OTHERS THEN NULL;
        END;
    END LOOP;
    RETURN hits;
END
$$;

SELECT ok(cardinality(pg_temp.find_secrets()) > 0, 'the search finds the secrets where they are (as a superuser)');
SELECT ok('pgcall.secret' = ANY (pg_temp.find_secrets()), 'namely in pgcall.secret');

SET LOCAL ROLE tap_app;
SELECT is(pg_temp.find_secrets(), '{}', 'an end user finds them in no table or view');
SELECT is(pg_temp.find_in_settings(), '{}', 'nor in any setting');
SELECT throws_ok('SELECT * FROM pgcall.secret', '42501', NULL, 'pgcall.secret refuses an end user');
RESET ROLE;

SET LOCAL ROLE tap_monitor;
SELECT is(pg_temp.find_secrets(), '{}', 'a role with pg_read_all_data and pg_read_all_settings finds them nowhere');
SELECT is(pg_temp.find_in_settings(), '{}', 'nor in any setting');
SELECT is((SELECT count(*)::int FROM pgcall.secret), 0, 'pg_read_all_data reads no row of pgcall.secret: forced row-level security');
SELECT is((SELECT count(*)::int FROM pg_stats WHERE schemaname = 'pgcall' AND tablename = 'secret'), 0,
          'and pg_stats shows nothing of it');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
