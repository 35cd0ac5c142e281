-- pgTAP: properties of pgcall's Agora token functions, with the exact
-- SQLSTATE of each bad input (see pgcall.error_codes()).
BEGIN;
SELECT plan(74);

-- The API: every function exists with its argument names, and says what
-- it does.
SELECT has_function('pgcall', 'agora_rtc_token', ARRAY['text', 'text', 'text', 'integer', 'integer'], 'agora_rtc_token(channel, account, ...) exists');
SELECT has_function('pgcall', 'agora_rtc_token', ARRAY['text', 'bigint', 'text', 'integer', 'integer'], 'agora_rtc_token(channel, uid, ...) exists');
SELECT has_function('pgcall', 'agora_rtc_token_with_privileges', ARRAY['text', 'text', 'integer', 'integer', 'integer', 'integer', 'integer'], 'agora_rtc_token_with_privileges(channel, account, ...) exists');
SELECT has_function('pgcall', 'agora_rtc_token_with_privileges', ARRAY['text', 'bigint', 'integer', 'integer', 'integer', 'integer', 'integer'], 'agora_rtc_token_with_privileges(channel, uid, ...) exists');
SELECT has_function('pgcall', 'agora_rtm_token', ARRAY['text', 'integer'], 'agora_rtm_token(user_id, ttl) exists');
SELECT has_function('pgcall', 'agora_rtc_token_006', ARRAY['text', 'text', 'text', 'integer'], 'agora_rtc_token_006(channel, account, ...) exists');
SELECT has_function('pgcall', 'agora_rtc_token_006', ARRAY['text', 'bigint', 'text', 'integer'], 'agora_rtc_token_006(channel, uid, ...) exists');
SELECT has_function('pgcall', 'agora_rtm_token_006', ARRAY['text', 'integer'], 'agora_rtm_token_006(user_id, ttl) exists');
SELECT has_function('pgcall', 'agora_token_inspect', ARRAY['text', 'text', 'text'], 'agora_token_inspect(token, channel, account) exists');
SELECT has_function('pgcall', 'agora_configured', ARRAY[]::text[], 'agora_configured() exists');
SELECT is((SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'pgcall' AND p.proname LIKE 'agora%'
              AND obj_description(p.oid, 'pg_proc') IS NULL), 0::bigint,
          'every agora function has a comment');
SELECT is((SELECT array_agg(a ORDER BY a) FROM pg_proc p, unnest(p.proargnames) a
            WHERE p.oid = 'pgcall.agora_rtc_token(text, text, text, integer, integer)'::regprocedure),
          ARRAY['account', 'channel', 'privilege_ttl', 'role', 'token_ttl'],
          'argument names of agora_rtc_token are its HTTP parameter names');

-- Privileges: builders for backends, inspect for backends and operators,
-- agora_configured for every pgcall role, nothing for PUBLIC.
SELECT ok(NOT has_function_privilege('pgcall_user', 'pgcall.agora_rtc_token(text, text, text, integer, integer)', 'EXECUTE'), 'end users cannot mint RTC tokens');
SELECT ok(NOT has_function_privilege('pgcall_anon', 'pgcall.agora_rtm_token(text, integer)', 'EXECUTE'), 'anonymous requests cannot mint RTM tokens');
SELECT ok(NOT has_function_privilege('pgcall_admin', 'pgcall.agora_rtc_token_006(text, bigint, text, integer)', 'EXECUTE'), 'operators cannot mint tokens');
SELECT ok(has_function_privilege('pgcall_backend', 'pgcall.agora_rtc_token_with_privileges(text, bigint, integer, integer, integer, integer, integer)', 'EXECUTE'), 'backends can mint tokens');
SELECT ok(NOT has_function_privilege('pgcall_user', 'pgcall.agora_token_inspect(text, text, text)', 'EXECUTE'), 'end users cannot inspect tokens');
SELECT ok(has_function_privilege('pgcall_admin', 'pgcall.agora_token_inspect(text, text, text)', 'EXECUTE'), 'operators can inspect tokens');
SELECT ok(has_function_privilege('pgcall_anon', 'pgcall.agora_configured()', 'EXECUTE'), 'anyone with a pgcall role can ask whether Agora is configured');
SELECT is((SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'pgcall' AND p.proname LIKE 'agora%'
              AND has_function_privilege('public', p.oid, 'EXECUTE')), 0::bigint,
          'PUBLIC may execute no agora function');

