-- Fan-out bounds: how many people one request may invite, and how many a call may ring in all.
BEGIN;
SELECT plan(19);

\ir include/roles.psql
CREATE FUNCTION pg_temp.people(prefix text, n integer) RETURNS text[] LANGUAGE sql
    AS $$ SELECT array_agg(prefix || i ORDER BY i) FROM generate_series(1, n) i $$;

LOAD 'pgcall';
SELECT is(current_setting('pgcall.max_invitees'), '50', 'at most 50 invitees by default, the size of the seeds'' group calls');
SET LOCAL ROLE pgcall_user;
SELECT throws_ok($$SET pgcall.max_invitees = 1000$$, '42501', NULL, 'an end user cannot raise it');
RESET ROLE;

-- One request.
SELECT pg_temp.act('alice');
SELECT throws_ok($$SELECT pgcall.call_start(pg_temp.people('u', 1000))$$, 'P400V',
                 'too many invitees: 1000, at most 50 can be invited at once',
                 'call_start to 1000 people is refused');
SELECT throws_ok($$SELECT pgcall.call_start(pg_temp.people('u', 51))$$, 'P400V', NULL, 'and to 51');
SELECT throws_ok($$SELECT pgcall.conference_create('Big', invitees => pg_temp.people('u', 51))$$, 'P400V', NULL,
                 'conference_create''s invitees too');
SELECT is((SELECT count(*)::int FROM pgcall.participant), 0, 'the refusals wrote nothing');
SELECT is((SELECT count(*)::int FROM pgcall.rate_limit WHERE user_id = 'alice'), 0, 'nor counted anything');
CREATE TEMP TABLE g AS
    SELECT (pgcall.call_start(pg_temp.people('g', 50))->'call'->>'id')::uuid AS id;
SELECT is((SELECT count(*)::int FROM pgcall.participant WHERE call_id = (SELECT id FROM g)), 51,
          'fifty invitees: 51 participant rows');

-- A call in all: invites one after the other reach no further than one call_start.
SELECT pg_temp.act('g1');
SELECT lives_ok(format('SELECT pgcall.call_accept(%L)', (SELECT id FROM g)), 'an invitee answers');
SELECT throws_ok(format('SELECT pgcall.call_invite(%L, ARRAY[%L])', (SELECT id FROM g), 'late'), 'P409E',
                 'call has already rung 50 people; 1 more would pass the 50 allowed',
                 'a call that rang 50 people rings nobody more');
SELECT throws_ok(format('SELECT pgcall.call_invite(%L, %L)', (SELECT id FROM g), pg_temp.people('x', 51)), 'P400V', NULL,
                 'call_invite with 51 people is refused as such');
SET LOCAL pgcall.max_invitees = 53;
SELECT lives_ok(format('SELECT pgcall.call_invite(%L, %L)', (SELECT id FROM g), pg_temp.people('y', 3)),
                'with room for three more, three are rung');
SELECT throws_ok(format('SELECT pgcall.call_invite(%L, ARRAY[%L])', (SELECT id FROM g), 'z'), 'P409E', NULL,
                 'and then nobody');
RESET pgcall.max_invitees;

-- A conference counts those it rang, not those who joined it on their own.
SET LOCAL pgcall.max_invitees = 2;
SELECT pg_temp.act('host');
CREATE TEMP TABLE c AS
    SELECT (pgcall.conference_create('Open', is_public => true, invitees => ARRAY['i1'])->'call'->>'id')::uuid AS id;
SELECT pg_temp.act('walk-in');
SELECT lives_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'someone joins the public conference');
SELECT pg_temp.act('host');
SELECT lives_ok(format('SELECT pgcall.call_invite(%L, ARRAY[%L])', (SELECT id FROM c), 'i2'),
                'the host may still ring a second person');
SELECT throws_ok(format('SELECT pgcall.call_invite(%L, ARRAY[%L])', (SELECT id FROM c), 'i3'), 'P409E', NULL,
                 'but not a third');
RESET pgcall.max_invitees;

-- call_invite counts against pgcall.rate_limit_invites, one per person.
SET LOCAL pgcall.rate_limit_invites = 4;
SELECT pg_temp.act('inviter');
CREATE TEMP TABLE r AS SELECT (pgcall.conference_create('Team')->'call'->>'id')::uuid AS id;
SELECT lives_ok(format('SELECT pgcall.call_invite(%L, %L)', (SELECT id FROM r), pg_temp.people('r', 3)), 'three invited');
SELECT throws_ok(format('SELECT pgcall.call_invite(%L, %L)', (SELECT id FROM r), pg_temp.people('s', 2)), 'P429A',
                 'rate limit exceeded: at most 4 people invited to calls in progress per hour, retry in 3600 seconds',
                 'two more would pass four an hour');
SELECT is((SELECT hits FROM pgcall.rate_limit WHERE user_id = 'inviter' AND action = 'invite'), 3,
          'three counted; the refused request counted nothing');

SELECT * FROM finish();
ROLLBACK;
