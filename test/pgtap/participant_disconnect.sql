-- Participants whose sockets went away (extension/disconnect.c): who may
-- run the sweep, the settings' bounds, and the rules a regress test does
-- not show (joining again starts afresh, a removed participant is dropped).
BEGIN;
SELECT pgcall.event_types() LIMIT 1;	-- load the library: its settings exist
SELECT plan(25);

\ir include/roles.psql
CREATE FUNCTION pg_temp.outcome(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.outcome(text) TO PUBLIC;
CREATE FUNCTION pg_temp.away(u text, secs integer) RETURNS void LANGUAGE sql AS $$
    UPDATE pgcall.participant_disconnect SET since = now() - make_interval(secs => secs)
     WHERE user_id = u
$$;

-- Only the bridge runs the sweep; nobody calls participant_connection.
SELECT ok(has_function_privilege('pgcall_bridge', 'pgcall.participant_disconnect_sweep()', 'EXECUTE'),
          'the bridge may run the sweep');
SELECT ok(NOT has_function_privilege(r, 'pgcall.participant_disconnect_sweep()', 'EXECUTE'),
          r || ' may not run the sweep')
  FROM unnest(ARRAY['pgcall_anon', 'pgcall_user', 'pgcall_backend', 'pgcall_admin']) AS r;
SELECT ok(NOT has_function_privilege(r, 'pgcall.participant_connection(text)', 'EXECUTE'),
          r || ' may not report a user''s sockets')
  FROM unnest(ARRAY['pgcall_anon', 'pgcall_user', 'pgcall_backend', 'pgcall_admin', 'pgcall_bridge']) AS r;
SELECT ok(NOT has_table_privilege(r, 'pgcall.participant_disconnect', 'SELECT, INSERT, UPDATE, DELETE'),
          r || ' may not read or write the records')
  FROM unnest(ARRAY['pgcall_anon', 'pgcall_user', 'pgcall_backend', 'pgcall_admin', 'pgcall_bridge']) AS r;

-- The settings: bounded, and only a superuser changes them.
SELECT throws_ok($$SET LOCAL pgcall.disconnect_grace = -1$$, '22023', NULL, 'no negative grace');
SELECT throws_ok($$SET LOCAL pgcall.disconnect_leave_after = 86401$$, '22023', NULL, 'leave_after at most a day');
SET LOCAL ROLE pgcall_user;
SELECT is(pg_temp.outcome($$SET LOCAL pgcall.disconnect_leave_after = 0$$), '42501',
          'an end user cannot keep the absent in calls');
RESET ROLE;

SELECT pgcall.bridge_heartbeat('00000000-0000-0000-0000-0000000000d1');
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000d1', u, 1)
  FROM unnest(ARRAY['tap-ann', 'tap-ben', 'tap-cat']) AS u;
SELECT pg_temp.act('tap-ann');
CREATE TEMP TABLE g AS SELECT (pgcall.call_start(ARRAY['tap-ben', 'tap-cat'])->'call'->>'id')::uuid AS id;
SELECT pg_temp.act('tap-ben');
SELECT pgcall.call_accept((SELECT id FROM g)) IS NOT NULL;
SELECT pg_temp.act('tap-cat');
SELECT pgcall.call_accept((SELECT id FROM g)) IS NOT NULL;

-- Joining again after going away (over HTTP, with no socket) starts afresh.
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000d1', 'tap-cat', 0);
SELECT is((SELECT count(*)::int FROM pgcall.participant_disconnect WHERE user_id = 'tap-cat'), 1,
          'her last socket closing is recorded');
-- (one transaction has one now(): the record is dated back to tell the
-- joins apart, as two requests would be)
UPDATE pgcall.participant_disconnect SET joined_at = joined_at - interval '1 minute';
SELECT pg_temp.act('tap-cat');
SELECT pgcall.call_leave((SELECT id FROM g)) IS NOT NULL;
SELECT pgcall.call_join((SELECT id FROM g)) IS NOT NULL;
SELECT pg_temp.away('tap-cat', 3600);
SELECT is(pgcall.participant_disconnect_sweep(), 0, 'the sweep does nothing to someone who joined since');
SELECT is((SELECT status FROM pgcall.participant WHERE call_id = (SELECT id FROM g) AND user_id = 'tap-cat'),
          'joined', 'she stays in the call');
SELECT is((SELECT count(*)::int FROM pgcall.participant_disconnect), 0, 'and her record is gone');

-- Removed by an admin while away: the record goes with no word.
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000d1', 'tap-ben', 0);
SELECT pg_temp.away('tap-ben', 10);
SELECT is(pgcall.participant_disconnect_sweep(), 1, 'the others are told he is away');
SELECT pgcall.admin_remove_participant((SELECT id FROM g), 'tap-ben', NULL, NULL) IS NOT NULL;
SELECT is(pgcall.participant_disconnect_sweep(), 0, 'a removed participant is no longer acted on');
SELECT is((SELECT count(*)::int FROM pgcall.participant_disconnect), 0, 'nor recorded');

SELECT * FROM finish();
ROLLBACK;
