-- With pgcall.pseudonymize on, administrators name users by pseudonym only: no answer about a plain user id.
BEGIN;
SELECT plan(16);

\ir include/roles.psql
-- The SQLSTATE and message of a statement's error, or 'ok'.
CREATE FUNCTION pg_temp.outcome(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.outcome(text) TO PUBLIC;

SELECT pgcall.set_secret('pseudonym_key', 'k1-0123456789abcdef0123456789abcdef');
SELECT pg_temp.act('alice');
CREATE TEMP TABLE c AS SELECT (pgcall.conference_create('Talk', invitees => ARRAY['bob'])->'call'->>'id')::uuid AS id;
GRANT SELECT ON c TO PUBLIC;
SELECT pg_temp.act('bob');
SELECT pgcall.call_join((SELECT id FROM c)) IS NOT NULL AS joined;
SELECT pgcall.bridge_presence('00000000-0000-0000-0000-0000000000b1', 'bob', 1);
INSERT INTO pgcall.profile VALUES ('bob', 'Bob', NULL);
SELECT pg_temp.act('');

-- Off: user ids work, as before.
SET LOCAL ROLE pgcall_admin;
SELECT is((SELECT count(*)::int FROM pgcall.presence), 1, 'off: an administrator reads presence');
SELECT is((SELECT online FROM pgcall.presence(ARRAY['bob'])), true, 'and asks it by user id');
SELECT is((SELECT count(*)::int FROM pgcall.user_profile), 1, 'and reads profiles');
RESET ROLE;

CREATE TEMP TABLE ps AS SELECT pgcall.pseudonym('bob') AS p;
GRANT SELECT ON ps TO PUBLIC;
SET LOCAL pgcall.pseudonymize = on;
SET LOCAL ROLE pgcall_admin;
SELECT is(pg_temp.outcome(format('SELECT pgcall.admin_remove_participant(%L, %L)', (SELECT id FROM c), 'bob')),
          'P403G administrators name participants by pseudonym while pgcall.pseudonymize is on',
          'on: removing by the user id of someone in the call is refused');
SELECT is(pg_temp.outcome(format('SELECT pgcall.admin_remove_participant(%L, %L)', (SELECT id FROM c), 'zed')),
          pg_temp.outcome(format('SELECT pgcall.admin_remove_participant(%L, %L)', (SELECT id FROM c), 'bob')),
          'with the same answer as for someone not in it: no oracle');
SELECT is(pg_temp.outcome(format('SELECT pgcall.admin_remove_participant(%L, %L)', gen_random_uuid(), 'bob')),
          pg_temp.outcome(format('SELECT pgcall.admin_remove_participant(%L, %L)', (SELECT id FROM c), 'bob')),
          'nor about whether the call exists');
SELECT throws_ok($$SELECT * FROM pgcall.presence(ARRAY['bob'])$$, 'P403G',
                 'administrators cannot read presence by user id while pgcall.pseudonymize is on',
                 'presence by user id is refused');
SELECT is((SELECT count(*)::int FROM pgcall.presence), 0, 'the presence table shows nothing');
SELECT is((SELECT count(*)::int FROM pgcall.profile), 0, 'nor the profile table');
SELECT is((SELECT count(*)::int FROM pgcall.user_profile), 0, 'nor the profile view');
-- An administrator can name any user as the current one: then too, nothing about plain ids.
SELECT set_config('request.jwt.claims', '{"sub": "alice"}', true);
SELECT throws_ok(format('SELECT pgcall.call_get(%L)', (SELECT id FROM c)), 'P403G',
                 'administrators cannot read calls with call_get while pgcall.pseudonymize is on',
                 'call_get as alice, her own call, is refused');
SELECT throws_ok(format('SELECT pgcall.is_participant(%L)', (SELECT id FROM c)), 'P403G', NULL,
                 'and so is asking whether alice takes part');
SELECT set_config('request.jwt.claims', '', true);
SELECT is((SELECT j->>'already_removed' FROM (SELECT pgcall.admin_remove_participant((SELECT id FROM c),
              pseudonym => (SELECT p FROM ps)) AS j) r), 'false',
          'a participant is still removed by pseudonym');
RESET ROLE;

-- Users and trusted backends are not administrators.
SET LOCAL ROLE pgcall_backend;
SELECT pg_temp.act('alice');
SELECT is((SELECT online FROM pgcall.presence(ARRAY['bob'])), true, 'on: a backend still asks presence by user id');
RESET ROLE;
SET LOCAL ROLE pgcall_user;
SELECT is((SELECT online FROM pgcall.presence(ARRAY['bob'])), false,
          'a user asks too, and the presence policy hides bob (removed, he shares no call with alice)');
SELECT is((SELECT display_name FROM pgcall.user_profile WHERE user_id = 'bob'), 'Bob', 'and reads profiles');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
