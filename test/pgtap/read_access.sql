-- Who reads what: removed participants lose the call, the profile view reads with the reader's rights, tokens last no longer than configured.
BEGIN;
SELECT plan(14);

\ir include/roles.psql

-- A removed participant.
SELECT pg_temp.act('host');
CREATE TEMP TABLE c AS SELECT (pgcall.conference_create('Talk', invitees => ARRAY['ann', 'ben'])->'call'->>'id')::uuid AS id;
GRANT SELECT ON c TO PUBLIC;
SELECT pg_temp.act('ann');
SELECT pgcall.call_join((SELECT id FROM c), 'ann-phone') IS NOT NULL AS joined;
SELECT pg_temp.act('');
SELECT pgcall.admin_remove_participant((SELECT id FROM c), 'ann') IS NOT NULL AS removed;
SELECT pg_temp.act('ben');
SELECT pgcall.call_join((SELECT id FROM c), 'ben-laptop') IS NOT NULL AS joined;
SELECT pg_temp.act('ann');
SET LOCAL ROLE pgcall_user;
SELECT throws_ok(format('SELECT pgcall.call_get(%L)', (SELECT id FROM c)), 'P403B', NULL,
                 'a removed participant cannot read the call');
SELECT is(pgcall.is_participant((SELECT id FROM c)), false, 'she no longer counts as a participant');
SELECT ok(pgcall.calls_mine()::text !~ 'ben-laptop', 'nor sees who joined after her, with their devices');
SELECT throws_ok('SELECT count(*) FROM pgcall.participant_session', '42501', NULL, 'nor the sessions (no end user reads the tables)');
RESET ROLE;
SELECT pg_temp.act('ben');
SET LOCAL ROLE pgcall_user;
SELECT is(jsonb_array_length(pgcall.call_get((SELECT id FROM c))->'participants'), 3,
          'those still in it read everyone');
RESET ROLE;

-- The profile view reads the source with the reader's privileges and row-level security.
SELECT ok((SELECT 'security_invoker=true' = ANY (reloptions) FROM pg_class WHERE oid = 'pgcall.user_profile'::regclass),
          'pgcall.user_profile is security_invoker');
CREATE TABLE public.members (id text, name text, secret text);
INSERT INTO public.members VALUES ('ann', 'Ann', 's1'), ('ben', 'Ben', 's2');
ALTER TABLE public.members ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON public.members FOR SELECT USING (id = current_setting('pgcall.user_id', true));
SELECT pgcall.use_profile_source('public.members'::regclass, 'id', 'name');
SELECT ok((SELECT 'security_invoker=true' = ANY (reloptions) FROM pg_class WHERE oid = 'pgcall.user_profile'::regclass),
          'and stays so when pointed at the app''s table');
SET LOCAL ROLE pgcall_user;
SELECT throws_ok($$SELECT count(*) FROM pgcall.user_profile$$, '42501', NULL,
                 'a role without SELECT on the source reads nothing through the view');
RESET ROLE;
GRANT SELECT (id, name) ON public.members TO pgcall_user;
SELECT pg_temp.act('ben');
SET LOCAL ROLE pgcall_user;
SELECT is((SELECT array_agg(display_name) FROM pgcall.user_profile), ARRAY['Ben'],
          'with it, the source''s row-level security decides which rows');
RESET ROLE;
SELECT pgcall.use_profile_source(NULL);
SELECT ok((SELECT 'security_invoker=true' = ANY (reloptions) FROM pg_class WHERE oid = 'pgcall.user_profile'::regclass),
          'back on pgcall.profile, still security_invoker');

-- call_media_session never hands out a token longer than pgcall.agora_token_ttl.
SET LOCAL pgcall.agora_app_id = '970ca35de60c44645bbae8a215061b33';
SELECT pgcall.set_secret('agora_app_certificate', '5cfd2fd1755d40ecb72977518be15d3b');
SET LOCAL pgcall.agora_token_ttl = 600;
SELECT pg_temp.act('ben');
SELECT throws_ok(format('SELECT pgcall.call_media_session(%L, ttl => 86400)', (SELECT id FROM c)), 'P400F',
                 'ttl must be at most pgcall.agora_token_ttl (600 seconds)', 'a 24 hour token is refused');
SELECT throws_ok(format('SELECT pgcall.call_media_session(%L, ttl => 601)', (SELECT id FROM c)), 'P400F', NULL,
                 'one second over too');
SELECT cmp_ok((pgcall.call_media_session((SELECT id FROM c), ttl => 300)->'agora'->>'expires_at')::bigint,
              '<=', extract(epoch FROM clock_timestamp())::bigint + 301, 'a shorter one is fine');
SELECT cmp_ok((pgcall.call_media_session((SELECT id FROM c))->'agora'->>'expires_at')::bigint,
              '<=', extract(epoch FROM clock_timestamp())::bigint + 601, 'and the default is the configured ttl');

SELECT * FROM finish();
ROLLBACK;