-- Not configured: P503A from every builder.
SELECT set_config('pgcall.agora_app_id', '', true);
SELECT pgcall.set_secret('agora_app_certificate', NULL);
SELECT ok(NOT pgcall.agora_configured(), 'not configured without app id and certificate');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token('room-1', 'alice')$$, 'P503A', 'Agora is not configured', 'rtc token (account) needs configuration');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token('room-1', 1)$$, 'P503A', 'Agora is not configured', 'rtc token (uid) needs configuration');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token_with_privileges('room-1', 'alice')$$, 'P503A', 'Agora is not configured', 'privilege token (account) needs configuration');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token_with_privileges('room-1', 1)$$, 'P503A', 'Agora is not configured', 'privilege token (uid) needs configuration');
SELECT throws_ok($$SELECT pgcall.agora_rtm_token('alice')$$, 'P503A', 'Agora is not configured', 'rtm token needs configuration');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token_006('room-1', 'alice')$$, 'P503A', 'Agora is not configured', '006 rtc token (account) needs configuration');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token_006('room-1', 1)$$, 'P503A', 'Agora is not configured', '006 rtc token (uid) needs configuration');
SELECT throws_ok($$SELECT pgcall.agora_rtm_token_006('alice')$$, 'P503A', 'Agora is not configured', '006 rtm token needs configuration');
SELECT is(pgcall.agora_token_inspect('007eJxTYLhzZP08Lxa1Pg57+TcXb/3cZ3wi4V6kbpbOog0G2dOYk20UGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcwMk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiQwMADacImo=')->'signature'->'valid',
          'null'::jsonb, 'inspect decodes without configuration, leaving the signature unchecked');

-- Configured with Agora's test app.
SELECT set_config('pgcall.agora_app_id', '970CA35de60c44645bbae8a215061b33', true);
SELECT pgcall.set_secret('agora_app_certificate', '5CFd2fd1755d40ecb72977518be15d3b');
SELECT ok(pgcall.agora_configured(), 'configured with app id and certificate');

-- Tokens: version prefix, signature, round trip of their inputs.
SELECT matches(pgcall.agora_rtc_token('room-1', 'alice'), '^007eAE[A-Za-z0-9+/]+=*$', '007 tokens are "007" and base64 of a zlib stream (stored: header 78 01)');
SELECT matches(pgcall.agora_rtc_token_006('room-1', 'alice'), '^006970CA35de60c44645bbae8a215061b33[A-Za-z0-9+/]+=*$', '006 tokens are "006", the app id and base64');
SELECT is(pgcall.agora_token_inspect(pgcall.agora_rtc_token('room-1', 'alice'))->'signature',
          '{"valid": true, "certificate": "primary"}'::jsonb, 'a fresh 007 token verifies with the primary certificate');
SELECT is(pgcall.agora_token_inspect(pgcall.agora_rtc_token_006('room-1', 5), 'room-1', '5')->'signature',
          '{"valid": true, "certificate": "primary"}'::jsonb, 'a fresh 006 token verifies given its channel and uid');
SELECT is((SELECT count(*)
             FROM (SELECT i,
                          (SELECT string_agg(substr(' !#$%&()+-:;<=.>?@[]^_{}|~,abcXYZ019', 1 + floor(random() * 36)::int, 1), '')
                             FROM generate_series(1, 1 + (i * 7) % 64)) AS c,
                          (SELECT string_agg(substr('abcdefghijklmnopqrstuvwxyz0123456789_-.@', 1 + floor(random() * 40)::int, 1), '')
                             FROM generate_series(1, 1 + (i * 13) % 255)) AS a
                     FROM generate_series(1, 200) i) input,
                  LATERAL pgcall.agora_token_inspect(pgcall.agora_rtc_token(c, a,
                      CASE WHEN i % 2 = 0 THEN 'publisher' ELSE 'subscriber' END, 60 * (1 + i % 1440))) j
            WHERE j->'services'->0->>'channel' = c AND j->'services'->0->>'uid' = a
              AND (j->>'expire')::int = 60 * (1 + i % 1440)
              AND jsonb_array_length(j->'services'->0->'privileges') = CASE WHEN i % 2 = 0 THEN 4 ELSE 1 END
              AND (j->'signature'->>'valid')::boolean),
          200::bigint, '200 tokens for random channels and accounts carry them, their role and lifetime, and verify');
