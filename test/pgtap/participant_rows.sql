-- Call and participant rows written without a statement (rowread.c,
-- pgcall_write_rows): the rows an INSERT writes, their defaults, their
-- generated column and their checks, their row triggers fired in order; a
-- statement trigger added by hand sends them through the INSERT again.
BEGIN;
SELECT plan(16);

\ir include/roles.psql

SELECT pg_temp.act('pw-a');
CREATE TEMP TABLE c1 AS SELECT (pgcall.call_start(ARRAY['pw-b', 'pw-c'], is_group => true)->'call'->>'id')::uuid AS id;
SELECT is((SELECT array_agg(user_id || ':' || role || ':' || status || ':' || (invited_at = now()) || ':' ||
                            joined_seconds || ':' || hidden || ':' || camera_off ORDER BY user_id)
             FROM pgcall.participant WHERE call_id = (SELECT id FROM c1)),
          ARRAY['pw-a:host:joined:true:0:false:false', 'pw-b:member:invited:true:0:false:false',
                'pw-c:member:invited:true:0:false:false'],
          'the caller and the invitees, with their defaults and the generated joined_seconds');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*)::int FROM pgcall.participant WHERE user_id = 'pw-b' AND status IN ('invited', 'ringing', 'joined')),
          1, 'an invitee is in the live index');
SELECT is((SELECT count(*)::int FROM pgcall.participant WHERE call_id = (SELECT id FROM c1)), 3,
          'and all are in the primary key''s');
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT is((SELECT count(*)::int FROM pgcall.participant_session WHERE call_id = (SELECT id FROM c1)), 1,
          'the caller''s session was opened by the AFTER trigger');

-- Row triggers added by hand fire, in the rows' order: before (changing
-- the row) and after.
CREATE TABLE public.pw_seen (n serial, user_id text, note text);
CREATE FUNCTION public.pw_before() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.device_id := coalesce(NEW.device_id, 'set-by-trigger');
    RETURN NEW;
END
$$;
CREATE FUNCTION public.pw_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.pw_seen (user_id, note) VALUES (NEW.user_id, TG_LEVEL);
    RETURN NULL;
END
$$;
CREATE TRIGGER pw_before BEFORE INSERT ON pgcall.participant FOR EACH ROW EXECUTE FUNCTION public.pw_before();
CREATE TRIGGER pw_after AFTER INSERT ON pgcall.participant FOR EACH ROW EXECUTE FUNCTION public.pw_after();
SELECT pg_temp.act('pw-d');
CREATE TEMP TABLE c2 AS SELECT (pgcall.call_start(ARRAY['pw-e'])->'call'->>'id')::uuid AS id;
SELECT is((SELECT array_agg(user_id || ':' || device_id ORDER BY user_id) FROM pgcall.participant
            WHERE call_id = (SELECT id FROM c2)),
          ARRAY['pw-d:set-by-trigger', 'pw-e:set-by-trigger'], 'a BEFORE row trigger added by hand changes the rows');
SELECT is((SELECT array_agg(user_id ORDER BY n) FROM public.pw_seen), ARRAY['pw-d', 'pw-e'],
          'an AFTER row trigger added by hand sees them, caller first');
DROP TRIGGER pw_before ON pgcall.participant;
DROP TRIGGER pw_after ON pgcall.participant;

-- A statement trigger added by hand fires once.
TRUNCATE public.pw_seen;
CREATE FUNCTION public.pw_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.pw_seen (user_id, note) VALUES (NULL, TG_LEVEL);
    RETURN NULL;
END
$$;
CREATE TRIGGER pw_statement AFTER INSERT ON pgcall.participant FOR EACH STATEMENT
    EXECUTE FUNCTION public.pw_statement();
SELECT pg_temp.act('pw-f');
CREATE TEMP TABLE c3 AS SELECT (pgcall.call_start(ARRAY['pw-g'])->'call'->>'id')::uuid AS id;
SELECT is((SELECT array_agg(note) FROM public.pw_seen), ARRAY['STATEMENT'],
          'a statement trigger added by hand fires once for the call''s participants');
SELECT is((SELECT count(*)::int FROM pgcall.participant WHERE call_id = (SELECT id FROM c3)), 2,
          'and they are written');
DROP TRIGGER pw_statement ON pgcall.participant;

-- A column added by hand gets its default; a check added by hand applies.
ALTER TABLE pgcall.participant ADD COLUMN pw_note text DEFAULT 'by hand';
SELECT pg_temp.act('pw-h');
CREATE TEMP TABLE c4 AS SELECT (pgcall.call_start(ARRAY['pw-i'])->'call'->>'id')::uuid AS id;
SELECT is((SELECT array_agg(pw_note) FROM pgcall.participant WHERE call_id = (SELECT id FROM c4)),
          ARRAY['by hand', 'by hand'], 'a column added by hand gets its default');
ALTER TABLE pgcall.participant DROP COLUMN pw_note;
ALTER TABLE pgcall.participant ADD CONSTRAINT pw_not_j CHECK (user_id <> 'pw-j');
SELECT pg_temp.act('pw-k');
SELECT throws_ok($$SELECT pgcall.call_start(ARRAY['pw-j'])$$, '23514',
                 'new row for relation "participant" violates check constraint "pw_not_j"',
                 'a check added by hand on participant applies to an invitee');
ALTER TABLE pgcall.participant DROP CONSTRAINT pw_not_j;
SELECT lives_ok($$SELECT pgcall.call_start(ARRAY['pw-j'])$$, 'and no longer once dropped');

-- The call's own row: row triggers added by hand fire for calls and
-- conferences, a statement trigger too, and the defaults are the table's.
TRUNCATE public.pw_seen;
CREATE FUNCTION public.pw_call() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.pw_seen (user_id, note) VALUES (NEW.created_by, TG_LEVEL || ' ' || NEW.kind);
    RETURN NULL;
END
$$;
CREATE TRIGGER pw_call AFTER INSERT ON pgcall.call FOR EACH ROW EXECUTE FUNCTION public.pw_call();
SELECT pg_temp.act('pw-l');
CREATE TEMP TABLE c5 AS SELECT (pgcall.call_start(ARRAY['pw-m'])->'call'->>'id')::uuid AS id;
SELECT pg_temp.act('pw-n');
SELECT lives_ok($$SELECT pgcall.conference_create('Rows')$$, 'a conference is created');
SELECT is((SELECT array_agg(user_id || ': ' || note ORDER BY n) FROM public.pw_seen),
          ARRAY['pw-l: ROW direct', 'pw-n: ROW conference'],
          'a row trigger added by hand on pgcall.call fires for a call and a conference');
DROP TRIGGER pw_call ON pgcall.call;
SELECT is((SELECT created_at = now() AND NOT is_public AND title IS NULL FROM pgcall.call WHERE id = (SELECT id FROM c5)),
          true, 'the call''s defaults are the table''s');
TRUNCATE public.pw_seen;
CREATE TRIGGER pw_statement AFTER INSERT ON pgcall.call FOR EACH STATEMENT
    EXECUTE FUNCTION public.pw_statement();
SELECT pg_temp.act('pw-o');
SELECT lives_ok($$SELECT pgcall.call_start(ARRAY['pw-p'])$$, 'a call starts');
SELECT is((SELECT array_agg(note) FROM public.pw_seen), ARRAY['STATEMENT'],
          'a statement trigger added by hand on pgcall.call fires');
DROP TRIGGER pw_statement ON pgcall.call;

SELECT * FROM finish();
ROLLBACK;
