-- Attacks from a database login that holds only pgcall's weakest roles, and
-- the install-time and name-resolution defences (issues 9 and 17).
BEGIN;
SELECT plan(25);

SET LOCAL pgcall.agora_app_id = '970ca35de60c44645bbae8a215061b33';
SELECT pgcall.set_secret('agora_app_certificate', '5cfd2fd1755d40ecb72977518be15d3b');

-- Logins: mallory holds pgcall_user only; gate is an authenticator.
CREATE ROLE sec_mallory LOGIN;
GRANT pgcall_user TO sec_mallory;
CREATE ROLE sec_gate LOGIN NOINHERIT;
GRANT pgcall_user, pgcall_authn TO sec_gate;

-- alice calls bob, as the bridge would run it (superuser session here).
SELECT set_config('role', 'pgcall_user', true);
SELECT set_config('request.jwt.claims', '{"sub": "alice", "role": "pgcall_user"}', true);
CREATE TEMP TABLE c AS SELECT (pgcall.call_start(ARRAY['bob'])->'call'->>'id')::uuid AS id;
RESET ROLE;
GRANT SELECT ON c TO PUBLIC;

-- 1. Claims are trusted only from authenticator logins.
SET LOCAL SESSION AUTHORIZATION sec_mallory;
SELECT set_config('request.jwt.claims', '{"sub": "bob", "role": "pgcall_user"}', true);
SELECT throws_ok('SELECT pgcall.current_user_id()', 'P403A', 'request.jwt.claims is not trusted in this session',
                 'a pgcall_user login cannot name itself bob through request.jwt.claims');
SELECT throws_ok(format('SELECT pgcall.call_get(%L)', (SELECT id FROM c)), 'P403A', NULL,
                 'nor read bob''s call that way');
SELECT throws_ok('SELECT pgcall.call_logs()', 'P403A', NULL, 'nor his history');
SELECT throws_ok('SET pgcall.user_id = ''bob''', '42501', NULL, 'pgcall.user_id stays reserved to backends');
SELECT set_config('request.jwt.claims', '', true);
SELECT is(pgcall.current_user_id(), NULL, 'without claims: no user, and no error');
RESET SESSION AUTHORIZATION;

SET LOCAL SESSION AUTHORIZATION sec_gate;
SET LOCAL ROLE pgcall_user;
SELECT set_config('request.jwt.claims', '{"sub": "bob", "role": "pgcall_user"}', true);
SELECT is(pgcall.current_user_id(), 'bob', 'an authenticator login (member of pgcall_authn) is trusted');
SELECT is(pgcall.call_get((SELECT id FROM c))->>'id', (SELECT id::text FROM c), 'and bob reads his call');
RESET ROLE;
RESET SESSION AUTHORIZATION;

-- 2. No base table of calls is readable by end-user or admin roles, so
--    EXPLAIN (ANALYZE) cannot count what row-level security hides.
SET LOCAL SESSION AUTHORIZATION sec_mallory;
SELECT set_config('request.jwt.claims', '', true);
SELECT throws_ok('EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM pgcall.call WHERE id = ''00000000-0000-0000-0000-000000000000''',
                 '42501', NULL, 'EXPLAIN ANALYZE over pgcall.call is refused');
SELECT throws_ok('SELECT count(*) FROM pgcall.participant WHERE user_id = ''bob''', '42501', NULL, 'participant is not readable');
SELECT throws_ok('SELECT count(*) FROM pgcall.participant_session', '42501', NULL, 'participant_session is not readable');
SELECT throws_ok('SELECT count(*) FROM pgcall.event', '42501', NULL, 'event is not readable');
SELECT throws_ok('SELECT count(*) FROM pgcall.preference', '42501', NULL, 'preference is not readable');
RESET SESSION AUTHORIZATION;
SELECT is(ARRAY(SELECT DISTINCT grantee::regrole::text || ' ' || c.relname
                  FROM pg_class c, aclexplode(c.relacl) a
                 WHERE c.relnamespace = 'pgcall'::regnamespace
                   AND c.relname IN ('call', 'participant', 'participant_session', 'event', 'preference', 'secret')
                   AND a.grantee IN ('pgcall_anon'::regrole, 'pgcall_user'::regrole, 'pgcall_backend'::regrole,
                                     'pgcall_admin'::regrole, 0)
                 ORDER BY 1),
          ARRAY[]::text[], 'no application role has any privilege on the call tables');

-- 3. No lock pgcall takes can be taken by application roles.
SET LOCAL SESSION AUTHORIZATION sec_mallory;
SELECT throws_ok('LOCK TABLE pgcall.event_id_seq IN EXCLUSIVE MODE', '42809', NULL, 'the event lock''s sequence cannot be LOCKed');
SELECT throws_ok('SELECT nextval(''pgcall.event_id_seq'')', '42501', NULL, 'nor advanced');
SELECT throws_ok('SELECT setval(''pgcall.event_id_seq'', 1)', '42501', NULL, 'nor set');
SELECT throws_ok('LOCK TABLE pgcall.call IN SHARE MODE', '42501', NULL, 'the call table cannot be LOCKed');
RESET SESSION AUTHORIZATION;
-- Run a full call in this transaction and look at the locks it holds:
-- none is an advisory lock (any role can take any advisory key).
SELECT set_config('role', 'pgcall_user', true);
SELECT set_config('request.jwt.claims', '{"sub": "carol", "role": "pgcall_user"}', true);
SELECT lives_ok('SELECT pgcall.call_session(''dave'', ''video'')', 'carol calls dave');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'), 0,
          'a call takes no advisory lock');

-- The event channel's name is a secret: LISTEN needs no privilege.
SET LOCAL SESSION AUTHORIZATION sec_mallory;
SELECT throws_ok('SELECT name FROM pgcall.event_channel', '42501', NULL, 'the event channel''s name is not readable');
SELECT throws_ok('SELECT pgcall.bridge_listen()', '42501', NULL, 'nor can she listen through the bridge''s function');
RESET SESSION AUTHORIZATION;
SELECT matches((SELECT name FROM pgcall.event_channel), '^pgcall_events_[0-9a-f]{32}$', 'the channel has a random name');

-- 4. The schema is the extension's own: a member of it, owned by the
--    installing superuser, not writable by others.
SELECT is((SELECT e.extname::text FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
            WHERE d.classid = 'pg_namespace'::regclass AND d.objid = 'pgcall'::regnamespace AND d.deptype = 'e'),
          'pgcall', 'schema pgcall is a member of the extension');
SELECT ok((SELECT rolsuper FROM pg_roles r JOIN pg_namespace n ON n.nspowner = r.oid WHERE n.nspname = 'pgcall'),
          'schema pgcall is owned by a superuser');
SELECT ok(NOT has_schema_privilege('pgcall_admin', 'pgcall', 'CREATE'), 'no pgcall role may create objects in it');

SELECT * FROM finish();
ROLLBACK;
