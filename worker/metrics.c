/*
 * metrics.c: counters and histograms, rendered as Prometheus text for
 * GET /metrics.  Updated from the one loop thread only.  The counts are
 * this file's alone (metrics.h is the way in); gauges are read through the
 * sources main.c registers.
 */
#include "metrics.h"

#include <stdint.h>

#include <stdlib.h>

#include "json.h"

#define HIST_BUCKETS 14

struct histogram
{
	uint64_t	bucket[HIST_BUCKETS + 1];
	uint64_t	count;
	double		sum;
};

static struct
{
	uint64_t	http_by_status[600];
	uint64_t	counter[M__COUNT];
	struct histogram hist[H__COUNT];
	metric_gauge_fn gauge[G__COUNT];
}			M;

static const double hist_bounds[HIST_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 10
};

void
metrics_inc(enum metric_counter c)
{
	M.counter[c]++;
}

void
metrics_http_status(int status)
{
	if (status >= 100 && status < 600)
		M.http_by_status[status]++;
}

void
metrics_gauge_source(enum metric_gauge g, metric_gauge_fn fn)
{
	M.gauge[g] = fn;
}

static long long
gauge_value(enum metric_gauge g)
{
	return M.gauge[g] ? M.gauge[g] () : 0;
}

void
metrics_observe(enum metric_histogram which, double seconds)
{
	struct histogram *h = &M.hist[which];
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
	const uint64_t *m = M.counter;
	struct jbuf b;

	jb_init(&b);
	jb_puts(&b, "# HELP pgcall_bridge_http_requests_total HTTP requests answered, by status.\n"
			"# TYPE pgcall_bridge_http_requests_total counter\n");
	for (int s = 100; s < 600; s++)
		if (M.http_by_status[s])
			jb_printf(&b, "pgcall_bridge_http_requests_total{code=\"%d\"} %llu\n", s,
					  (unsigned long long) M.http_by_status[s]);
	render_hist(&b, "pgcall_bridge_http_request_duration_seconds",
				"Time from request to reply.", &M.hist[H_HTTP_LATENCY]);
	render_hist(&b, "pgcall_bridge_pool_wait_seconds",
				"Time a job waited for a pool connection.", &M.hist[H_POOL_WAIT]);
	counter(&b, "pgcall_bridge_pool_rejected_total", "Jobs refused because the pool queue was full.",
			m[M_POOL_REJECTED]);
	gauge(&b, "pgcall_bridge_pool_connections", "Pool connections configured.", gauge_value(G_POOL_SIZE));
	gauge(&b, "pgcall_bridge_pool_connections_up", "Pool connections connected.", gauge_value(G_POOL_UP));
	gauge(&b, "pgcall_bridge_pool_connections_busy", "Pool connections running a job.", gauge_value(G_POOL_BUSY));
	gauge(&b, "pgcall_bridge_pool_queue_length", "Jobs waiting for a pool connection.", gauge_value(G_POOL_QUEUE));
	gauge(&b, "pgcall_bridge_listener_up", "1 when the event listener is LISTENing.", gauge_value(G_LISTENER_UP));
	gauge(&b, "pgcall_bridge_event_cursor", "Highest event id fetched.", gauge_value(G_EVENT_CURSOR));
	counter(&b, "pgcall_bridge_db_reconnects_total", "Database connections lost.", m[M_DB_RECONNECTS]);
	counter(&b, "pgcall_bridge_listener_reconnects_total", "Listener connections lost.",
			m[M_LISTENER_RECONNECTS]);
	gauge(&b, "pgcall_bridge_websockets", "Open WebSocket connections.", gauge_value(G_WEBSOCKETS));
	gauge(&b, "pgcall_bridge_users", "Users with sockets on this bridge.", gauge_value(G_USERS));
	gauge(&b, "pgcall_bridge_socketio_polling", "Socket.IO sessions on HTTP long-polling.",
		  gauge_value(G_SIO_POLLING));
	gauge(&b, "pgcall_bridge_socketio_polls_waiting", "Long-poll GETs waiting for packets.",
		  gauge_value(G_SIO_POLLS_WAITING));
	counter(&b, "pgcall_bridge_websockets_accepted_total", "WebSocket upgrades accepted.", m[M_WS_ACCEPTED]);
	counter(&b, "pgcall_bridge_websockets_refused_total", "WebSocket upgrades refused.", m[M_WS_REFUSED]);
	jb_puts(&b, "# HELP pgcall_bridge_websockets_closed_total WebSockets closed by the bridge, by reason.\n"
			"# TYPE pgcall_bridge_websockets_closed_total counter\n");
	jb_printf(&b, "pgcall_bridge_websockets_closed_total{reason=\"slow\"} %llu\n"
			  "pgcall_bridge_websockets_closed_total{reason=\"too_big\"} %llu\n"
			  "pgcall_bridge_websockets_closed_total{reason=\"auth\"} %llu\n",
			  (unsigned long long) m[M_WS_CLOSED_SLOW], (unsigned long long) m[M_WS_CLOSED_TOO_BIG],
			  (unsigned long long) m[M_WS_CLOSED_AUTH]);
	jb_puts(&b, "# HELP pgcall_bridge_socketio_media_total Socket.IO emits that read $.media, by what filled it.\n"
			"# TYPE pgcall_bridge_socketio_media_total counter\n");
	jb_printf(&b, "pgcall_bridge_socketio_media_total{outcome=\"session\"} %llu\n"
			  "pgcall_bridge_socketio_media_total{outcome=\"none\"} %llu\n",
			  (unsigned long long) m[M_SIO_MEDIA_TOKEN], (unsigned long long) m[M_SIO_MEDIA_NONE]);
	counter(&b, "pgcall_bridge_ws_messages_received_total", "Client messages received.", m[M_WS_MESSAGES_IN]);
	counter(&b, "pgcall_bridge_ws_messages_sent_total", "Messages written to clients.", m[M_WS_MESSAGES_OUT]);
	jb_puts(&b, "# HELP pgcall_bridge_ws_calls_total Function calls over WebSockets, by outcome.\n"
			"# TYPE pgcall_bridge_ws_calls_total counter\n");
	jb_printf(&b, "pgcall_bridge_ws_calls_total{outcome=\"ok\"} %llu\n"
			  "pgcall_bridge_ws_calls_total{outcome=\"error\"} %llu\n",
			  (unsigned long long) m[M_WS_CALLS_OK], (unsigned long long) m[M_WS_CALLS_ERROR]);
	jb_puts(&b, "# HELP pgcall_bridge_events_total Events, by outcome.\n"
			"# TYPE pgcall_bridge_events_total counter\n");
	jb_printf(&b, "pgcall_bridge_events_total{outcome=\"fetched\"} %llu\n"
			  "pgcall_bridge_events_total{outcome=\"delivered\"} %llu\n"
			  "pgcall_bridge_events_total{outcome=\"resumed\"} %llu\n"
			  "pgcall_bridge_events_total{outcome=\"no_socket_here\"} %llu\n",
			  (unsigned long long) m[M_EVENTS_FETCHED], (unsigned long long) m[M_EVENTS_DELIVERED],
			  (unsigned long long) m[M_EVENTS_RESUMED], (unsigned long long) m[M_EVENTS_UNROUTED]);
	counter(&b, "pgcall_bridge_event_fetch_errors_total", "Event fetches that failed.",
			m[M_EVENTS_FETCH_ERRORS]);
	counter(&b, "pgcall_bridge_presence_updates_total", "Presence updates the database accepted.",
			m[M_PRESENCE_UPDATES]);
	counter(&b, "pgcall_bridge_call_expire_runs_total", "call_expire() sweeps run.", m[M_EXPIRE_RUNS]);
	counter(&b, "pgcall_bridge_call_expire_errors_total", "call_expire() sweeps that failed.",
			m[M_EXPIRE_ERRORS]);
	counter(&b, "pgcall_bridge_disconnect_sweep_runs_total",
			"participant_disconnect_sweep() sweeps run.", m[M_DISCONNECT_RUNS]);
	counter(&b, "pgcall_bridge_disconnect_sweep_errors_total",
			"participant_disconnect_sweep() sweeps that failed.", m[M_DISCONNECT_ERRORS]);
	counter(&b, "pgcall_bridge_purge_runs_total", "pgcall.purge() runs.", m[M_PURGE_RUNS]);
	counter(&b, "pgcall_bridge_purge_errors_total", "pgcall.purge() runs that failed.",
			m[M_PURGE_ERRORS]);
	counter(&b, "pgcall_bridge_heartbeat_errors_total", "Heartbeats that failed.", m[M_HEARTBEAT_ERRORS]);
	counter(&b, "pgcall_bridge_webhook_attempts_total", "Webhook delivery attempts started.",
			m[M_WEBHOOK_ATTEMPTS]);
	counter(&b, "pgcall_bridge_webhooks_delivered_total", "Webhook attempts answered with 2xx.",
			m[M_WEBHOOKS_DELIVERED]);
	counter(&b, "pgcall_bridge_webhooks_failed_total", "Webhook attempts that failed (retried later).",
			m[M_WEBHOOKS_FAILED]);
	counter(&b, "pgcall_bridge_webhook_db_errors_total", "Webhook claims and reports the database refused.",
			m[M_WEBHOOK_CLAIM_ERRORS] + m[M_WEBHOOK_REPORT_ERRORS]);
	gauge(&b, "pgcall_bridge_http_in_flight", "HTTP requests waiting for the database.", gauge_value(G_HTTP_IN_FLIGHT));
	gauge(&b, "pgcall_bridge_webhooks_in_flight", "Webhook deliveries open.", gauge_value(G_WEBHOOKS_IN_FLIGHT));
	return jb_take(&b, len);
}
