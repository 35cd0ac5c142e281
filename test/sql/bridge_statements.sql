-- Every statement pgcall-bridge sends (pgcall-bridge --print-sql), prepared
-- against this extension, and the ones that read run as the bridge's role:
-- an extension change that breaks the bridge fails make installcheck.
-- test/suites/10-regress checks that this file holds each statement the
-- binary prints, verbatim, one per line (followed by ';').

PREPARE bridge_identity AS
SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true), set_config('request.headers', $3, true), set_config('request.method', $4, true), set_config('request.path', $5, true), set_config('statement_timeout', $6, true);
PREPARE bridge_identity_ro AS
SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true), set_config('request.headers', $3, true), set_config('request.method', $4, true), set_config('request.path', $5, true), set_config('statement_timeout', $6, true), set_config('transaction_read_only', 'on', true);
PREPARE bridge_rpc AS
SELECT kind, body, rows, content_range FROM pgcall.rpc($1::text, $2::text, $3::jsonb, $4::boolean, $5::text, $6::text, $7::text, $8::text);
PREPARE bridge_ws_auth AS
SELECT pgcall.current_user_id();
PREPARE bridge_events AS
SELECT id, recipients, payload FROM pgcall.bridge_events($1::bigint, $2::integer, $3::bigint);
PREPARE bridge_events_since AS
SELECT id, payload FROM pgcall.events_since($1::bigint, $2::integer);
PREPARE bridge_horizon AS
SELECT pgcall.bridge_event_horizon();
PREPARE bridge_wait AS
SELECT finished, below FROM pgcall.bridge_wait($1::bigint, $2::integer);
PREPARE bridge_heartbeat AS
SELECT pgcall.bridge_heartbeat($1::uuid);
PREPARE bridge_presence AS
SELECT pgcall.bridge_presence($1::uuid, $2::text, $3::integer);
PREPARE bridge_unregister AS
SELECT pgcall.bridge_unregister($1::uuid);
PREPARE bridge_expire AS
SELECT pgcall.call_expire();
PREPARE bridge_disconnect AS
SELECT pgcall.participant_disconnect_sweep();
PREPARE bridge_purge AS
SELECT (pgcall.purge($1::integer)->>'more')::boolean;
PREPARE bridge_health AS
SELECT pgcall.agora_configured(), (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pgcall');
PREPARE bridge_set_role AS
SELECT set_config('role', $1, false), set_config('statement_timeout', $2, false);
PREPARE bridge_listen AS
SELECT pgcall.bridge_listen();
PREPARE bridge_reset_check AS
SELECT pg_catalog.pg_advisory_unlock_all(), pg_catalog.pg_my_temp_schema() <> 0 AND EXISTS (SELECT FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.pg_my_temp_schema()) OR EXISTS (SELECT FROM pg_catalog.pg_prepared_statements WHERE from_sql);
PREPARE bridge_webhook_claim AS
SELECT id, attempt, url, delivery_id, event_type, body, signature, timeout_ms, response_max, allow_private FROM pgcall.bridge_webhook_claim($1::uuid, $2::integer);
PREPARE bridge_webhook_report AS
SELECT pgcall.bridge_webhook_report($1::uuid, $2::jsonb);
PREPARE bridge_webhooks_enabled AS
SELECT pgcall.bridge_webhooks_enabled();
PREPARE bridge_sio_connect AS
SELECT pgcall.current_user_id(), pgcall.dialect_rules($1::text, $2::text)::text;
PREPARE bridge_sio_call AS
SELECT pgcall.dialect_call($1::text, $2::text, $3::jsonb)::text;
PREPARE bridge_sio_media AS
SELECT pgcall.call_media_session($1::uuid)::text;
PREPARE bridge_dialect_http AS
SELECT status, response, retry_after FROM pgcall.dialect_http($1::text, $2::text, $3::text, $4::text, $5::text);

-- The reads the bridge's own connection makes, as pgcall_bridge; results
-- depend on earlier files, so only errors are shown.
SET ROLE pgcall_bridge;
\o /dev/null
EXECUTE bridge_horizon;
EXECUTE bridge_events(0, 5, NULL);
EXECUTE bridge_events(0, 5, 9007199254740991);
EXECUTE bridge_health;
EXECUTE bridge_heartbeat('00000000-0000-4000-8000-00000000b001');
EXECUTE bridge_presence('00000000-0000-4000-8000-00000000b001', 'contract-user', 1);
EXECUTE bridge_presence('00000000-0000-4000-8000-00000000b001', 'contract-user', 0);
EXECUTE bridge_unregister('00000000-0000-4000-8000-00000000b001');
EXECUTE bridge_disconnect;
EXECUTE bridge_reset_check;
EXECUTE bridge_listen;
EXECUTE bridge_webhooks_enabled;
EXECUTE bridge_webhook_claim('00000000-0000-4000-8000-00000000b001', 1);
\o
-- bridge_wait answers nulls in 'lock' order, a count and a horizon in 'horizon'
SELECT (finished IS NULL) = (current_setting('pgcall.event_order') = 'lock') AS as_ordered,
       (below IS NULL) = (finished IS NULL) AS both
  FROM pgcall.bridge_wait(NULL, 0);
RESET ROLE;
SELECT count(*) AS statements FROM pg_prepared_statements WHERE name LIKE 'bridge\_%';

-- The session reset after a request that ran code from outside pgcall.
CLOSE ALL;
UNLISTEN *;
RESET ALL;
RESET ROLE;
DISCARD SEQUENCES;
DISCARD ALL;
SELECT count(*) AS after_reset FROM pg_prepared_statements;
