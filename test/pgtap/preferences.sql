-- Preferences: defaults, partial updates, refusals, only your own, and auto-mute applied wherever you join.
BEGIN;
SELECT plan(30);

\ir include/roles.psql
CREATE FUNCTION pg_temp.mic(j jsonb, u text) RETURNS boolean LANGUAGE sql
    AS $$ SELECT (p->>'mic_muted')::boolean FROM jsonb_array_elements(j->'call'->'participants') p WHERE p->>'user_id' = u $$;

SET LOCAL ROLE pgcall_user;
SELECT throws_ok($$SELECT pgcall.preferences_get()$$, 'P401A', 'no current user', 'preferences belong to a user');

SELECT pg_temp.as_user('ann');
SELECT is(pgcall.preferences_get(),
          '{"voice_masking_enabled": false, "video_masking_enabled": false, "auto_mute_on_join": false,
            "video_quality": "hd", "preferred_avatar": null, "created_at": null, "updated_at": null}'::jsonb,
          'defaults before anything is set');
CREATE TEMP TABLE s AS SELECT pgcall.preferences_set(auto_mute_on_join => true, video_quality => 'SD') AS j;
SELECT is((SELECT j - 'created_at' - 'updated_at' FROM s),
          '{"voice_masking_enabled": false, "video_masking_enabled": false, "auto_mute_on_join": true,
            "video_quality": "sd", "preferred_avatar": null}'::jsonb,
          'setting two leaves the others at their defaults');
SELECT is((SELECT (j->>'created_at')::timestamptz FROM s), now(), 'created now');
SELECT is(pgcall.preferences_set(voice_masking_enabled => true, preferred_avatar => 'avatar_002.png') - 'created_at' - 'updated_at',
          '{"voice_masking_enabled": true, "video_masking_enabled": false, "auto_mute_on_join": true,
            "video_quality": "sd", "preferred_avatar": "avatar_002.png"}'::jsonb,
          'a second change keeps the first');
SELECT is(pgcall.preferences_get()->>'preferred_avatar', 'avatar_002.png', 'preferences_get reads them back');
SELECT is(pgcall.preferences_set(preferred_avatar => '')->'preferred_avatar', 'null'::jsonb, 'an empty avatar removes it');
SELECT is(pgcall.preferences_set()->>'auto_mute_on_join', 'true', 'setting nothing changes nothing');

SELECT throws_ok($$SELECT pgcall.preferences_set(video_quality => 'uhd')$$, 'P400U', 'video_quality "uhd" is not hd or sd',
                 'video quality is hd or sd');
SELECT throws_ok(format('SELECT pgcall.preferences_set(preferred_avatar => %L)', repeat('a', 1025)), 'P400U',
                 'preferred_avatar must be at most 1024 bytes long', 'an avatar name too long');
SELECT throws_ok($$SELECT pgcall.preferences_set(preferred_avatar => E'a\tb')$$, 'P400U',
                 'preferred_avatar must not contain control characters', 'an avatar name with a tab');
SELECT throws_ok($$UPDATE pgcall.preference SET auto_mute_on_join = false$$, '42501', NULL,
                 'the table is written only through preferences_set');

-- Only your own.
SELECT throws_ok('SELECT count(*) FROM pgcall.preference', '42501', NULL, 'ann reads the table only through preferences_get');
SELECT pg_temp.as_user('ben');
SELECT is(pgcall.preferences_get()->>'auto_mute_on_join', 'false', 'ben gets none of hers');
SELECT is(pgcall.preferences_get()->>'auto_mute_on_join', 'false', 'and has his own defaults');

-- auto_mute_on_join, applied wherever ann joins.
SELECT pg_temp.as_user('ben');
CREATE TEMP TABLE g AS SELECT (pgcall.call_start(ARRAY['ann', 'cat'])->'call'->>'id')::uuid AS id;
GRANT SELECT ON g TO PUBLIC;
SELECT pg_temp.as_user('ann');
SELECT is(pg_temp.mic(pgcall.call_accept((SELECT id FROM g)), 'ann'), true, 'ann answers a group call muted');
SELECT is(pg_temp.mic(pgcall.call_set_media((SELECT id FROM g), mic_muted => false), 'ann'), false, 'she unmutes');
SELECT is(pg_temp.mic(pgcall.call_leave((SELECT id FROM g)), 'ann'), false, 'and leaves');
SELECT is(pg_temp.mic(pgcall.call_join((SELECT id FROM g)), 'ann'), true, 'joining again mutes her again');
SELECT pg_temp.as_user('cat');
SELECT is(pg_temp.mic(pgcall.call_accept((SELECT id FROM g)), 'cat'), false, 'cat, without the preference, is not muted');
SELECT pg_temp.as_user('ann');
SELECT is(pg_temp.mic(pgcall.call_start(ARRAY['dan']), 'ann'), true, 'ann starts a call muted');
CREATE TEMP TABLE conf AS SELECT pgcall.conference_create('Ann''s', is_public => true) AS j;
GRANT SELECT ON conf TO PUBLIC;
SELECT is((SELECT pg_temp.mic(j, 'ann') FROM conf), true, 'she hosts a conference muted');
SELECT is((SELECT pg_temp.mic(pgcall.conference_create('Loud', mic_muted => false), 'ann')), false,
          'unless she asks otherwise');
SELECT pg_temp.as_user('ben');
CREATE TEMP TABLE h AS SELECT (pgcall.conference_create('Ben''s', is_public => true)->'call'->>'id')::uuid AS id;
GRANT SELECT ON h TO PUBLIC;
SELECT pg_temp.as_user('ann');
SELECT is(pg_temp.mic(pgcall.call_join((SELECT id FROM h)), 'ann'), true, 'she joins a public conference muted');
SELECT pg_temp.as_user('ben');
SELECT lives_ok(format('SELECT pgcall.call_end(%L)', (SELECT id FROM h)), 'ben ends it');
CREATE TEMP TABLE h2 AS SELECT (pgcall.conference_create('Ben''s second', is_public => true)->'call'->>'id')::uuid AS id;
GRANT SELECT ON h2 TO PUBLIC;
SELECT pg_temp.as_user('ann');
SELECT is(pg_temp.mic(pgcall.call_join((SELECT id FROM h2), mic_muted => false), 'ann'), false,
          'joining with mic_muted => false keeps her microphone on');
SELECT pg_temp.as_user('dan');
SELECT is(pg_temp.mic(pgcall.call_join((SELECT id FROM h2)), 'dan'), false, 'dan joins unmuted');

-- Changing the preference takes effect at the next join.
SELECT pg_temp.as_user('dan');
SELECT is(pgcall.preferences_set(auto_mute_on_join => true)->>'auto_mute_on_join', 'true', 'dan turns auto-mute on');
SELECT lives_ok(format('SELECT pgcall.call_leave(%L)', (SELECT id FROM h2)), 'dan leaves');
SELECT is(pg_temp.mic(pgcall.call_join((SELECT id FROM h2)), 'dan'), true, 'and comes back muted');

SELECT * FROM finish();
ROLLBACK;
