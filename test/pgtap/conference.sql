-- Conference calls (seed 002): create, public and private joins, capacity, leave, re-join, my calls, tokens.
BEGIN;
SELECT plan(57);

-- Read pgcall's tables as the superuser running the test: no end-user or
-- admin role may read them directly (security_sql.sql).
CREATE FUNCTION pg_temp.peek(q text) RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE r text;
BEGIN
    EXECUTE q INTO r;
    RETURN r;
END $$;

\ir include/roles.psql
-- One participant of a call object.
CREATE FUNCTION pg_temp.part(j jsonb, u text) RETURNS jsonb LANGUAGE sql
    AS $$ SELECT p FROM jsonb_array_elements(j->'participants') p WHERE p->>'user_id' = u $$;
-- A trusted backend acting for users, not a superuser (who may read any call).
SET LOCAL ROLE pgcall_backend;

-- Creating: the refusals first.
SELECT pg_temp.act('host');
SELECT throws_ok($$SELECT pgcall.conference_create(NULL)$$, 'P400R', 'title is required', 'a conference needs a title');
SELECT throws_ok($$SELECT pgcall.conference_create('   ')$$, 'P400S', 'title must not be empty', 'a blank title');
SELECT throws_ok(format('SELECT pgcall.conference_create(%L)', repeat('t', 201)), 'P400S',
                 'title must be at most 200 bytes long', 'a title too long');
SELECT throws_ok($$SELECT pgcall.conference_create(E'two\nlines')$$, 'P400S',
                 'title must not contain control characters', 'a title on two lines');
SELECT throws_ok(format('SELECT pgcall.conference_create(%L, %L)', 'Town hall', repeat('d', 4001)), 'P400S',
                 'description must be at most 4000 bytes long', 'a description too long');
SELECT throws_ok($$SELECT pgcall.conference_create('Town hall', max_participants => 1)$$, 'P400O',
                 'max_participants must be between 2 and 10000', 'max_participants too small');
SELECT throws_ok($$SELECT pgcall.conference_create('Town hall', type => 'hologram')$$, 'P400L', NULL, 'unknown media type');
SELECT throws_ok($$SELECT pgcall.conference_create('Town hall', invitees => ARRAY['host'])$$, 'P400O',
                 'you cannot invite yourself', 'the host cannot invite themselves');

-- A public conference for three at once.
CREATE TEMP TABLE pub AS
    SELECT pgcall.conference_create('Town hall', E'Quarterly\nnumbers', true, 3) AS j;
CREATE TEMP TABLE c AS SELECT (j->'call'->>'id')::uuid AS id FROM pub;
SELECT is((SELECT j->'call'->>'kind' FROM pub), 'conference', 'a conference');
SELECT is((SELECT j->'call'->>'status' FROM pub), 'active', 'it starts active');
SELECT is((SELECT j->'call'->>'media' FROM pub), 'video', 'video by default');
SELECT is((SELECT j->'call'->>'title' FROM pub), 'Town hall', 'the title is kept');
SELECT is((SELECT j->'call'->>'description' FROM pub), E'Quarterly\nnumbers', 'the description may have line breaks');
SELECT is((SELECT j->'call'->>'is_public' FROM pub), 'true', 'it is public');
SELECT is((SELECT j->'call'->>'max_participants' FROM pub), '3', 'max_participants is kept');
SELECT is((SELECT jsonb_array_length(j->'call'->'participants') FROM pub), 1, 'it has one participant');
SELECT is((SELECT pg_temp.part(j->'call', 'host')->>'role' || '/' || (pg_temp.part(j->'call', 'host')->>'status') FROM pub),
          'host/joined', 'the host, in it');
SELECT is((SELECT j->'agora' FROM pub), 'null'::jsonb, 'no token without Agora');

-- Anyone may join a public conference, as a member.
SELECT pg_temp.act('ann');
SELECT is(pgcall.conferences_public()->0->>'id', (SELECT id::text FROM c), 'a stranger finds it among public conferences');
SELECT is(pgcall.conferences_public()->0->>'joined_count', '1', 'with one person in it');
SELECT is(pgcall.call_join((SELECT id FROM c))->'call'->>'status', 'active', 'a stranger joins a public conference');
SELECT is(pg_temp.peek($$SELECT role || '/' || status FROM pgcall.participant WHERE user_id = 'ann'$$), 'member/joined',
          'she joined as a member');
SELECT is(pgcall.call_join((SELECT id FROM c))->'call'->>'status', 'active', 'joining again is a no-op');
SELECT pg_temp.act('ben');
SELECT lives_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'ben takes the third place');
SELECT pg_temp.act('cid');
SELECT throws_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'P409D', 'call is full',
                 'a fourth person finds it full');
SELECT pg_temp.act('host');
SELECT is(pg_temp.part(pgcall.call_get((SELECT id FROM c)), 'cid'), NULL,
          'the refused stranger did not become a participant');

-- Leave and re-join; every stretch is kept.
SELECT pg_temp.act('ann');
SELECT is(pgcall.call_leave((SELECT id FROM c))->'call'->>'status', 'active', 'ann leaves, the conference goes on');
-- (her first stretch happened ten minutes ago)
RESET ROLE;
UPDATE pgcall.participant_session SET joined_at = joined_at - interval '10 min', left_at = left_at - interval '4 min'
 WHERE user_id = 'ann';
SET LOCAL ROLE pgcall_backend;
SELECT pg_temp.act('cid');
SELECT lives_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'cid gets the free place');
SELECT pg_temp.act('ann');
SELECT throws_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'P409D', 'call is full',
                 'ann cannot come back while it is full');
