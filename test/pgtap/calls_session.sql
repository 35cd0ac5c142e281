-- The seed-000 Agora flow (call_session) and media sessions: tokens only for the people in the call.
BEGIN;
SELECT plan(24);

\ir include/roles.psql

-- Not configured: one clear error, 503 over HTTP.
SELECT pg_temp.act('alice');
SELECT throws_ok($$SELECT pgcall.call_session('bob', 'voice')$$, 'P503A', NULL, 'call_session needs Agora');
SELECT is(pgcall.call_start(ARRAY['zed'])->'agora', 'null'::jsonb, 'call_start works without Agora, with no token');

SET LOCAL pgcall.agora_app_id = '970ca35de60c44645bbae8a215061b33';
SELECT pgcall.set_secret('agora_app_certificate', '5cfd2fd1755d40ecb72977518be15d3b');

CREATE TEMP TABLE s AS SELECT pgcall.call_session('bob', 'video') AS j;
SELECT is((SELECT j->>'app_id' FROM s), '970ca35de60c44645bbae8a215061b33', 'the app id');
SELECT matches((SELECT j->>'channel_id' FROM s), '^call-[0-9a-f-]{36}$', 'a fresh channel call-<uuid>');
SELECT is((SELECT j->>'type' FROM s), 'video', 'the type');
SELECT is((SELECT j->>'status' FROM s), 'ringing', 'the call rings');
SELECT is((SELECT j->>'account' FROM s), 'alice', 'the token is for alice');
SELECT ok((SELECT (j->>'expire_at')::bigint - extract(epoch FROM now()) BETWEEN 3590 AND 3610 FROM s),
          'expires after pgcall.agora_token_ttl');
CREATE TEMP TABLE t AS SELECT pgcall.agora_token_inspect(j->>'token') AS i FROM s;
SELECT is((SELECT i->'signature'->>'valid' FROM t), 'true', 'the token verifies');
SELECT is((SELECT i->'services'->0->>'channel' FROM t), (SELECT j->>'channel_id' FROM s), 'for the call''s channel');
SELECT is((SELECT i->'services'->0->>'uid' FROM t), 'alice', 'and alice''s account');
SELECT is((SELECT jsonb_array_length(i->'services'->0->'privileges') FROM t), 4, 'as a publisher');

-- bob answers by channel and gets his own token.
SELECT pg_temp.act('bob');
CREATE TEMP TABLE s2 AS SELECT pgcall.call_session('alice', 'video', (SELECT j->>'channel_id' FROM s)) AS j;
SELECT is((SELECT j->>'status' FROM s2), 'active', 'joining by channel answers the call');
SELECT is((SELECT j->>'channel_id' FROM s2), (SELECT j->>'channel_id' FROM s), 'the same channel');
SELECT is((SELECT pgcall.agora_token_inspect(j->>'token')->'services'->0->>'uid' FROM s2), 'bob', 'bob''s token');
SELECT throws_ok(format('SELECT pgcall.call_session(%L, %L, %L)', 'carol', 'video', (SELECT j->>'channel_id' FROM s)),
                 'P403B', NULL, 'the channel is only for the two of them');

-- Media sessions.
CREATE TEMP TABLE m AS SELECT pgcall.call_media_session((SELECT (j->>'call_id')::uuid FROM s), 600) AS j;
SELECT is((SELECT j->'agora'->>'provider' FROM m), 'agora', 'a media session names its provider');
SELECT is((SELECT j->'agora'->>'account' FROM m), 'bob', 'for the caller of the function');
SELECT ok((SELECT (j->'agora'->>'expires_at')::bigint - extract(epoch FROM now()) BETWEEN 590 AND 610 FROM m),
          'with the ttl asked for');
SELECT throws_ok(format('SELECT pgcall.call_media_session(%L, 10)', (SELECT j->>'call_id' FROM s)), 'P400F', NULL,
                 'a ttl Agora refuses is refused');
SELECT pg_temp.act('mallory');
SELECT throws_ok(format('SELECT pgcall.call_media_session(%L)', (SELECT j->>'call_id' FROM s)), 'P403B', NULL,
                 'no media session for a stranger');
SELECT throws_ok(format('SELECT pgcall.call_session(%L, %L, %L)', 'alice', 'video', (SELECT j->>'channel_id' FROM s)),
                 'P403B', NULL, 'no token for a stranger by channel');
SELECT pg_temp.act('alice');
SELECT lives_ok(format('SELECT pgcall.call_end(%L)', (SELECT j->>'call_id' FROM s)), 'alice hangs up');
SELECT throws_ok(format('SELECT pgcall.call_media_session(%L)', (SELECT j->>'call_id' FROM s)), 'P409B', NULL,
                 'no media session once the call ended');

SELECT * FROM finish();
ROLLBACK;
