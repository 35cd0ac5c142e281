/*
 * fanout.c: moving database events to sockets.
 *
 * The listener connection runs pgcall.bridge_listen() (LISTEN to the
 * event channel, whose name only the extension knows) and, on every
 * notification, on every (re)connect and at start, fetches the events after
 * the last id it has seen with pgcall.bridge_events(after, max), page by
 * page, and hands each one, once per recipient, to the deliver callback
 * (session.c's, given by main.c).  Event ids are assigned in commit
 * order, so "id > last fetched" never skips a late commit, and a lost
 * connection loses nothing: the next fetch starts where the last one ended.
 * The NOTIFY payload is only a wake-up.
 *
 * At most one fetch runs at a time; a notification during a fetch sets
 * "again" and the fetch repeats.
 *
 * With pgcall.event_order = horizon (extension/event_order.c) there is no
 * NOTIFY: after the horizon, and after every fetch that emptied the
 * backlog, the listener runs pgcall.bridge_wait(seen, timeout), which
 * returns when an event-writing transaction has finished (or at the
 * timeout) with the count of finished ones and the horizon; the fetch then
 * reads the events below that horizon only.  bridge_wait answers nulls in
 * 'lock' order, and the bridge keeps to LISTEN.  Asked again on every
 * (re)connect: a failover may land on a server in the other order.
 */
#include "fanout.h"

#include "json.h"
#include "log.h"
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

static struct
{
	int64_t		last_id;		/* highest event id handed on */
	bool		known;			/* last_id is valid (horizon read) */
	bool		fetching;
	bool		again;
	bool		ready;			/* listener is LISTENing */
	bool		waiting;		/* a bridge_wait is running */
	bool		wait_mode;		/* horizon order: bridge_wait, not NOTIFY */
	int64_t		seen;			/* bridge_wait's count of finished writers */
	int64_t		below;			/* its horizon: fetch only ids below */
	lws_sorted_usec_list_t sul_retry;
	const struct config *cfg;
	struct lws_context *ctx;
	struct pgconn *listener;
	fanout_deliver_fn deliver;
}			E;

static void fetch(void);
static void read_horizon(void);
static void wait_for_events(bool probe);

int64_t
fanout_cursor(void)
{
	return E.last_id;
}

bool
fanout_live(void)
{
	return E.ready && E.known;
}

static void
sul_retry_cb(lws_sorted_usec_list_t *sul)
{
	(void) sul;
	if (!E.ready)
		return;
	if (!E.known)
		read_horizon();
	else if (!E.fetching && !E.waiting)
		wait_for_events(true);
}

static void
retry_later(void)
{
	lws_sul_schedule(E.ctx, 0, &E.sul_retry, sul_retry_cb, 1000 * 1000);
}

/*
 * Hand the event on for each of its recipients, a JSON array of user
 * ids as bridge_events() writes it (array_to_json of text[]).
 */
static void
deliver(int64_t id, const char *recipients, size_t rlen, const char *payload, size_t plen)
{
	struct jiter it = {recipients, rlen, 0};
	struct jval v;
	char		plain[256];

	if (rlen < 2 || recipients[0] != '[')
	{
		log_error("event %lld: recipients are not a JSON array", (long long) id);
		return;
	}
	while (json_next_element(&it, &v))
	{
		char	   *user;

		if (v.type != J_STRING)
			continue;
		/* no escapes: the id is the span between the quotes */
		if (v.n - 2 < sizeof(plain) && !memchr(v.p, '\\', v.n))
		{
			memcpy(plain, v.p + 1, v.n - 2);
			plain[v.n - 2] = '\0';
			E.deliver(plain, id, payload, plen);
		}
		else if ((user = json_string_dup(&v)) != NULL)
		{
			E.deliver(user, id, payload, plen);
			free(user);
		}
	}
}

static void
fetch_done(struct job *job)
{
	const PGresult *res = job->res[0];
	int			n;

	E.fetching = false;
	if (!job_ok(job))
	{
		metrics_inc(M_EVENTS_FETCH_ERRORS);
		if (job->err)
		{
			log_error("fetching events failed: %s",
					  PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY));
			retry_later();
		}
		/* connection lost: fanout_listener_ready() fetches again */
		return;
	}
	n = res ? PQntuples(res) : 0;
	for (int i = 0; i < n; i++)
	{
		int64_t		id = strtoll(PQgetvalue(res, i, 0), NULL, 10);

		if (id <= E.last_id)
			continue;
		E.last_id = id;
		metrics_inc(M_EVENTS_FETCHED);
		if (!PQgetisnull(res, i, 1))
			deliver(id, PQgetvalue(res, i, 1), (size_t) PQgetlength(res, i, 1),
					PQgetvalue(res, i, 2), (size_t) PQgetlength(res, i, 2));
	}
	if (n >= E.cfg->event_batch || E.again)
	{
		E.again = false;
		fetch();
	}
	else if (E.wait_mode)
		wait_for_events(false);
}