SELECT pg_temp.act('ben');
SELECT lives_ok(format('SELECT pgcall.call_leave(%L)', (SELECT id FROM c)), 'ben leaves');
SELECT pg_temp.act('ann');
SELECT lives_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'ann re-joins');
SELECT is(pg_temp.peek($$SELECT count(*) FROM pgcall.participant_session WHERE user_id = 'ann'$$), '2', 'she has two stretches');
SELECT is(pg_temp.peek($$SELECT count(*) FROM pgcall.participant_session WHERE user_id = 'ann' AND left_at IS NULL$$), '1',
          'the second one still open');

-- My calls, with counts and a status filter.
SELECT is(jsonb_array_length(pgcall.calls_mine()), 1, 'ann has one call');
SELECT is(pgcall.calls_mine()->0->>'role', 'member', 'in which she is a member');
SELECT is(pgcall.calls_mine()->0->>'participant_count', '4', 'four people have been in it');
SELECT is(pgcall.calls_mine()->0->>'joined_count', '3', 'three are in it now');
SELECT is(jsonb_array_length(pgcall.calls_mine('ended')), 0, 'none of her calls has ended');
SELECT is(jsonb_array_length(pgcall.calls_mine('ACTIVE')), 1, 'the filter ignores case');
SELECT throws_ok($$SELECT pgcall.calls_mine('paused')$$, 'P400M',
                 'call status "paused" is not one of ringing, active, ended', 'an unknown status filter');

-- A private conference: only invitees get in.
SELECT pg_temp.act('host');
CREATE TEMP TABLE priv AS
    SELECT pgcall.conference_create('Board', is_public => false, type => 'audio', invitees => ARRAY['dee']) AS j;
CREATE TEMP TABLE p AS SELECT (j->'call'->>'id')::uuid AS id FROM priv;
SELECT is((SELECT pg_temp.part(j->'call', 'dee')->>'status' FROM priv), 'invited', 'the invitee is rung');
SELECT is((SELECT j->'call'->>'media' FROM priv), 'audio', 'an audio conference');
SELECT is(jsonb_array_length(pgcall.calls_mine()), 2, 'the host has both conferences');
SELECT is(pgcall.calls_mine()->0->>'role', 'host', 'and hosts them');
SELECT pg_temp.act('eve');
SELECT is(jsonb_array_length(pgcall.conferences_public()), 1, 'the private conference is not listed');
SELECT throws_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM p)), 'P403C', 'this conference is private',
                 'a stranger cannot join a private conference');
SELECT pg_temp.act('dee');
SELECT is(pgcall.call_join((SELECT id FROM p))->'call'->>'status', 'active', 'the invitee can');
SELECT throws_ok(format('SELECT pgcall.call_invite(%L, ARRAY[%L])', (SELECT id FROM p), 'eve'), 'P403D',
                 'only the host can invite people to a private conference', 'a member cannot invite to a private one');
SELECT pg_temp.act('host');
SELECT is(pg_temp.part(pgcall.call_invite((SELECT id FROM p), ARRAY['eve'])->'call', 'eve')->>'status',
          'invited', 'the host invites eve');
SELECT throws_ok(format('SELECT pgcall.call_invite(%L, ARRAY[%L])', (SELECT id FROM p), 'dee'), 'P400O',
                 '"dee" is already a participant of this call', 'someone already in it is not invited again');
SELECT pg_temp.act('eve');
SELECT lives_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM p)), 'once invited, eve joins');

-- In a public conference anyone in it may invite.
SELECT pg_temp.act('cid');
SELECT is(pg_temp.part(pgcall.call_invite((SELECT id FROM c), ARRAY['gus'])->'call', 'gus')->>'status', 'invited',
          'a member of the public conference invites gus');

-- Other calls are not open to strangers.
SELECT pg_temp.act('host');
CREATE TEMP TABLE g AS SELECT (pgcall.call_start(ARRAY['ann', 'ben'])->'call'->>'id')::uuid AS id;
SELECT pg_temp.act('eve');
SELECT throws_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM g)), 'P403B',
                 'you are not a participant of this call', 'a group call is not a conference');

-- Tokens only for participants.
RESET ROLE;
SET LOCAL pgcall.agora_app_id = '970ca35de60c44645bbae8a215061b33';
SELECT pgcall.set_secret('agora_app_certificate', '5cfd2fd1755d40ecb72977518be15d3b');
SET LOCAL ROLE pgcall_backend;
SELECT pg_temp.act('fay');
SELECT throws_ok(format('SELECT pgcall.call_media_session(%L)', (SELECT id FROM p)), 'P403B', NULL,
                 'no token for a stranger, even for a public conference');
SELECT pg_temp.act('dee');
SELECT is(pgcall.agora_token_inspect(pgcall.call_media_session((SELECT id FROM p))->'agora'->>'token')->'services'->0->>'channel',
          'call-' || (SELECT id FROM p), 'a participant gets a token for the conference''s channel');

-- It ends when the last one leaves, or when the host ends it; then nobody joins.
SELECT pg_temp.act('host');
SELECT is(pgcall.call_end((SELECT id FROM c))->'call'->>'end_reason', 'completed', 'the host ends the public conference');
SELECT pg_temp.act('fay');
SELECT throws_ok(format('SELECT pgcall.call_join(%L)', (SELECT id FROM c)), 'P409B', 'call has already ended',
                 'an ended conference cannot be joined');

SELECT * FROM finish();
ROLLBACK;
