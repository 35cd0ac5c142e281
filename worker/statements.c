/*
 * statements.c: the text of every statement the bridge sends, and of the
 * session reset that follows untrusted code on a pooled connection.  db.c
 * prepares and runs them; test/sql/bridge_statements.sql holds each one
 * (pgcall-bridge --print-sql), so an extension change that breaks the
 * bridge fails make installcheck.
 */
#include "statements.h"

const struct sqldef sqldefs[SQL__COUNT] = {
	[SQL_IDENTITY] = {"pgcall_identity",
		"SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true),"
		" set_config('request.headers', $3, true), set_config('request.method', $4, true),"
		" set_config('request.path', $5, true), set_config('statement_timeout', $6, true)", true},
	[SQL_IDENTITY_RO] = {"pgcall_identity_ro",
		"SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true),"
		" set_config('request.headers', $3, true), set_config('request.method', $4, true),"
		" set_config('request.path', $5, true), set_config('statement_timeout', $6, true),"
		" set_config('transaction_read_only', 'on', true)", true},
	[SQL_RPC] = {"pgcall_rpc",
		"SELECT kind, body, rows, content_range FROM pgcall.rpc($1::text, $2::text, $3::jsonb,"
		" $4::boolean, $5::text, $6::text, $7::text, $8::text)", true},
	[SQL_WS_AUTH] = {"pgcall_ws_auth", "SELECT pgcall.current_user_id()", true},
	[SQL_EVENTS] = {"pgcall_events",
		"SELECT id, recipients, payload FROM pgcall.bridge_events($1::bigint, $2::integer, $3::bigint)", true},
	[SQL_EVENTS_SINCE] = {"pgcall_events_since",
		"SELECT id, payload FROM pgcall.events_since($1::bigint, $2::integer)", true},
	[SQL_HORIZON] = {"pgcall_horizon", "SELECT pgcall.bridge_event_horizon()", true},
	[SQL_WAIT] = {"pgcall_wait",
		"SELECT finished, below FROM pgcall.bridge_wait($1::bigint, $2::integer)", true},
	[SQL_HEARTBEAT] = {"pgcall_heartbeat", "SELECT pgcall.bridge_heartbeat($1::uuid)", true},
	[SQL_PRESENCE] = {"pgcall_presence",
		"SELECT pgcall.bridge_presence($1::uuid, $2::text, $3::integer)", true},
	[SQL_UNREGISTER] = {"pgcall_unregister", "SELECT pgcall.bridge_unregister($1::uuid)", true},
	[SQL_EXPIRE] = {"pgcall_expire", "SELECT pgcall.call_expire()", true},
	[SQL_DISCONNECT] = {"pgcall_disconnect", "SELECT pgcall.participant_disconnect_sweep()", true},
	[SQL_PURGE] = {"pgcall_purge", "SELECT (pgcall.purge($1::integer)->>'more')::boolean", true},
	[SQL_HEALTH] = {"pgcall_health",
		"SELECT pgcall.agora_configured(),"
		" (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pgcall')", true},
	[SQL_SET_ROLE] = {NULL,
		"SELECT set_config('role', $1, false), set_config('statement_timeout', $2, false)", false},
	[SQL_LISTEN] = {NULL, "SELECT pgcall.bridge_listen()", false},
	[SQL_SIO_CONNECT] = {"pgcall_sio_connect",
		"SELECT pgcall.current_user_id(), pgcall.dialect_rules($1::text, $2::text)::text", true},
	[SQL_SIO_CALL] = {"pgcall_sio_call",
		"SELECT pgcall.dialect_call($1::text, $2::text, $3::jsonb)::text", true},
	[SQL_SIO_MEDIA] = {"pgcall_sio_media", "SELECT pgcall.call_media_session($1::uuid)::text", true},
	[SQL_DIALECT_HTTP] = {"pgcall_dialect_http",
		"SELECT status, response, retry_after FROM pgcall.dialect_http($1::text, $2::text, $3::text,"
		" $4::text, $5::text)", true},
	/* prepared: planning its subqueries on every request cost more than the rest */
	[SQL_WEBHOOK_CLAIM] = {"pgcall_webhook_claim",
		"SELECT id, attempt, url, delivery_id, event_type, body, signature, timeout_ms, response_max,"
		" allow_private FROM pgcall.bridge_webhook_claim($1::uuid, $2::integer)", true},
	[SQL_WEBHOOK_REPORT] = {"pgcall_webhook_report",
		"SELECT pgcall.bridge_webhook_report($1::uuid, $2::jsonb)", true},
	[SQL_WEBHOOK_ENABLED] = {"pgcall_webhook_enabled", "SELECT pgcall.bridge_webhooks_enabled()", true},
	[SQL_RESET_CHECK] = {"pgcall_reset_check",
		"SELECT pg_catalog.pg_advisory_unlock_all(),"
		" pg_catalog.pg_my_temp_schema() <> 0 AND EXISTS (SELECT FROM pg_catalog.pg_class"
		" WHERE relnamespace = pg_catalog.pg_my_temp_schema())"
		" OR EXISTS (SELECT FROM pg_catalog.pg_prepared_statements WHERE from_sql)", true},
};

/*
 * Session reset.  A request runs as one implicit transaction, so its
 * set_config(..., true) calls end with it, but a function can leave state on
 * the pooled session for whoever comes next: session settings (including
 * role), advisory locks, LISTEN, WITH HOLD cursors, sequence caches,
 * temporary tables, SQL-level prepared statements.  After a job that ran
 * code from outside the schema pgcall (whose API functions are trusted not
 * to), these statements run before its Sync, in the request's own
 * transaction (a transaction of its own would halve the pool's
 * throughput); when the request fails, its transaction skips them, so they
 * follow the Sync as one more segment.
 *
 * DISCARD ALL would do it in one statement, but it also drops the bridge's
 * own prepared statements, which would then be prepared again on every
 * request; and dropping only the others needs a DO block, which costs more
 * than the request.  So the first statement only looks for temporary
 * relations and SQL-level prepared statements (rare), and when it finds any
 * (its second column is true) a DISCARD ALL follows in a segment of its
 * own and our statements are prepared again.  When any of these fails, the
 * connection is closed and opened afresh.  The pool connections set nothing at
 * session level themselves (their settings are per job), so RESET ALL
 * undoes nothing of ours.
 */
const char *const reset_sql[RESET_SQL_COUNT] = {
	NULL,						/* SQL_RESET_CHECK */
	"CLOSE ALL",
	"UNLISTEN *",
	"RESET ALL",
	"RESET ROLE",
	"DISCARD SEQUENCES",
};

/*
 * --print-sql: every statement above, one per line, so that a test can check
 * that the extension still accepts each of them (test/sql/bridge_statements.sql).
 */
void
statements_print(FILE *out)
{
	for (int i = 0; i < SQL__COUNT; i++)
		fprintf(out, "%s\n", sqldefs[i].sql);
	for (size_t i = 1; i < RESET_SQL_COUNT; i++)
		fprintf(out, "%s\n", reset_sql[i]);
	fprintf(out, "DISCARD ALL\n");
}
