-- Pseudonymous analytics: a stable keyed pseudonym per user, shown to administrators instead of user ids.
BEGIN;
SELECT plan(26);

CREATE EXTENSION pgcrypto;
\ir include/roles.psql
CREATE FUNCTION pg_temp.expected(u text, key text) RETURNS text LANGUAGE sql
    AS $$ SELECT 'u_' || left(encode(hmac(u, key, 'sha256'), 'hex'), 20) $$;

-- The key is a secret like the others.
SELECT throws_ok($$SELECT pgcall.pseudonym('alice')$$, 'P503C', 'pseudonyms are not configured', 'no key, no pseudonym');
SELECT throws_ok($$SELECT pgcall.set_secret('pseudonym_key', 'short')$$, 'P400J',
                 'pseudonym_key must be 16 to 512 bytes long', 'a key too short');
SELECT lives_ok($$SELECT pgcall.set_secret('pseudonym_key', 'k1-0123456789abcdef0123456789abcdef')$$, 'a key is set');
SELECT is(pgcall.secret_is_set('pseudonym_key'), true, 'and known to be set');

SELECT matches(pgcall.pseudonym('alice'), '^u_[0-9a-f]{20}$', 'a pseudonym is u_ and 20 hexadecimal digits');
SELECT is(pgcall.pseudonym('alice'), pg_temp.expected('alice', 'k1-0123456789abcdef0123456789abcdef'),
          'the first 80 bits of HMAC-SHA256(key, user id)');
SELECT is(pgcall.pseudonym('alice'), pgcall.pseudonym('alice'), 'stable');
SELECT isnt(pgcall.pseudonym('alice'), pgcall.pseudonym('bob'), 'different users, different pseudonyms');
SELECT pgcall.set_secret('pseudonym_key', 'k2-0123456789abcdef0123456789abcdef');
SELECT is(pgcall.pseudonym('alice'), pg_temp.expected('alice', 'k2-0123456789abcdef0123456789abcdef'),
          'a new key gives new pseudonyms');

-- Only trusted backends may compute them: whoever can, can reverse them by trying ids.
SET LOCAL ROLE pgcall_backend;
SELECT lives_ok($$SELECT pgcall.pseudonym('alice')$$, 'a trusted backend may');
RESET ROLE;
SET LOCAL ROLE pgcall_admin;
SELECT throws_ok($$SELECT pgcall.pseudonym('alice')$$, '42501', NULL, 'an administrator may not');
RESET ROLE;
SET LOCAL ROLE pgcall_user;
SELECT throws_ok($$SELECT pgcall.pseudonym('alice')$$, '42501', NULL, 'nor an end user');
RESET ROLE;

-- A conference of alice's with bob in it.
SELECT pg_temp.act('alice');
CREATE TEMP TABLE c AS SELECT (pgcall.conference_create('Private talk', invitees => ARRAY['bob'])->'call'->>'id')::uuid AS id;
SELECT pg_temp.act('bob');
SELECT pgcall.call_join((SELECT id FROM c)) IS NOT NULL AS joined;
SELECT pg_temp.act('');
GRANT SELECT ON c TO PUBLIC;

-- Off: administrators see user ids, and may read the tables.
SET LOCAL ROLE pgcall_admin;
SELECT is(pgcall.admin_call_details((SELECT id FROM c))->'call'->>'created_by', 'alice', 'off: the host by user id');
SELECT throws_ok('SELECT count(*) FROM pgcall.participant', '42501', NULL, 'off: an administrator reads through admin functions only');
RESET ROLE;

-- On: pseudonyms everywhere an administrator looks.
SET LOCAL pgcall.pseudonymize = on;
SET LOCAL ROLE pgcall_admin;
CREATE TEMP TABLE det AS SELECT pgcall.admin_call_details((SELECT id FROM c)) AS j;
SELECT is((SELECT j->>'pseudonymous' FROM det), 'true', 'the report says it is pseudonymous');
SELECT is((SELECT j->'call'->>'created_by' FROM det), pg_temp.expected('alice', 'k2-0123456789abcdef0123456789abcdef'),
          'the host by pseudonym');
SELECT is((SELECT array_agg(p->>'user_id' ORDER BY p->>'user_id') FROM det, jsonb_array_elements(j->'participants') p),
          (SELECT array_agg(pg_temp.expected(u, 'k2-0123456789abcdef0123456789abcdef') ORDER BY
                            pg_temp.expected(u, 'k2-0123456789abcdef0123456789abcdef'))
             FROM unnest(ARRAY['alice', 'bob']) u),
          'the participants by pseudonym');
SELECT ok((SELECT j::text !~ '(alice|bob)' FROM det), 'no user id appears anywhere in the report');
SELECT throws_ok('SELECT count(*) FROM pgcall.call', '42501', NULL, 'the call table is closed to an administrator');
SELECT throws_ok('SELECT count(*) FROM pgcall.participant', '42501', NULL, 'so is the participant table');
SELECT throws_ok('SELECT count(*) FROM pgcall.participant_session', '42501', NULL, 'and the session table');
SELECT set_config('request.jwt.claims', '{"sub": "root"}', true);
SELECT throws_ok(format('SELECT pgcall.call_get(%L)', (SELECT id FROM c)), 'P403G', NULL,
                 'call_get shows an administrator no call');
CREATE TEMP TABLE r AS
    SELECT pgcall.admin_remove_participant((SELECT id FROM c),
                                           pseudonym => pg_temp.expected('bob', 'k2-0123456789abcdef0123456789abcdef')) AS j;
SELECT is((SELECT j->>'user_id' FROM r), pg_temp.expected('bob', 'k2-0123456789abcdef0123456789abcdef'),
          'a participant is removed by pseudonym, and reported by it');
SELECT throws_ok(format('SELECT pgcall.admin_remove_participant(%L, pseudonym => %L)', (SELECT id FROM c), 'u_0000'),
                 'P404B', NULL, 'an unknown pseudonym');
RESET ROLE;
SELECT is((SELECT status FROM pgcall.participant WHERE user_id = 'bob'), 'removed', 'bob was the one removed');

-- On without a key: nothing is shown rather than user ids.
SELECT pgcall.set_secret('pseudonym_key', NULL);
SET LOCAL ROLE pgcall_admin;
SELECT throws_ok(format('SELECT pgcall.admin_call_details(%L)', (SELECT id FROM c)), 'P503C',
                 'pseudonyms are not configured', 'no key: the report refuses');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
