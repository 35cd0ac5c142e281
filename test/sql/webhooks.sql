-- Webhooks: the outbox is written at commit, in the transaction of the change,
-- and only if it commits; savepoints rolled back take their webhooks along.
SELECT count(*) > 0 AS loaded FROM pgcall.webhook_event_types();
SET pgcall.webhook_allow_private = on;
SELECT pgcall.webhook_endpoint_create('http://127.0.0.1:9/hook') ? 'secret' AS created;
SELECT pgcall.webhook_endpoint_create('http://127.0.0.1:9/rings',
    ARRAY['call.ring_offline', 'call.ring_stopped']) ? 'secret' AS created;
CREATE FUNCTION pg_temp.outbox() RETURNS TABLE (endpoint bigint, type text, recipients jsonb, reason text)
LANGUAGE sql AS $$
    SELECT endpoint_id, event_type, body::jsonb->'recipients', body::jsonb->>'reason'
      FROM pgcall.webhook_delivery ORDER BY id
$$;

-- a committed call: its deliveries are there
SET pgcall.user_id = 'wh-alice';
SELECT pgcall.call_start(ARRAY['wh-bob'])->'call'->>'id' AS call_id \gset
SELECT * FROM pg_temp.outbox();

-- a rolled-back transaction writes nothing
BEGIN;
SELECT pgcall.call_start(ARRAY['wh-carol']) IS NOT NULL AS started;
ROLLBACK;
SELECT count(*) AS deliveries FROM pgcall.webhook_delivery;

-- a rolled-back savepoint takes its webhooks, the rest commits
SET pgcall.user_id = 'wh-bob';
BEGIN;
SAVEPOINT s;
SELECT pgcall.call_reject(:'call_id') IS NOT NULL AS rejected;
ROLLBACK TO s;
SELECT pgcall.call_accept(:'call_id') IS NOT NULL AS accepted;
COMMIT;
SELECT * FROM pg_temp.outbox() OFFSET 4;

-- WebRTC signals and media toggles never make webhooks
SELECT pgcall.call_signal(:'call_id', 'wh-alice', 'answer', '{"type": "answer", "sdp": "v=0"}') IS NOT NULL AS signalled;
SELECT pgcall.call_set_media(:'call_id', mic_muted => true) IS NOT NULL AS muted;
SELECT count(*) AS deliveries FROM pgcall.webhook_delivery;

-- a disabled endpoint gets nothing
RESET pgcall.user_id;
SELECT pgcall.webhook_endpoint_update(e.id, enabled => false)->>'enabled' AS enabled
  FROM pgcall.webhook_endpoint e WHERE url LIKE '%/hook';
SET pgcall.user_id = 'wh-alice';
SELECT pgcall.call_end(:'call_id') IS NOT NULL AS ended;
SELECT count(*) AS deliveries FROM pgcall.webhook_delivery;

-- purge() deletes finished deliveries after pgcall.webhook_retention
RESET pgcall.user_id;
UPDATE pgcall.webhook_delivery SET status = 'delivered', finished_at = now() - interval '8 days'
 WHERE event_type = 'call.started';
SELECT pgcall.purge()->'webhooks_deleted' AS webhooks_deleted;
SELECT count(*) AS deliveries FROM pgcall.webhook_delivery;

-- webhooks come from the event queue: the one call.incoming event that rings
-- a group's invitees is one delivery addressed to them all, as the event is
RESET pgcall.user_id;
SELECT pgcall.webhook_endpoint_update(e.id, enabled => true)->>'enabled' AS enabled
  FROM pgcall.webhook_endpoint e WHERE url LIKE '%/hook';
SET pgcall.user_id = 'wh-alice';
SELECT pgcall.call_start(ARRAY['wh-erin', 'wh-dave'], is_group => true)->'call'->>'id' AS group_id \gset
SELECT type, recipients FROM pg_temp.outbox() o
 WHERE o.type IN ('call.started', 'call.incoming') AND o.recipients ?| ARRAY['wh-dave', 'wh-erin'];
SELECT recipients FROM pgcall.event WHERE call_id = :'group_id' AND type = 'call.incoming';
