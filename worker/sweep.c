/*
 * sweep.c: what the bridge runs on a timer on its system connection, one
 * at a time each.  The heartbeat (pgcall.bridge_heartbeat) keeps this
 * bridge registered, so that the database knows its presence rows are
 * current; the sweeps are database maintenance (call_expire() and
 * participant_disconnect_sweep() every second, purge() every few minutes).
 * A failure is logged once per distinct message, not on every run; a purge
 * that says more rows are due runs again at once.  At shutdown main.c asks
 * for the unregistration, after which no heartbeat may register the bridge
 * again.
 */
#include "sweep.h"

#include <stdio.h>
#include <string.h>

#include "lifecycle.h"
#include "log.h"
#include "metrics.h"

static const struct config *cfg;
static struct lws_context *ctx;
static const char *bridge_id;
static struct pgconn *sys;

static lws_sorted_usec_list_t sul_heartbeat;
static bool heartbeat_pending,
			unregistering;
static void (*unregister_done_fn) (void);

/* ------------------------------------------------------------ heartbeat */

static void
heartbeat_done(struct job *job)
{
	heartbeat_pending = false;
	if (job->err)
	{
		metrics_inc(M_HEARTBEAT_ERRORS);
		log_warn("heartbeat failed: %s", PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY));
	}
}

static void
heartbeat(void)
{
	const char *v[1] = {bridge_id};
	struct job *job;

	/* after the unregister, a heartbeat would register the bridge again */
	if (heartbeat_pending || unregistering || !conn_up(sys) || lifecycle_stopping())
		return;
	job = job_new(heartbeat_done, NULL);
	if (!job || job_add(job, SQL_HEARTBEAT, 1, v) || conn_submit(sys, job))
	{
		job_free(job);
		return;
	}
	heartbeat_pending = true;
}

static void
sul_heartbeat_cb(lws_sorted_usec_list_t *sul)
{
	heartbeat();
	lws_sul_schedule(ctx, 0, sul, sul_heartbeat_cb, (lws_usec_t) cfg->heartbeat_ms * 1000);
}

/* --------------------------------------------------------------- sweeps */

struct sweep
{
	lws_sorted_usec_list_t sul;
	const char *name;
	enum sql_id sql;
	int			interval_ms;
	const char *param;			/* the one parameter, or NULL */
	bool		pending;
	bool		again;			/* run again at once: the last run left work */
	enum metric_counter runs;
	enum metric_counter errors;
	char		last_error[160];
};

static char purge_batch[16];

static struct sweep sweep_expire = {.name = "call_expire()", .sql = SQL_EXPIRE,
.runs = M_EXPIRE_RUNS, .errors = M_EXPIRE_ERRORS};
/* participants whose sockets all went away: on call_expire()'s period */
static struct sweep sweep_disconnect = {.name = "participant_disconnect_sweep()",
	.sql = SQL_DISCONNECT, .runs = M_DISCONNECT_RUNS, .errors = M_DISCONNECT_ERRORS};
static struct sweep sweep_purge = {.name = "purge()", .sql = SQL_PURGE, .param = purge_batch,
.runs = M_PURGE_RUNS, .errors = M_PURGE_ERRORS};

static void
sweep_done(struct job *job)
{
	struct sweep *sw = job->arg;

	sw->pending = false;
	sw->again = false;
	if (job->fail_code)
		return;
	metrics_inc(sw->runs);
	if (job->err)
	{
		const char *msg = PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY);

		metrics_inc(sw->errors);
		if (msg && strncmp(msg, sw->last_error, sizeof(sw->last_error) - 1) != 0)
		{
			log_warn("%s failed: %s", sw->name, msg);
			snprintf(sw->last_error, sizeof(sw->last_error), "%s", msg);
		}
		return;
	}
	sw->last_error[0] = '\0';
	/* purge() answers whether more rows are due */
	if (job->res[0] && PQntuples(job->res[0]) == 1 && PQnfields(job->res[0]) == 1 &&
		strcmp(PQgetvalue(job->res[0], 0, 0), "t") == 0)
		sw->again = true;
}

static void
sweep_cb(lws_sorted_usec_list_t *sul)
{
	struct sweep *sw = lws_container_of(sul, struct sweep, sul);
	struct job *job;

	if (!sw->pending && conn_up(sys) && !lifecycle_stopping())
	{
		job = job_new(sweep_done, NULL);
		if (job)
			job->arg = sw;
		if (!job || job_add(job, sw->sql, sw->param ? 1 : 0, &sw->param) || conn_submit(sys, job))
			job_free(job);
		else
			sw->pending = true;
	}
	lws_sul_schedule(ctx, 0, sul, sweep_cb,
					 sw->again ? 1000 : (lws_usec_t) sw->interval_ms * 1000);
}

static void
sweep_arm(struct sweep *sw, int interval_ms)
{
	sw->interval_ms = interval_ms;
	if (sw->interval_ms > 0)
		lws_sul_schedule(ctx, 0, &sw->sul, sweep_cb, (lws_usec_t) sw->interval_ms * 1000);
}

void
sweep_start(const struct config *config, struct lws_context *context, const char *id,
			struct pgconn *system)
{
	cfg = config;
	ctx = context;
	bridge_id = id;
	sys = system;
	lws_sul_schedule(ctx, 0, &sul_heartbeat, sul_heartbeat_cb, (lws_usec_t) cfg->heartbeat_ms * 1000);
	snprintf(purge_batch, sizeof(purge_batch), "%d", cfg->purge_batch);
	sweep_arm(&sweep_expire, cfg->expire_ms);
	sweep_arm(&sweep_disconnect, cfg->expire_ms);
	sweep_arm(&sweep_purge, cfg->purge_ms);
}

void
sweep_sys_ready(void)
{
	heartbeat_pending = false;
	sweep_expire.pending = sweep_disconnect.pending = sweep_purge.pending = false;
	heartbeat();
}

void
sweep_sys_down(void)
{
	heartbeat_pending = false;
	sweep_expire.pending = sweep_disconnect.pending = sweep_purge.pending = false;
}

/* ------------------------------------------------------- unregistering */

static void
unregister_done(struct job *job)
{
	if (job->err)
		log_warn("unregistering the bridge failed: %s",
				 PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY));
	unregister_done_fn();
}

void
sweep_unregister(void (*done) (void))
{
	const char *v[1] = {bridge_id};
	struct job *job;

	if (unregistering)
		return;
	unregistering = true;
	unregister_done_fn = done;
	job = job_new(unregister_done, NULL);
	if (!job || job_add(job, SQL_UNREGISTER, 1, v) || conn_submit(sys, job))
	{
		job_free(job);
		done();
	}
}

bool
sweep_unregistering(void)
{
	return unregistering;
}
