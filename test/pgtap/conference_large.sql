-- Large calls (issue 10): the replies of the call_* functions leave out the
-- participants of a call of more than 50 people (participant_count,
-- joined_count and the caller's own participant instead), and
-- call_participants pages the list.
BEGIN;
SELECT plan(33);

\ir include/roles.psql
SET LOCAL ROLE pgcall_backend;

SELECT pg_temp.act('host');
CREATE TEMP TABLE conf AS
    SELECT (pgcall.conference_create('All hands', NULL, true, 500)->'call'->>'id')::uuid AS id;
GRANT SELECT ON conf TO PUBLIC;

-- 49 people join: with the host, 50 participants, and the reply still lists them.
CREATE TEMP TABLE replies (n integer, j jsonb);
DO $$
BEGIN
    FOR i IN 1..49 LOOP
        PERFORM pg_temp.act('m' || lpad(i::text, 3, '0'));
        INSERT INTO replies SELECT i, pgcall.call_join((SELECT id FROM conf));
    END LOOP;
END $$;
SELECT is(jsonb_array_length(j->'call'->'participants'), 50, 'a call of 50 lists its participants')
  FROM replies WHERE n = 49;
SELECT ok(NOT (j ? 'participant') AND NOT (j->'call' ? 'participant_count'),
          'a call of 50: no participant_count, no separate participant')
  FROM replies WHERE n = 49;

-- The 51st person: the reply has no list.
SELECT pg_temp.act('m050');
CREATE TEMP TABLE big AS SELECT pgcall.call_join((SELECT id FROM conf)) AS j;
SELECT ok(NOT (j->'call' ? 'participants'), 'a call of 51: the reply leaves the list out') FROM big;
SELECT is((j->'call'->>'participant_count')::int, 51, 'participant_count counts everyone') FROM big;
SELECT is((j->'call'->>'joined_count')::int, 51, 'joined_count counts those in it') FROM big;
SELECT is(j->'participant'->>'user_id', 'm050', 'the reply carries your own participant') FROM big;
SELECT is(j->'participant'->>'status', 'joined', 'your participant is joined') FROM big;
SELECT ok(j->'agora' IS NOT NULL AND j->'call'->>'channel_id' IS NOT NULL,
          'the reply still carries the channel and the media credentials key') FROM big;
SELECT is((j->'call'->>'version')::bigint,
          (SELECT (pgcall.call_get((SELECT id FROM conf))->>'version')::bigint),
          'the reply carries the version call_get returns') FROM big;
SELECT is((j->'call') - 'participant_count'::text - 'joined_count'::text,
          (SELECT pgcall.call_get((SELECT id FROM conf)) - 'participants'::text),
          'apart from the list and the counts, the call is call_get''s') FROM big;
SELECT is(jsonb_array_length(pgcall.call_get((SELECT id FROM conf))->'participants'), 51,
          'call_get still returns the whole list');

-- Leaving and muting in the large call: the same short reply.
SELECT pg_temp.act('m001');
SELECT is(pgcall.call_leave((SELECT id FROM conf))->'participant'->>'status', 'left',
          'call_leave in a large call: your participant, left');
SELECT is((pgcall.call_join((SELECT id FROM conf))->'call'->>'joined_count')::int, 51,
          'rejoining: joined_count back to 51');
SELECT is(pgcall.call_leave((SELECT id FROM conf))->'call'->>'joined_count', '50',
          'after leaving: joined_count 50, participant_count unchanged');
SELECT pg_temp.act('m002');
SELECT is(pgcall.call_set_media((SELECT id FROM conf), true)->'participant'->>'mic_muted', 'true',
          'call_set_media in a large call: your participant, muted');

-- Paging: by user id, next until the last page.
SELECT is(jsonb_array_length(pgcall.call_participants((SELECT id FROM conf))->'participants'), 51,
          'the default page (100) holds all 51');
SELECT is(pgcall.call_participants((SELECT id FROM conf))->'next', 'null'::jsonb,
          'a last page has no next');
SELECT is(pgcall.call_participants((SELECT id FROM conf), NULL, 20)->>'next', 'm019',
          'a full page names the after of the next');
SELECT is((SELECT array_agg(p->>'user_id') FROM jsonb_array_elements(
              pgcall.call_participants((SELECT id FROM conf), 'm019', 3)->'participants') p),
          ARRAY['m020', 'm021', 'm022'], 'the page after m019, in user id order');
SELECT is(pgcall.call_participants((SELECT id FROM conf), 'm048', 2)->>'next', NULL,
          'two left after m048: a page of 2 is the last one (next null)');
SELECT is(jsonb_array_length(pgcall.call_participants((SELECT id FROM conf), 'zzz')->'participants'), 0,
          'after the last user id: an empty page');
CREATE TEMP TABLE pages AS
WITH RECURSIVE walk(n, page) AS (
    SELECT 1, pgcall.call_participants((SELECT id FROM conf), NULL, 7)
    UNION ALL
    SELECT n + 1, pgcall.call_participants((SELECT id FROM conf), page->>'next', 7)
      FROM walk WHERE page->>'next' IS NOT NULL)
SELECT n, p FROM walk, jsonb_array_elements(page->'participants') p;
SELECT is((SELECT count(DISTINCT p->>'user_id') FROM pages), 51::bigint, 'walking pages of 7 gives all 51 once');
SELECT is((SELECT count(*) FROM pages), 51::bigint, '... and nobody twice');
SELECT is((SELECT jsonb_agg(p ORDER BY p->>'user_id') FROM pages),
          (SELECT jsonb_agg(p ORDER BY p->>'user_id')
             FROM jsonb_array_elements(pgcall.call_get((SELECT id FROM conf))->'participants') p),
          'the pages hold exactly call_get''s participants');
SELECT is((pgcall.call_participants((SELECT id FROM conf))->>'version')::bigint,
          (pgcall.call_get((SELECT id FROM conf))->>'version')::bigint,
          'a page carries the call''s version');

-- Refusals.
SELECT throws_ok(format('SELECT pgcall.call_participants(%L, NULL, 0)', (SELECT id FROM conf)), 'P400P',
                 'max must be between 1 and 1000', 'max 0');
SELECT throws_ok(format('SELECT pgcall.call_participants(%L, NULL, 1001)', (SELECT id FROM conf)), 'P400P',
                 'max must be between 1 and 1000', 'max above 1000');
SELECT throws_ok(format('SELECT pgcall.call_participants(%L, %L)', (SELECT id FROM conf), E'a\tb'), 'P400I',
                 NULL, 'after with a control character');
SELECT throws_ok($$SELECT pgcall.call_participants(NULL)$$, 'P400R', 'call_id is required', 'no call');
SELECT throws_ok($$SELECT pgcall.call_participants('00000000-0000-0000-0000-000000000000')$$, 'P404A',
                 NULL, 'an unknown call');
SELECT pg_temp.act('outsider');
SELECT throws_ok(format('SELECT pgcall.call_participants(%L)', (SELECT id FROM conf)), 'P403B',
                 'you are not a participant of this call', 'someone not in the call cannot page it, public or not');

-- Removed: no longer one of them.
RESET ROLE;
SELECT set_config('role', 'pgcall_admin', true) IS NOT NULL AS admin,
       set_config('request.jwt.claims', json_build_object('sub', 'root', 'role', 'pgcall_admin')::text, true) IS NOT NULL AS claims;
SELECT lives_ok(format('SELECT pgcall.admin_remove_participant(%L, %L)', (SELECT id FROM conf), 'm003'),
                'an admin removes m003');
RESET ROLE;
SELECT set_config('request.jwt.claims', '', true);
SET LOCAL ROLE pgcall_backend;
SELECT pg_temp.act('m003');
SELECT throws_ok(format('SELECT pgcall.call_participants(%L)', (SELECT id FROM conf)), 'P403B',
                 NULL, 'someone removed cannot page the list');

SELECT * FROM finish();
ROLLBACK;
