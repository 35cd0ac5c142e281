-- Presence follows a policy (pgcall.presence_visible): by default private,
-- replaceable by the extension owner; the presence tables are unreadable.
BEGIN;
SELECT plan(40);

\ir include/roles.psql
-- What viewer reads of subject through presence(), as an end user.
CREATE FUNCTION pg_temp.seen(viewer text, subject text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    PERFORM set_config('pgcall.user_id', viewer, true);
    SET LOCAL ROLE pgcall_user;
    SELECT format('%s online=%s in_call=%s since=%s', p.user_id, p.online::text, p.in_call::text,
                  CASE WHEN p.since IS NULL THEN 'null' ELSE 'set' END)
      INTO r FROM pgcall.presence(ARRAY[subject]) p;
    RESET ROLE;
    RETURN r;
END
$$;
CREATE FUNCTION pg_temp.outcome(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.outcome(text) TO PUBLIC;

SELECT pgcall.bridge_heartbeat('00000000-0000-0000-0000-0000000000b1');
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', u, 1)
  FROM unnest(ARRAY['alice', 'bob', 'carol', 'dave', 'erin']) AS u;

-- The default policy: yourself only, until you share a live call.
SELECT is(pg_temp.seen('alice', 'alice'), 'alice online=true in_call=false since=set', 'a user sees themselves');
SELECT is(pg_temp.seen('alice', 'bob'), 'bob online=false in_call=false since=null',
          'an online stranger reads as offline');
SELECT is(pg_temp.seen('alice', 'nobody-at-all'), 'nobody-at-all online=false in_call=false since=null',
          'exactly as a user who does not exist');

SELECT pg_temp.act('alice');
CREATE TEMP TABLE c AS SELECT (pgcall.call_start(ARRAY['bob'])->'call'->>'id')::uuid AS id;
SELECT is(pg_temp.seen('alice', 'bob'), 'bob online=true in_call=false since=set', 'the caller sees whom she rings');
SELECT is(pg_temp.seen('bob', 'alice'), 'alice online=true in_call=true since=set', 'and the callee the caller (in her call)');
SELECT is(pg_temp.seen('carol', 'alice'), 'alice online=false in_call=false since=null', 'nobody else does');
SELECT pg_temp.act('bob');
SELECT pgcall.call_accept((SELECT id FROM c)) IS NOT NULL AS accepted;
SELECT is(pg_temp.seen('alice', 'bob'), 'bob online=true in_call=true since=set', 'in_call once he answered');
SELECT is(pg_temp.seen('carol', 'bob'), 'bob online=false in_call=false since=null', 'in_call is hidden from others too');

-- A declined invitation shares nothing.
SELECT pg_temp.act('carol');
CREATE TEMP TABLE d AS SELECT (pgcall.call_start(ARRAY['dave'])->'call'->>'id')::uuid AS id;
SELECT is(pg_temp.seen('carol', 'dave'), 'dave online=true in_call=false since=set', 'carol rings dave: she sees him');
SELECT pg_temp.act('dave');
SELECT pgcall.call_reject((SELECT id FROM d)) IS NOT NULL AS rejected;
SELECT is(pg_temp.seen('carol', 'dave'), 'dave online=false in_call=false since=null', 'he declined: no longer');

-- Live calls of one room share it.
SELECT pg_temp.act('carol');
SELECT pgcall.call_start(ARRAY['dave'], room_id => 'room-1') IS NOT NULL;
SELECT pg_temp.act('erin');
SELECT pgcall.call_start(ARRAY['frank'], room_id => 'room-1') IS NOT NULL;
SELECT is(pg_temp.seen('erin', 'carol'), 'carol online=true in_call=true since=set',
          'the people of two live calls of a room see each other');
SELECT is(pg_temp.seen('erin', 'alice'), 'alice online=false in_call=false since=null', 'not those of other rooms');

-- The call ends: bob is hidden again.
SELECT pg_temp.act('alice');
SELECT pgcall.call_end((SELECT id FROM c)) IS NOT NULL AS ended;
SELECT is(pg_temp.seen('alice', 'bob'), 'bob online=false in_call=false since=null', 'after the call, private again');

-- Trusted backends and administrators see everyone.
SELECT pg_temp.act('alice');
SET LOCAL ROLE pgcall_backend;
SELECT is((SELECT online FROM pgcall.presence(ARRAY['bob'])), true, 'a backend acting for alice sees bob');
RESET ROLE;
SELECT pg_temp.act('');
SET LOCAL ROLE pgcall_admin;
SELECT is((SELECT online FROM pgcall.presence(ARRAY['bob'])), true, 'so does an administrator');
RESET ROLE;
SET LOCAL ROLE pgcall_user;
SELECT is(pg_temp.outcome($$SELECT * FROM pgcall.presence(ARRAY['bob'])$$), 'P401A',
          'a user with no id is refused');
RESET ROLE;

-- Nobody but pgcall reads the presence tables or asks the policy itself.
SET LOCAL ROLE pgcall_user;
SELECT is(pg_temp.outcome('SELECT * FROM pgcall.presence'), '42501', 'users do not read the presence table');
SELECT is(pg_temp.outcome('SELECT * FROM pgcall.presence_subscription'), '42501', 'nor the subscriptions');
SELECT is(pg_temp.outcome($$SELECT pgcall.presence_visible('alice', 'bob')$$), '42501', 'nor ask the policy');
SELECT is(pg_temp.outcome($$SELECT * FROM pgcall.presence_state('bob')$$), '42501', 'nor read raw presence');
SELECT is(pg_temp.outcome($$SELECT pgcall.presence_touch('bob')$$), '42501', 'nor announce anyone');
SELECT is(pg_temp.outcome('LOCK TABLE pgcall.presence_subscription'), '42501', 'nor lock the subscriptions');
RESET ROLE;
SET LOCAL ROLE pgcall_backend;
SELECT is(pg_temp.outcome('SELECT * FROM pgcall.presence_subscription'), '42501', 'backends neither');
RESET ROLE;
SELECT ok(NOT has_table_privilege(r, 'pgcall.presence', 'SELECT'), r || ' has no SELECT on pgcall.presence')
  FROM unnest(ARRAY['pgcall_user', 'pgcall_anon', 'pgcall_backend']) AS r;
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'pgcall.presence_subscription'::regclass),
          'row-level security is on for the subscriptions');

