-------------------------------------------------------------------------------
-- The HTTP and WebSocket API
--
-- pgcall.rpc runs a function the way PostgREST resolves /rpc/<fn>; in schema
-- pgcall it reaches only the functions listed in pgcall.api_function.
-------------------------------------------------------------------------------

CREATE FUNCTION pgcall.rpc(
    schema text, fn text, args jsonb DEFAULT '{}', single boolean DEFAULT false,
    query text DEFAULT NULL, prefer text DEFAULT NULL, accept text DEFAULT NULL,
    range text DEFAULT NULL,
    OUT kind text, OUT body text, OUT rows bigint, OUT content_range text)
RETURNS record
AS 'MODULE_PATHNAME', 'pgcall_rpc'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION pgcall.rpc(text, text, jsonb, boolean, text, text, text, text) IS
'Call schema.fn with the named arguments in args, as the current role, the way PostgREST resolves /rpc/fn.  Only schemas listed in pgcall.rpc_schemas are reachable; in schema pgcall only the functions listed in pgcall.api_function; never trigger, internal or PostgreSQL''s own functions, nor rpc itself.  query is a PostgREST query string (select, filters, or/and, order, limit, offset) applied to the result; prefer, accept and range are the Prefer, Accept and Range header values (tx=rollback, handling=strict, max-affected, count; text/csv, application/vnd.pgrst.object+json).  args NULL takes the arguments from the query string, as GET does.  The function runs with its schema first on the search_path.  kind is void, scalar, object, array or csv; body is the result; rows counts the rows (all of them with count); content_range is the Content-Range value.  single asks for exactly one row as an object.  Used by the bridge for HTTP and WebSocket calls; see docs/protocol.md.';

GRANT EXECUTE ON FUNCTION pgcall.rpc(text, text, jsonb, boolean, text, text, text, text) TO pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin;

-- The functions of schema pgcall that pgcall.rpc (so HTTP and WebSocket
-- clients) may call.  Everything else in the schema (helpers of policies
-- and reports, trigger functions, the bridge's own statements, rpc itself)
-- is reachable from SQL only, by the roles granted EXECUTE.
CREATE TABLE pgcall.api_function (
    name text PRIMARY KEY
);

COMMENT ON TABLE pgcall.api_function IS
'The functions of schema pgcall reachable through pgcall.rpc (POST /rpc/<name>, WebSocket calls).  EXECUTE grants still decide who may call each.';

ALTER TABLE pgcall.api_function ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_function_read ON pgcall.api_function FOR SELECT USING (true);
GRANT SELECT ON pgcall.api_function TO PUBLIC;

INSERT INTO pgcall.api_function (name) VALUES
    -- Errors, identity, tokens
    ('error_codes'), ('state_transitions'), ('event_types'), ('current_user_id'),
    ('secret_is_set'), ('turn_credentials'), ('agora_configured'), ('agora_rtc_token'),
    ('agora_rtc_token_with_privileges'), ('agora_rtm_token'), ('agora_rtc_token_006'),
    ('agora_rtm_token_006'), ('agora_token_inspect'), ('pseudonym'), ('channel_token'),
    -- Calls (32-call-api.sql, 34-conference.sql, 36-history.sql)
    ('call_start'), ('call_session'), ('call_invite'), ('call_accept'), ('call_join'),
    ('call_reject'), ('call_cancel'), ('call_leave'), ('call_end'), ('call_set_status'),
    ('call_set_media'), ('call_media_session'), ('call_signal'), ('call_get'),
    ('call_participants'), ('call_history_delete'), ('call_active'), ('call_logs'),
    ('call_history'), ('call_missed_count'), ('conference_create'), ('calls_mine'),
    ('conferences_public'),
    -- Events, presence, preferences
    ('events_since'), ('presence'), ('presence_subscribe'), ('preferences_get'),
    ('preferences_set'),
    -- Administration (70-admin.sql)
    ('admin_call_end'), ('admin_remove_participant'), ('admin_call_details'),
    ('admin_analytics'), ('admin_calls'),
    -- Webhooks (80-webhook.sql)
    ('webhook_event_types'), ('webhook_endpoint_create'), ('webhook_endpoint_update'),
    ('webhook_endpoint_rotate_secret'), ('webhook_endpoint_delete'), ('webhook_endpoints'),
    ('webhook_deliveries'), ('webhook_attempts'), ('webhook_body'), ('webhook_replay'),
    ('webhook_replay_dead'), ('webhook_purge');
