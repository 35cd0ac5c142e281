/*
 * metrics.c: counters and histograms in B.m, rendered as Prometheus text
 * for GET /metrics.  Updated from the one loop thread only.
 */
#include "bridge.h"

#include <stdlib.h>

#include "json.h"

const double hist_bounds[HIST_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 10
};

void
hist_observe(struct histogram *h, double seconds)
{
	int			i = 0;

	while (i < HIST_BUCKETS && seconds > hist_bounds[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += seconds;
}

static void
render_hist(struct jbuf *b, const char *name, const char *help, const struct histogram *h)
{
	uint64_t	cum = 0;

	jb_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (int i = 0; i < HIST_BUCKETS; i++)
	{
		cum += h->bucket[i];
		jb_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, hist_bounds[i], (unsigned long long) cum);
	}
	cum += h->bucket[HIST_BUCKETS];
	jb_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
			  (unsigned long long) cum, name, h->sum, name, (unsigned long long) h->count);
}

static void
counter(struct jbuf *b, const char *name, const char *help, uint64_t v)
{
	jb_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
			  (unsigned long long) v);
}

static void
gauge(struct jbuf *b, const char *name, const char *help, long long v)
{
	jb_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help, name, name, v);
}

char *
metrics_render(size_t *len)
{
	const struct metrics *m = &B.m;
	struct jbuf b;

	jb_init(&b);
	jb_puts(&b, "# HELP pgcall_bridge_http_requests_total HTTP requests answered, by status.\n"
			"# TYPE pgcall_bridge_http_requests_total counter\n");
	for (int s = 100; s < 600; s++)
		if (m->http_by_status[s])
			jb_printf(&b, "pgcall_bridge_http_requests_total{code=\"%d\"} %llu\n", s,
					  (unsigned long long) m->http_by_status[s]);
	render_hist(&b, "pgcall_bridge_http_request_duration_seconds",
				"Time from request to reply.", &m->http_latency);
	render_hist(&b, "pgcall_bridge_pool_wait_seconds",
				"Time a job waited for a pool connection.", &m->pool_wait);
	counter(&b, "pgcall_bridge_pool_rejected_total", "Jobs refused because the pool queue was full.",
			m->pool_rejected);
	gauge(&b, "pgcall_bridge_pool_connections", "Pool connections configured.", B.cfg.pool_size);
	gauge(&b, "pgcall_bridge_pool_connections_up", "Pool connections connected.", pool_up_count());
	gauge(&b, "pgcall_bridge_pool_connections_busy", "Pool connections running a job.", pool_busy_count());
	gauge(&b, "pgcall_bridge_pool_queue_length", "Jobs waiting for a pool connection.", pool_queue_len());
	gauge(&b, "pgcall_bridge_listener_up", "1 when the event listener is LISTENing.", events_live());
	gauge(&b, "pgcall_bridge_event_cursor", "Highest event id fetched.", (long long) events_cursor());
	counter(&b, "pgcall_bridge_db_reconnects_total", "Database connections lost.", m->db_reconnects);
	counter(&b, "pgcall_bridge_listener_reconnects_total", "Listener connections lost.",
			m->listener_reconnects);
	gauge(&b, "pgcall_bridge_websockets", "Open WebSocket connections.", ws_session_count());
	gauge(&b, "pgcall_bridge_users", "Users with sockets on this bridge.", ws_user_count());
	gauge(&b, "pgcall_bridge_socketio_polling", "Socket.IO sessions on HTTP long-polling.",
		  sio_poll_count(false));
	gauge(&b, "pgcall_bridge_socketio_polls_waiting", "Long-poll GETs waiting for packets.",
		  sio_poll_count(true));
	counter(&b, "pgcall_bridge_websockets_accepted_total", "WebSocket upgrades accepted.", m->ws_accepted);
	counter(&b, "pgcall_bridge_websockets_refused_total", "WebSocket upgrades refused.", m->ws_refused);
	jb_puts(&b, "# HELP pgcall_bridge_websockets_closed_total WebSockets closed by the bridge, by reason.\n"
			"# TYPE pgcall_bridge_websockets_closed_total counter\n");
	jb_printf(&b, "pgcall_bridge_websockets_closed_total{reason=\"slow\"} %llu\n"
			  "pgcall_bridge_websockets_closed_total{reason=\"too_big\"} %llu\n"
			  "pgcall_bridge_websockets_closed_total{reason=\"auth\"} %llu\n",
			  (unsigned long long) m->ws_closed_slow, (unsigned long long) m->ws_closed_too_big,
			  (unsigned long long) m->ws_closed_auth);
	counter(&b, "pgcall_bridge_ws_messages_received_total", "Client messages received.", m->ws_messages_in);
	counter(&b, "pgcall_bridge_ws_messages_sent_total", "Messages written to clients.", m->ws_messages_out);
	jb_puts(&b, "# HELP pgcall_bridge_ws_calls_total Function calls over WebSockets, by outcome.\n"
			"# TYPE pgcall_bridge_ws_calls_total counter\n");
	jb_printf(&b, "pgcall_bridge_ws_calls_total{outcome=\"ok\"} %llu\n"
			  "pgcall_bridge_ws_calls_total{outcome=\"error\"} %llu\n",
			  (unsigned long long) m->ws_calls_ok, (unsigned long long) m->ws_calls_error);
	jb_puts(&b, "# HELP pgcall_bridge_events_total Events, by outcome.\n"
			"# TYPE pgcall_bridge_events_total counter\n");
	jb_printf(&b, "pgcall_bridge_events_total{outcome=\"fetched\"} %llu\n"
			  "pgcall_bridge_events_total{outcome=\"delivered\"} %llu\n"
			  "pgcall_bridge_events_total{outcome=\"resumed\"} %llu\n"
			  "pgcall_bridge_events_total{outcome=\"no_socket_here\"} %llu\n",
			  (unsigned long long) m->events_fetched, (unsigned long long) m->events_delivered,
			  (unsigned long long) m->events_resumed, (unsigned long long) m->events_unrouted);
	counter(&b, "pgcall_bridge_event_fetch_errors_total", "Event fetches that failed.",
			m->events_fetch_errors);
	counter(&b, "pgcall_bridge_presence_updates_total", "Presence updates the database accepted.",
			m->presence_updates);
	counter(&b, "pgcall_bridge_call_expire_runs_total", "call_expire() sweeps run.", m->expire_runs);
	counter(&b, "pgcall_bridge_call_expire_errors_total", "call_expire() sweeps that failed.",
			m->expire_errors);
	counter(&b, "pgcall_bridge_disconnect_sweep_runs_total",
			"participant_disconnect_sweep() sweeps run.", m->disconnect_runs);
	counter(&b, "pgcall_bridge_disconnect_sweep_errors_total",
			"participant_disconnect_sweep() sweeps that failed.", m->disconnect_errors);
	counter(&b, "pgcall_bridge_purge_runs_total", "pgcall.purge() runs.", m->purge_runs);
	counter(&b, "pgcall_bridge_purge_errors_total", "pgcall.purge() runs that failed.",
			m->purge_errors);
	counter(&b, "pgcall_bridge_heartbeat_errors_total", "Heartbeats that failed.", m->heartbeat_errors);
	counter(&b, "pgcall_bridge_webhook_attempts_total", "Webhook delivery attempts started.",
			m->webhook_attempts);
	counter(&b, "pgcall_bridge_webhooks_delivered_total", "Webhook attempts answered with 2xx.",
			m->webhooks_delivered);
	counter(&b, "pgcall_bridge_webhooks_failed_total", "Webhook attempts that failed (retried later).",
			m->webhooks_failed);
	counter(&b, "pgcall_bridge_webhook_db_errors_total", "Webhook claims and reports the database refused.",
			m->webhook_claim_errors + m->webhook_report_errors);
	gauge(&b, "pgcall_bridge_http_in_flight", "HTTP requests waiting for the database.", B.http_inflight);
	gauge(&b, "pgcall_bridge_webhooks_in_flight", "Webhook deliveries open.", webhook_inflight_count());
	return jb_take(&b, len);
}