-- Subscribing: a snapshot as presence() shows it.
SELECT pg_temp.act('alice');
SET LOCAL ROLE pgcall_user;
CREATE TEMP TABLE s AS SELECT pgcall.presence_subscribe(ARRAY['alice', 'bob', 'bob']) AS j;
RESET ROLE;
SELECT is((SELECT jsonb_path_query_array(j, '$.presence[*].online') FROM s), '[true, false]'::jsonb,
          'the snapshot follows the policy');
SELECT ok((SELECT (j->>'version')::bigint >= 0 FROM s), 'and carries the version to apply events after');
SELECT is((SELECT array_agg(subject ORDER BY subject) FROM pgcall.presence_subscription WHERE subscriber = 'alice'),
          ARRAY['alice', 'bob'], 'one subscription per subject');
SET LOCAL ROLE pgcall_user;
SELECT pgcall.presence_subscribe(ARRAY['carol']) IS NOT NULL;
RESET ROLE;
SELECT is((SELECT array_agg(subject) FROM pgcall.presence_subscription WHERE subscriber = 'alice'),
          ARRAY['carol'], 'a new subscription replaces the old');
SET LOCAL ROLE pgcall_user;
SELECT is(pg_temp.outcome($$SELECT pgcall.presence_subscribe(array_fill('x'::text, ARRAY[1001]))$$), 'P400Y',
          'more than 1000 users: P400Y');
SELECT is(pg_temp.outcome('SELECT pgcall.presence_subscribe(NULL)'), 'P400Y', 'null: P400Y');
SELECT is(pg_temp.outcome($$SELECT pgcall.presence_subscribe(ARRAY['bob', NULL])$$), 'P400I', 'a null id: P400I');
SELECT is(pg_temp.outcome($$SELECT pgcall.presence_subscribe(ARRAY[''])$$), 'P400I', 'an empty id: P400I');
RESET ROLE;
-- Each subscription takes the event lock: a user may take it so often only.
SET LOCAL pgcall.rate_limit_presence = 3;
SELECT pg_temp.act('gil');
SET LOCAL ROLE pgcall_user;
SELECT pgcall.presence_subscribe(ARRAY['bob']) IS NOT NULL FROM generate_series(1, 3);
SELECT is(pg_temp.outcome($$SELECT pgcall.presence_subscribe(ARRAY['bob'])$$), 'P429A',
          'past pgcall.rate_limit_presence: P429A');
RESET ROLE;

-- A replaced policy: the app's contacts table.
CREATE TABLE public.contacts (owner text, contact text);
INSERT INTO public.contacts VALUES ('alice', 'carol');
CREATE OR REPLACE FUNCTION pgcall.presence_visible(viewer text, subject text)
RETURNS boolean LANGUAGE sql STABLE
AS $$ SELECT viewer = subject OR EXISTS (SELECT 1 FROM public.contacts c WHERE c.owner = viewer AND c.contact = subject) $$;
SELECT is(pg_temp.seen('alice', 'carol'), 'carol online=true in_call=true since=set', 'replaced: a contact is seen');
SELECT is(pg_temp.seen('carol', 'alice'), 'alice online=false in_call=false since=null', 'but not the other way');
SELECT is(pg_temp.seen('erin', 'carol'), 'carol online=false in_call=false since=null',
          'and sharing a room no longer counts');
SELECT ok((SELECT EXISTS (SELECT FROM pg_depend WHERE objid = 'pgcall.presence_visible(text,text)'::regprocedure
                                                  AND deptype = 'e')),
          'the replaced policy stays a member of the extension');

SELECT * FROM finish();
ROLLBACK;