static void
fetch(void)
{
	char		after[24],
				max[16],
				below[24];
	const char *v[3] = {after, max, NULL};
	struct job *job;

	if (E.fetching || E.waiting)
	{
		E.again = true;
		return;
	}
	if (!E.ready || !E.known)
		return;
	snprintf(after, sizeof(after), "%lld", (long long) E.last_id);
	snprintf(max, sizeof(max), "%d", E.cfg->event_batch);
	if (E.wait_mode)
	{
		snprintf(below, sizeof(below), "%lld", (long long) E.below);
		v[2] = below;
	}
	job = job_new(fetch_done, NULL);
	if (!job || job_add(job, SQL_EVENTS, 3, v))
	{
		job_free(job);
		retry_later();
		return;
	}
	E.fetching = true;
	E.again = false;
	if (conn_submit(E.listener, job))
	{
		E.fetching = false;
		job_free(job);
	}
}

static void
horizon_done(struct job *job)
{
	const PGresult *res = job->res[0];

	if (job->fail_code)
		return;					/* connection lost: asked again when it is back */
	if (!job_ok(job) || !res || PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
	{
		log_error("reading the event horizon failed: %s",
				  job->err ? PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY) : "no value");
		retry_later();
		return;
	}
	E.last_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	E.known = true;
	log_info("listening for events after id %lld", (long long) E.last_id);
	wait_for_events(true);
}

static void
wait_done(struct job *job)
{
	const PGresult *res = job->res[0];

	E.waiting = false;
	if (job->fail_code)
		return;					/* connection lost: asked again when it is back */
	if (!job_ok(job) || !res || PQntuples(res) != 1)
	{
		log_error("waiting for events failed: %s",
				  job->err ? PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY) : "no row");
		retry_later();
		return;
	}
	if (PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 1))
	{
		if (E.wait_mode)
			log_info("events are announced by NOTIFY (pgcall.event_order = lock)");
		E.wait_mode = false;
	}
	else
	{
		if (!E.wait_mode)
			log_info("events are announced by bridge_wait (pgcall.event_order = horizon)");
		E.wait_mode = true;
		E.seen = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		E.below = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	E.again = false;
	fetch();
}

/*
 * bridge_wait: with probe, at once (no count seen yet), to learn the order
 * and the horizon; else until a writer finishes after the count seen.  Its
 * timeout stays under the listener's statement_timeout.
 */
static void
wait_for_events(bool probe)
{
	char		seen[24],
				timeout[16];
	const char *v[2] = {probe ? NULL : seen, timeout};
	struct job *job;
	int			ms = E.cfg->statement_timeout_ms > 0 ? E.cfg->statement_timeout_ms / 2 : 5000;

	if (E.waiting || E.fetching || !E.ready)
		return;
	snprintf(seen, sizeof(seen), "%lld", (long long) E.seen);
	snprintf(timeout, sizeof(timeout), "%d", ms < 1 ? 1 : ms > 5000 ? 5000 : ms);
	job = job_new(wait_done, NULL);
	if (!job || job_add(job, SQL_WAIT, 2, v))
	{
		job_free(job);
		retry_later();
		return;
	}
	E.waiting = true;
	if (conn_submit(E.listener, job))
	{
		E.waiting = false;
		job_free(job);
	}
}

static void
read_horizon(void)
{
	struct job *job = job_new(horizon_done, NULL);

	if (!job || job_add(job, SQL_HORIZON, 0, NULL) || conn_submit(E.listener, job))
		job_free(job);
}

void
fanout_listener_ready(struct pgconn *c)
{
	(void) c;
	E.ready = true;
	E.fetching = false;
	E.waiting = false;
	if (!E.known)
		read_horizon();
	else
		wait_for_events(true);
}

void
fanout_listener_down(struct pgconn *c)
{
	(void) c;
	E.ready = false;
	E.fetching = false;
	E.waiting = false;
}

void
fanout_notify(struct pgconn *c, PGnotify *n)
{
	(void) c;
	(void) n;
	fetch();
}

void
fanout_init(const struct config *cfg, struct lws_context *ctx, struct pgconn *listener,
			fanout_deliver_fn deliver)
{
	memset(&E, 0, sizeof(E));
	E.cfg = cfg;
	E.ctx = ctx;
	E.listener = listener;
	E.deliver = deliver;
}