SELECT is((SELECT count(*) FROM (SELECT pgcall.agora_token_inspect(pgcall.agora_rtc_token('room-1', u))->'services'->0->>'uid' AS got, u
                                   FROM unnest(ARRAY[0, 1, 4294967295]::bigint[]) u) s
            WHERE got = CASE WHEN u = 0 THEN '' ELSE u::text END), 3::bigint,
          'uids 0 (any user, packed empty), 1 and 2^32-1 round-trip');
SELECT is((SELECT string_agg(p->>'name' || '=' || (p->>'expire'), ',')
             FROM jsonb_array_elements(pgcall.agora_token_inspect(pgcall.agora_rtc_token_with_privileges('room-1', 'alice', 600, 500, 400, 300, 200))->'services'->0->'privileges') p),
          'join_channel=500,publish_audio_stream=400,publish_video_stream=300,publish_data_stream=200',
          'each privilege carries its own lifetime');
SELECT is((pgcall.agora_token_inspect(pgcall.agora_rtm_token('alice', 900))->'services'->0) - 'privileges',
          '{"name": "rtm", "type": 2, "user_id": "alice"}'::jsonb, 'rtm tokens carry the user id');
SELECT is(pgcall.agora_token_inspect(pgcall.agora_rtm_token_006('alice'), 'alice')->>'kind', 'rtm', '006 rtm tokens are recognised as such');
SELECT cmp_ok((SELECT count(DISTINCT pgcall.agora_rtc_token('room-1', 'alice')) FROM generate_series(1, 500)), '=', 500::bigint,
              'no two tokens are alike');

