/*
 * metrics.h: the bridge's Prometheus counters, histograms and gauges
 * (metrics.c).  The counters themselves are metrics.c's: a module counts
 * with metrics_inc() and friends, and what only another module knows (pool
 * sizes, open sockets) is read at render time through a gauge source that
 * main.c registers, so metrics.c calls no module above it.
 */
#ifndef PGCALL_METRICS_H
#define PGCALL_METRICS_H

#include <stddef.h>

enum metric_counter
{
	M_POOL_REJECTED,
	M_WS_ACCEPTED,
	M_WS_REFUSED,
	M_WS_CLOSED_SLOW,
	M_WS_CLOSED_TOO_BIG,
	M_WS_CLOSED_AUTH,
	M_WS_MESSAGES_IN,
	M_WS_MESSAGES_OUT,
	M_WS_CALLS_OK,
	M_WS_CALLS_ERROR,
	M_SIO_MEDIA_TOKEN,			/* a $.media emit filled from a media session */
	M_SIO_MEDIA_NONE,			/* ... with null: none to be had */
	M_EVENTS_FETCHED,
	M_EVENTS_DELIVERED,
	M_EVENTS_UNROUTED,
	M_EVENTS_RESUMED,
	M_EVENTS_FETCH_ERRORS,
	M_LISTENER_RECONNECTS,
	M_DB_RECONNECTS,
	M_EXPIRE_RUNS,
	M_EXPIRE_ERRORS,
	M_DISCONNECT_RUNS,
	M_DISCONNECT_ERRORS,
	M_PURGE_RUNS,
	M_PURGE_ERRORS,
	M_HEARTBEAT_ERRORS,
	M_PRESENCE_UPDATES,
	M_WEBHOOK_ATTEMPTS,
	M_WEBHOOKS_DELIVERED,
	M_WEBHOOKS_FAILED,
	M_WEBHOOK_CLAIM_ERRORS,
	M_WEBHOOK_REPORT_ERRORS,
	M__COUNT
};

enum metric_histogram
{
	H_HTTP_LATENCY,				/* request to reply */
	H_POOL_WAIT,				/* a job waiting for a pool connection */
	H__COUNT
};

/* Values only another module knows, read when /metrics is rendered. */
enum metric_gauge
{
	G_POOL_SIZE,
	G_POOL_UP,
	G_POOL_BUSY,
	G_POOL_QUEUE,
	G_LISTENER_UP,
	G_EVENT_CURSOR,
	G_WEBSOCKETS,
	G_USERS,
	G_SIO_POLLING,
	G_SIO_POLLS_WAITING,
	G_HTTP_IN_FLIGHT,
	G_WEBHOOKS_IN_FLIGHT,
	G__COUNT
};

typedef long long (*metric_gauge_fn) (void);

void		metrics_inc(enum metric_counter c);
void		metrics_http_status(int status);	/* one HTTP reply with this status */
void		metrics_observe(enum metric_histogram h, double seconds);
void		metrics_gauge_source(enum metric_gauge g, metric_gauge_fn fn);
char	   *metrics_render(size_t *len);

#endif							/* PGCALL_METRICS_H */
