-- participant_session rows written without a statement (call_triggers.c,
-- session_write): the row an INSERT would write, found by its index, under
-- its foreign key; a trigger or a column added by hand sends the row
-- through the INSERT again, so it fires and its default applies.
BEGIN;
SELECT plan(13);

\ir include/roles.psql

CREATE FUNCTION pg_temp.sessions(c uuid) RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(user_id || ':' || (joined_at = now()) || ':' || (left_at IS NULL) ORDER BY user_id)
      FROM pgcall.participant_session WHERE call_id = c
$$;

SELECT pg_temp.act('sw-a');
CREATE TEMP TABLE c1 AS SELECT (pgcall.call_start(ARRAY['sw-b'])->'call'->>'id')::uuid AS id;
SELECT is(pg_temp.sessions((SELECT id FROM c1)), ARRAY['sw-a:true:true'],
          'the caller has one open session from now');
SELECT pg_temp.act('sw-b');
SELECT lives_ok(format('SELECT pgcall.call_accept(%L)', (SELECT id FROM c1)), 'the callee answers');
SELECT is(pg_temp.sessions((SELECT id FROM c1)), ARRAY['sw-a:true:true', 'sw-b:true:true'],
          'and has one open session from now');

SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*)::int FROM pgcall.participant_session
            WHERE call_id = (SELECT id FROM c1) AND user_id = 'sw-b' AND joined_at = now()), 1,
          'the row is in the primary key''s index');
RESET enable_seqscan;
RESET enable_bitmapscan;

SELECT lives_ok(format('SELECT pgcall.call_end(%L)', (SELECT id FROM c1)), 'the call ends');
SELECT is(pg_temp.sessions((SELECT id FROM c1)), ARRAY['sw-a:true:false', 'sw-b:true:false'],
          'both sessions are closed');
DELETE FROM pgcall.participant WHERE call_id = (SELECT id FROM c1) AND user_id = 'sw-b';
SELECT is(pg_temp.sessions((SELECT id FROM c1)), ARRAY['sw-a:true:false'],
          'the foreign key holds: a participant deleted takes its sessions with it');

-- A trigger added by hand fires for the row.
CREATE TABLE public.sw_seen (call_id uuid, user_id text);
CREATE FUNCTION public.sw_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.sw_seen VALUES (NEW.call_id, NEW.user_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER sw_seen AFTER INSERT ON pgcall.participant_session
    FOR EACH ROW EXECUTE FUNCTION public.sw_seen();
SELECT pg_temp.act('sw-c');
CREATE TEMP TABLE c2 AS SELECT (pgcall.call_start(ARRAY['sw-d'])->'call'->>'id')::uuid AS id;
SELECT is((SELECT array_agg(user_id) FROM public.sw_seen WHERE call_id = (SELECT id FROM c2)),
          ARRAY['sw-c'], 'a trigger added by hand on participant_session fires for the caller''s session');
DROP TRIGGER sw_seen ON pgcall.participant_session;

-- A column added by hand gets its default; once dropped, rows are written as before.
ALTER TABLE pgcall.participant_session ADD COLUMN note text DEFAULT 'by hand';
SELECT pg_temp.act('sw-e');
CREATE TEMP TABLE c3 AS SELECT (pgcall.call_start(ARRAY['sw-f'])->'call'->>'id')::uuid AS id;
SELECT is((SELECT note FROM pgcall.participant_session WHERE call_id = (SELECT id FROM c3)), 'by hand',
          'a column added by hand gets its default');
ALTER TABLE pgcall.participant_session DROP COLUMN note;
SELECT pg_temp.act('sw-g');
CREATE TEMP TABLE c4 AS SELECT (pgcall.call_start(ARRAY['sw-h'])->'call'->>'id')::uuid AS id;
SELECT is(pg_temp.sessions((SELECT id FROM c4)), ARRAY['sw-g:true:true'],
          'with the column dropped, the caller''s session is written');

-- A check added by hand applies to them: the checks kept parsed are the
-- table's checks of now, also when one is replaced by another.
ALTER TABLE pgcall.participant_session ADD CONSTRAINT sw_not_x CHECK (user_id <> 'sw-x');
SELECT pg_temp.act('sw-x');
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY['sw-y'])$$, '23514',
                 'new row for relation "participant_session" violates check constraint "sw_not_x"',
                 'a check added by hand on participant_session applies to the caller''s session');
ALTER TABLE pgcall.participant_session DROP CONSTRAINT sw_not_x;
ALTER TABLE pgcall.participant_session ADD CONSTRAINT sw_not_z CHECK (user_id <> 'sw-z');
SELECT pg_temp.act('sw-z');
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY['sw-y'])$$, '23514',
                 'new row for relation "participant_session" violates check constraint "sw_not_z"',
                 'a check replaced by another applies');
SELECT pg_temp.act('sw-x');
SELECT lives_ok($$SELECT pgcall.call_start(ARRAY['sw-y'])$$, 'and the one it replaced no longer');
ALTER TABLE pgcall.participant_session DROP CONSTRAINT sw_not_z;

SELECT * FROM finish();
ROLLBACK;