-- Bad channels: P400A.
SELECT throws_ok($$SELECT pgcall.agora_rtc_token('', 'alice')$$, 'P400A', 'channel must be 1 to 64 bytes long', 'empty channel');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token(repeat('x', 65), 'alice')$$, 'P400A', 'channel must be 1 to 64 bytes long', '65-byte channel');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token('a*b', 1)$$, 'P400A', 'channel contains a character Agora does not allow', 'channel with *');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token_006(E'a\tb', 'alice')$$, 'P400A', 'channel contains a character Agora does not allow', '006 channel with a tab');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token(NULL, 'alice')$$, 'P400A', 'channel must not be null', 'null channel');
-- Bad accounts and RTM user ids: P400B.
SELECT throws_ok($$SELECT pgcall.agora_rtc_token('room-1', '')$$, 'P400B', 'account must be 1 to 255 bytes long', 'empty account');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token('room-1', repeat('a', 256))$$, 'P400B', 'account must be 1 to 255 bytes long', '256-byte account');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token_with_privileges('room-1', 'ä')$$, 'P400B', 'account contains a character Agora does not allow', 'non-ASCII account');
SELECT throws_ok($$SELECT pgcall.agora_rtm_token(repeat('u', 65))$$, 'P400B', 'user_id must be 1 to 64 bytes long', '65-byte RTM user id');
SELECT throws_ok($$SELECT pgcall.agora_rtm_token_006('a/b')$$, 'P400B', 'user_id contains a character Agora does not allow', '006 RTM user id with /');
-- Bad uids: P400C.
SELECT throws_ok($$SELECT pgcall.agora_rtc_token('room-1', -1)$$, 'P400C', 'uid must be between 0 and 4294967295', 'negative uid');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token('room-1', 4294967296)$$, 'P400C', 'uid must be between 0 and 4294967295', 'uid of 2^32');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token_006('room-1', NULL::bigint)$$, 'P400C', 'uid must not be null', 'null uid');
-- Bad lifetimes: P400F.
SELECT throws_ok($$SELECT pgcall.agora_rtc_token('room-1', 'alice', 'publisher', 59)$$, 'P400F', 'token_ttl must be between 60 and 86400 seconds', 'token_ttl below a minute');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token('room-1', 'alice', 'publisher', 86401)$$, 'P400F', 'token_ttl must be between 60 and 86400 seconds', 'token_ttl above a day');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token('room-1', 1, 'publisher', 600, 601)$$, 'P400F', 'privilege_ttl must be between 60 seconds and token_ttl (600 seconds)', 'privilege_ttl above token_ttl');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token_with_privileges('room-1', 'alice', 600, video_ttl => 10)$$, 'P400F', 'video_ttl must be between 60 seconds and token_ttl (600 seconds)', 'video_ttl below a minute');
SELECT throws_ok($$SELECT pgcall.agora_rtm_token('alice', 0)$$, 'P400F', 'ttl must be between 60 and 86400 seconds', 'RTM ttl of 0');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token_006('room-1', 'alice', 'publisher', 100000)$$, 'P400F', 'ttl must be between 60 and 86400 seconds', '006 ttl above a day');
-- Unknown roles: P400G.
SELECT throws_ok($$SELECT pgcall.agora_rtc_token('room-1', 'alice', 'host')$$, 'P400G', 'unknown role "host"', 'role host');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token('room-1', 1, 'PUBLISHER')$$, 'P400G', 'unknown role "PUBLISHER"', 'roles are lower-case');
SELECT throws_ok($$SELECT pgcall.agora_rtc_token_006('room-1', 'alice', NULL)$$, 'P400G', 'role must not be null', 'null role');
-- Malformed tokens: P400H.
SELECT throws_ok($$SELECT pgcall.agora_token_inspect('')$$, 'P400H', 'invalid Agora token: token is empty', 'empty token');
SELECT throws_ok($$SELECT pgcall.agora_token_inspect('008abc')$$, 'P400H', 'invalid Agora token: token does not start with a version pgcall reads ("006" or "007")', 'unknown version');
SELECT throws_ok($$SELECT pgcall.agora_token_inspect('007invalid')$$, 'P400H', 'invalid Agora token: compressed content is corrupt (zlib: incorrect header check)', 'not zlib');
SELECT throws_ok($$SELECT pgcall.agora_token_inspect(left(pgcall.agora_rtc_token('room-1', 'alice'), 100))$$, 'P400H', NULL, 'truncated 007 token');
SELECT throws_ok($$SELECT pgcall.agora_token_inspect(left(pgcall.agora_rtc_token_006('room-1', 'alice'), 60))$$, 'P400H', NULL, 'truncated 006 token');
SELECT throws_ok($$SELECT pgcall.agora_token_inspect('006' || repeat('0', 32) || '%%')$$, 'P400H', 'invalid Agora token: "%" at position 36 is not a base64 character', 'bad base64');
-- No prefix of a token is mistaken for a token: each fails with P400H.
CREATE FUNCTION pg_temp.decodable_prefixes(token text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    found text := '';
BEGIN
    -- Dropping only base64 padding leaves the same bytes: not a prefix.
    FOR n IN 0 .. length(rtrim(token, '=')) - 1 LOOP
        BEGIN
            PERFORM pgcall.agora_token_inspect(left(token, n));
            found := found || n || ' ';
        EXCEPTION WHEN SQLSTATE 'P400H' THEN
            NULL;
        END;
    END LOOP;
    RETURN found;
END
$$;
SELECT is(pg_temp.decodable_prefixes(pgcall.agora_rtc_token('room-1', 'alice')), '', 'every prefix of a 007 token is refused with P400H');
SELECT is(pg_temp.decodable_prefixes(pgcall.agora_rtc_token_006('room-1', 'alice')), '', 'every prefix of a 006 token is refused with P400H');

-- Rotation: the secondary certificate is named when it signed.
SELECT pgcall.set_secret('agora_app_certificate', '0123456789abcdef0123456789abcdef');
SELECT pgcall.set_secret('agora_app_certificate_secondary', '5CFd2fd1755d40ecb72977518be15d3b');
SELECT is(pgcall.agora_token_inspect('007eJxTYLhzZP08Lxa1Pg57+TcXb/3cZ3wi4V6kbpbOog0G2dOYk20UGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcwMk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiQwMADacImo=')->'signature',
          '{"valid": true, "certificate": "secondary"}'::jsonb, 'a token signed with the secondary certificate verifies as such');
SELECT is(pgcall.agora_token_inspect(pgcall.agora_rtc_token('room-1', 'alice'))->'signature',
          '{"valid": true, "certificate": "primary"}'::jsonb, 'new tokens are signed with the primary certificate');
SELECT pgcall.set_secret('agora_app_certificate_secondary', NULL);
SELECT is(pgcall.agora_token_inspect('007eJxTYLhzZP08Lxa1Pg57+TcXb/3cZ3wi4V6kbpbOog0G2dOYk20UGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcwMk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiQwMADacImo=')->'signature'->'valid',
          'false'::jsonb, 'without the secondary certificate the old token no longer verifies');

SELECT * FROM finish();
ROLLBACK;
