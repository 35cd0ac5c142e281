-- admin_calls: the dashboard's lists of live and ended calls, for administrators only, pseudonymous when asked.
BEGIN;
SELECT plan(20);

\ir include/roles.psql
CREATE FUNCTION pg_temp.ids(j jsonb) RETURNS uuid[] LANGUAGE sql
    AS $$ SELECT COALESCE(array_agg((c->>'id')::uuid ORDER BY n), '{}') FROM jsonb_array_elements(j->'calls') WITH ORDINALITY x(c, n) $$;

-- Three calls: ringing (alice -> bob), active (carol + dan), and one ended
-- (erin -> fay, cancelled); plus one still marked ringing past its deadline.
SELECT pg_temp.act('alice');
CREATE TEMP TABLE ringing AS SELECT (pgcall.call_start(ARRAY['bob'])->'call'->>'id')::uuid AS id;
SELECT pg_temp.act('carol');
CREATE TEMP TABLE active AS SELECT (pgcall.call_start(ARRAY['dan'], 'video')->'call'->>'id')::uuid AS id;
SELECT pg_temp.act('dan');
SELECT pgcall.call_accept((SELECT id FROM active)) IS NOT NULL AS answered;
SELECT pg_temp.act('erin');
CREATE TEMP TABLE ended AS SELECT (pgcall.call_start(ARRAY['fay'])->'call'->>'id')::uuid AS id;
SELECT pgcall.call_cancel((SELECT id FROM ended)) IS NOT NULL AS cancelled;
SELECT pg_temp.act('gus');
CREATE TEMP TABLE overdue AS SELECT (pgcall.call_start(ARRAY['hal'])->'call'->>'id')::uuid AS id;
UPDATE pgcall.call SET ring_deadline = now() - interval '1 s', created_at = now() - interval '2 min'
 WHERE id = (SELECT id FROM overdue);
UPDATE pgcall.participant SET ring_deadline = now() - interval '1 s' WHERE call_id = (SELECT id FROM overdue);
UPDATE pgcall.call SET created_at = now() - interval '1 min' WHERE id = (SELECT id FROM ringing);
SELECT pg_temp.act('');
GRANT SELECT ON ringing, active, ended, overdue TO PUBLIC;

-- Not for end users or trusted backends.
SELECT pg_temp.as_user('alice');
SELECT throws_ok($$SELECT pgcall.admin_calls()$$, '42501', NULL, 'an end user cannot list calls');
SELECT throws_ok($$SELECT pgcall.rpc('pgcall', 'admin_calls', '{}')$$, '42501', NULL, 'nor through rpc');
RESET ROLE;
SET LOCAL ROLE pgcall_backend;
SELECT throws_ok($$SELECT pgcall.admin_calls()$$, '42501', NULL, 'nor a trusted backend');
RESET ROLE;
-- A grant made by mistake does not open it: the role is checked again.
GRANT EXECUTE ON FUNCTION pgcall.admin_calls(text, integer) TO pgcall_user;
SELECT pg_temp.as_user('alice');
SELECT throws_ok($$SELECT pgcall.admin_calls()$$, 'P403F', 'only administrators can do this',
                 'granted by mistake, still refused');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION pgcall.admin_calls(text, integer) FROM pgcall_user;

SELECT pg_temp.as_admin();
CREATE TEMP TABLE live AS SELECT pgcall.admin_calls() AS j;
SELECT is((SELECT pg_temp.ids(j) FROM live), ARRAY[(SELECT id FROM active), (SELECT id FROM ringing)],
          'live: the active and the ringing call, newest first; not the ended one, nor one rung out');
SELECT is((SELECT j->>'pseudonymous' FROM live), 'false', 'pseudonyms off');
SELECT is((SELECT (j->'calls'->0) - 'id' - 'created_at' - 'answered_at' FROM live),
          jsonb_build_object('kind', 'direct', 'type', 'video', 'title', NULL, 'room_id', NULL, 'created_by', 'carol',
                             'status', 'active', 'end_reason', NULL, 'ended_at', NULL,
                             'participants', jsonb_build_array(
                                 jsonb_build_object('user_id', 'carol', 'role', 'caller', 'status', 'joined'),
                                 jsonb_build_object('user_id', 'dan', 'role', 'callee', 'status', 'joined'))),
          'the active call with its two people in it');
SELECT is((SELECT j->'calls'->1->'participants'->1->>'status' FROM live), 'invited', 'bob is invited, not answered yet');
CREATE TEMP TABLE done AS SELECT pgcall.admin_calls('ended') AS j;
SELECT is((SELECT pg_temp.ids(j) FROM done), ARRAY[(SELECT id FROM ended)],
          'ended: the cancelled call (the overdue one is not recorded as ended yet)');
SELECT is((SELECT j->'calls'->0->>'end_reason' FROM done), 'cancelled', 'with its end reason');
SELECT is(jsonb_array_length(pgcall.admin_calls('live', 1)->'calls'), 1, 'limit is honoured');
SELECT is(pgcall.admin_calls(NULL, NULL)->'calls', (SELECT j->'calls' FROM live), 'NULL arguments take the defaults');

-- Bad arguments.
SELECT throws_ok($$SELECT pgcall.admin_calls('all')$$, 'P400M', 'status must be ''live'' or ''ended''', 'an unknown status');
SELECT throws_ok($$SELECT pgcall.admin_calls('LIVE')$$, 'P400M', NULL, 'status is case sensitive');
SELECT throws_ok($$SELECT pgcall.admin_calls('live', 0)$$, 'P400P', 'limit must be between 1 and 500', 'limit 0');
SELECT throws_ok($$SELECT pgcall.admin_calls('live', 501)$$, 'P400P', NULL, 'limit too large');
SELECT is((SELECT body::jsonb->'calls' FROM pgcall.rpc('pgcall', 'admin_calls', '{"status": "ended", "limit": 5}')),
          (SELECT j->'calls' FROM done), 'over rpc, with named arguments');
RESET ROLE;

-- Pseudonymous: people as pseudonyms, nowhere as user ids.
SELECT pgcall.set_secret('pseudonym_key', 'k1-0123456789abcdef0123456789abcdef');
CREATE TEMP TABLE ps AS SELECT pgcall.pseudonym('carol') AS carol, pgcall.pseudonym('dan') AS dan;
GRANT SELECT ON ps TO PUBLIC;
SET LOCAL pgcall.pseudonymize = on;
SELECT pg_temp.as_admin();
CREATE TEMP TABLE pl AS SELECT pgcall.admin_calls() AS j;
SELECT is((SELECT j->>'pseudonymous' FROM pl), 'true', 'pseudonymous');
SELECT is((SELECT jsonb_build_array(j->'calls'->0->>'created_by', j->'calls'->0->'participants'->0->>'user_id',
                                    j->'calls'->0->'participants'->1->>'user_id') FROM pl),
          (SELECT jsonb_build_array(carol, carol, dan) FROM ps), 'the caller and the people as pseudonyms');
SELECT ok((SELECT j::text !~ '"(alice|bob|carol|dan|erin|fay|gus|hal)"' FROM pl)
          AND pgcall.admin_calls('ended')::text !~ '"(alice|bob|carol|dan|erin|fay|gus|hal)"',
          'no user id anywhere in either list');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
