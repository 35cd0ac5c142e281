-- Moderation as the event log records it, and retention in batches.
\set VERBOSITY terse
CREATE FUNCTION pg_temp.events_of(u text) RETURNS TABLE (type text, data jsonb)
LANGUAGE sql AS $$
    SELECT e.type, e.payload::jsonb -> 'data'
      FROM pgcall.event e WHERE u = ANY (e.recipients) ORDER BY e.id
$$;

-- ann joins a public conference and is removed by an administrator: she
-- and the others get participant.removed (her client leaves), and she cannot come back.
SET pgcall.user_id = 'mod-host';
SELECT pgcall.conference_create('Moderated', is_public => true)->'call'->>'id' AS call_id \gset
SET pgcall.user_id = 'mod-ann';
SELECT pgcall.call_join(:'call_id') IS NOT NULL AS joined;
RESET pgcall.user_id;
SELECT pgcall.admin_remove_participant(:'call_id', 'mod-ann', reason => 'spam');
SELECT * FROM pg_temp.events_of('mod-ann');
SELECT * FROM pg_temp.events_of('mod-host');
SET pgcall.user_id = 'mod-ann';
SELECT pgcall.call_join(:'call_id');
RESET pgcall.user_id;

-- An administrator ends the call for everyone.
SELECT pgcall.admin_call_end(:'call_id') - 'call_id' - 'ended_at' - 'duration_seconds';
SELECT type, data - 'duration_seconds' AS data FROM pg_temp.events_of('mod-host') WHERE type = 'call.ended';
SELECT peak_participants, participant_count FROM pgcall.call WHERE id = :'call_id';

-- Retention: five calls ended 100 days ago, one yesterday, one still live.
SET pgcall.user_id = 'old-caller';
SELECT count(pgcall.call_start(ARRAY['old-callee-' || i])) FROM generate_series(1, 7) i;
SELECT count(pgcall.call_cancel(id)) FROM (SELECT id FROM pgcall.call WHERE created_by = 'old-caller'
                                            ORDER BY id OFFSET 1) c;
RESET pgcall.user_id;
UPDATE pgcall.call SET ended_at = now() - interval '100 days'
 WHERE created_by = 'old-caller' AND status = 'ended'
   AND id <> (SELECT id FROM pgcall.call WHERE created_by = 'old-caller' AND status = 'ended' ORDER BY id LIMIT 1);
UPDATE pgcall.call SET ended_at = now() - interval '1 day'
 WHERE created_by = 'old-caller' AND status = 'ended' AND ended_at > now() - interval '1 hour';
SELECT status, ended_at < now() - interval '90 days' AS old, count(*)
  FROM pgcall.call WHERE created_by = 'old-caller' GROUP BY 1, 2 ORDER BY 1, 2;
-- and a rate-limit window that closed long ago.
UPDATE pgcall.rate_limit SET window_start = now() - interval '2 hours' WHERE user_id = 'old-caller';

-- purge_batches commits after every batch, so it cannot run inside a transaction block.
BEGIN;
CALL pgcall.purge_batches(2);
ROLLBACK;
CALL pgcall.purge_batches(2);
SELECT status, count(*) FROM pgcall.call WHERE created_by = 'old-caller' GROUP BY 1 ORDER BY 1;
SELECT count(*) AS orphans FROM pgcall.participant p
 WHERE NOT EXISTS (SELECT 1 FROM pgcall.call c WHERE c.id = p.call_id);
SELECT count(*) AS windows FROM pgcall.rate_limit WHERE user_id = 'old-caller';
SELECT pgcall.purge(2);
