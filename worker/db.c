/*
 * db.c: database connections as state machines on the event loop, the jobs
 * they run, and the request pool.
 *
 * Long file: a connection's state machine (connect, set up, send a
 * pipeline, read its results, reset the session, reconnect with back-off)
 * is one struct pgconn and a handful of functions that hand it to each
 * other, and the pool and the jobs are what it runs; read apart, each half
 * makes no sense.  The statement texts are in statements.c.
 *
 * Each struct pgconn is DOWN -> CONNECTING -> SETUP -> IDLE <-> BUSY, and
 * back to DOWN (with back-off) on any failure.  Its libpq socket is watched
 * through a dup adopted as a raw file into the libwebsockets loop (docs/libwebsockets.md §1):
 * lws closes the dup when the watcher dies, never libpq's own fd.  The socket
 * can change during PQconnectPoll, so after every poll the inode is compared
 * and the dup re-adopted.
 *
 * A job is one pipeline segment: up to JOB_MAX_STMT statements and one Sync,
 * which PostgreSQL runs as one implicit transaction (no BEGIN/COMMIT), so an
 * error anywhere rolls back everything and every set_config(..., true) of
 * the job ends with it.  A connection runs one job at a time.  Statements
 * are prepared on first use on each connection, in the same pipeline.
 *
 * Ownership: db.c owns a job from submit until its done callback returns,
 * then frees it.  A requester that goes away calls job_orphan(): a queued
 * job is freed at once, a running one finishes with owner == NULL.
 */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "statements.h"

#define SLOT_RESET (-1)			/* a result slot of the session reset */

enum conn_kind
{
	CONN_POOL, CONN_LISTENER, CONN_SYSTEM
};

enum conn_state
{
	CONN_DOWN,					/* waiting to (re)connect */
	CONN_CONNECTING,			/* PQconnectPoll in progress */
	CONN_SETUP,					/* running its setup job */
	CONN_IDLE,
	CONN_BUSY
};

struct pgconn
{
	enum conn_kind kind;
	enum conn_state state;
	int			index;
	PGconn	   *pg;
	struct lws *wsi;			/* watcher of a dup of PQsocket */
	uint64_t	ino;			/* inode of the watched socket */
	PostgresPollingStatusType poll;
	struct job *job;			/* running job */
	struct job *setup;
	int			slot;			/* result slot being read */
	int			nslots;
	int8_t		slot_stmt[JOB_MAX_STMT * 2 + 8];	/* statement index, or SLOT_RESET */
	bool		slot_prepare[JOB_MAX_STMT * 2 + 8];
	uint32_t	prepared;		/* bit per enum sql_id */
	uint32_t	preparing;
	int			attempt;		/* reconnect attempts since last success */
	bool		in_writeable;
	bool		ever_up;
	bool		resetting;		/* the job is done; its reset segment is running */
	bool		reset_failed;	/* the session must be replaced after this job */
	bool		discard_needed; /* the reset found leftovers: DISCARD ALL next */
	bool		discarding;
	lws_sorted_usec_list_t sul_retry;
	lws_sorted_usec_list_t sul_write;
	lws_sorted_usec_list_t sul_timeout;
	lws_dll2_owner_t queue;		/* listener and system connections queue here */
	void		(*on_ready) (struct pgconn *c);
	void		(*on_down) (struct pgconn *c);
	void		(*on_notify) (struct pgconn *c, PGnotify *n);
};

/* The connections, which only this file touches. */
static const struct config *cfg;
static struct lws_context *ctx;
static struct lws_vhost *vhost;
static const char *bridge_id;
static struct pgconn *pool;
static struct pgconn listener;
static struct pgconn sys;


static const uint32_t backoff_ms[] = {50, 100, 250, 500, 1000, 2000, 5000};

static lws_dll2_owner_t pool_queue;
static int	pool_queue_limited;	/* queued jobs that count against --pool-queue */

static void conn_start(struct pgconn *c);
static void conn_broken(struct pgconn *c, const char *why);
static void conn_send(struct pgconn *c, struct job *job);
static void conn_dispatch(struct pgconn *c);
static void conn_reset_finished(struct pgconn *c);
static void conn_retry_others_now(struct pgconn *back);

static const char *
kind_name(enum conn_kind k)
{
	switch (k)
	{
		case CONN_POOL:
			return "pool";
		case CONN_LISTENER:
			return "listener";
		case CONN_SYSTEM:
			return "system";
	}
	return "?";
}

/* ---------------------------------------------------------------- jobs */

struct job *
job_new(job_done_fn done, void *owner)
{
	struct job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	job->done = done;
	job->owner = owner;
	return job;
}

int
job_add(struct job *job, enum sql_id id, int nparams, const char *const *values)
{
	int			i = job->nstmt;

	if (i >= JOB_MAX_STMT || nparams > JOB_MAX_PARAMS)
		return -1;
	job->stmt[i] = id;
	job->nparams[i] = nparams;
	for (int p = 0; p < nparams; p++)
		if (values[p] && !(job->params[i][p] = strdup(values[p])))
			return -1;
	job->nstmt++;
	return 0;
}

void
job_free(struct job *job)
{
	if (!job)
		return;
	for (int i = 0; i < job->nstmt; i++)
	{
		for (int p = 0; p < job->nparams[i]; p++)
			free(job->params[i][p]);
		if (job->res[i])
			PQclear(job->res[i]);
	}
	if (job->err)
		PQclear(job->err);
	if (job->free_arg)
		free(job->arg);
	free(job);
}

/* Take a queued job off its queue (the pool's or a connection's). */
static void
job_dequeue(struct job *job)
{
	if (!job->per_socket && lws_dll2_owner(&job->list) == &pool_queue)
		pool_queue_limited--;
	lws_dll2_remove(&job->list);
	job->queued = false;
}

void
job_orphan(struct job *job)
{
	if (!job)
		return;
	if (job->queued)
	{
		job_dequeue(job);
		job_free(job);
		return;
	}
	job->owner = NULL;
}

bool
job_ok(const struct job *job)
{
	return !job->err && !job->fail_code;
}

const char *
job_sqlstate(const struct job *job)
{
	if (job->fail_code)
		return job->fail_code;
	if (job->err)
		return PQresultErrorField(job->err, PG_DIAG_SQLSTATE);
	return NULL;
}

/* Finish a job that never reached a database. */
static void
job_fail(struct job *job, const char *code, const char *msg)
{
	job->fail_code = code;
	job->fail_msg = msg;
	job->queued = false;
	job->running = false;
	job->done(job);
	job_free(job);
}

/* ---------------------------------------------------------- watching */

static void
conn_drop_watcher(struct pgconn *c)
{
	if (!c->wsi)
		return;
	lws_set_opaque_user_data(c->wsi, NULL);
	if (!lifecycle_destroying())
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	c->wsi = NULL;
}

/* Watch PQsocket; re-adopt when libpq switched sockets.  False on failure. */
static bool
conn_watch(struct pgconn *c)
{
	int			fd = PQsocket(c->pg);
	struct stat st;
	lws_adopt_desc_t ad;
	uint64_t	ino;
	int			dupfd;

	if (fd < 0 || fstat(fd, &st) != 0)
	{
		conn_broken(c, "no socket");
		return false;
	}
	ino = ((uint64_t) st.st_dev << 32) ^ (uint64_t) st.st_ino;
	if (c->wsi && c->ino == ino)
		return true;
	conn_drop_watcher(c);
	dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dupfd < 0)
	{
		conn_broken(c, "dup failed");
		return false;
	}
	memset(&ad, 0, sizeof(ad));
	ad.vh = vhost;
	ad.type = LWS_ADOPT_RAW_FILE_DESC;
	ad.fd.filefd = dupfd;
	ad.vh_prot_name = "pg";
	ad.opaque = c;
	c->wsi = lws_adopt_descriptor_vhost_via_info(&ad);
	if (!c->wsi)
	{
		close(dupfd);
		conn_broken(c, "cannot watch the socket");
		return false;
	}
	c->ino = ino;
	return true;
}

static void
sul_write_cb(lws_sorted_usec_list_t *sul)
{
	struct pgconn *c = lws_container_of(sul, struct pgconn, sul_write);

	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

/*
 * Ask for write readiness.  lws 4.1.6 loses a request made inside the raw
 * file's own WRITEABLE callback (it clears POLLOUT afterwards; fixed only in
 * 4.4), so from there we re-arm from a zero-delay timer.
 */
static void
conn_want_write(struct pgconn *c)
{
	if (!c->wsi)
		return;
	if (c->in_writeable)
		lws_sul_schedule(ctx, 0, &c->sul_write, sul_write_cb, 1);
	else
		lws_callback_on_writable(c->wsi);
}

static void
conn_flush(struct pgconn *c)
{
	int			r = PQflush(c->pg);

	if (r < 0)
		conn_broken(c, PQerrorMessage(c->pg));
	else if (r == 1)
		conn_want_write(c);
}

/* -------------------------------------------------------- connecting */

static void
notice_cb(void *arg, const char *message)
{
	struct pgconn *c = arg;
	size_t		n = strlen(message);

	while (n && message[n - 1] == '\n')
		n--;
	log_debug("database %s connection %d: %.*s", kind_name(c->kind), c->index, (int) n, message);
}

static void
setup_done(struct job *job)
{
	struct pgconn *c = job->arg;

	if (!job_ok(job))
	{
		const char *msg = job->err ? PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY)
			: job->fail_msg;

		if (c->state != CONN_DOWN)
		{
			c->state = CONN_CONNECTING;	/* never was ready: no on_down */
			log_error("database %s connection: setup failed: %s", kind_name(c->kind),
					  msg ? msg : "unknown error");
			conn_broken(c, "setup failed");
		}
		return;
	}
	if (c->ever_up && c->attempt > 0)
		log_info("database %s connection %d is back", kind_name(c->kind), c->index);
	if (c->attempt > 0)
		conn_retry_others_now(c);
	c->attempt = 0;
	c->ever_up = true;
	if (c->on_ready)
		c->on_ready(c);
}

static void
conn_connected(struct pgconn *c)
{
	struct job *setup;
	char		timeout[24];
	const char *v[2];

	lws_sul_cancel(&c->sul_timeout);
	PQsetnonblocking(c->pg, 1);
	PQsetNoticeProcessor(c->pg, notice_cb, c);
	if (!PQenterPipelineMode(c->pg))
	{
		conn_broken(c, "cannot enter pipeline mode");
		return;
	}
	c->prepared = 0;
	if (c->kind == CONN_POOL)
	{
		if (c->ever_up && c->attempt > 0)
			log_info("database pool connection %d is back", c->index);
		if (c->attempt > 0)
			conn_retry_others_now(c);
		c->attempt = 0;
		c->ever_up = true;
		c->state = CONN_IDLE;
		conn_dispatch(c);
		return;
	}
	setup = job_new(setup_done, c);
	if (!setup)
	{
		conn_broken(c, "out of memory");
		return;
	}
	setup->arg = c;
	snprintf(timeout, sizeof(timeout), "%d", cfg->statement_timeout_ms);
	v[0] = cfg->bridge_role;
	v[1] = timeout;
	job_add(setup, SQL_SET_ROLE, 2, v);
	if (c->kind == CONN_LISTENER)
		job_add(setup, SQL_LISTEN, 0, NULL);
	c->state = CONN_SETUP;
	conn_send(c, setup);
}

static void
conn_poll(struct pgconn *c)
{
	c->poll = PQconnectPoll(c->pg);
	if (c->poll == PGRES_POLLING_FAILED)
	{
		conn_broken(c, PQerrorMessage(c->pg));
		return;
	}
	if (!conn_watch(c))
		return;
	switch (c->poll)
	{
		case PGRES_POLLING_OK:
			conn_connected(c);
			break;
		case PGRES_POLLING_WRITING:
			conn_want_write(c);
			break;
		default:				/* reading: POLLIN is always on */
			break;
	}
}

static void
sul_timeout_cb(lws_sorted_usec_list_t *sul)
{
	struct pgconn *c = lws_container_of(sul, struct pgconn, sul_timeout);

	if (c->state == CONN_CONNECTING)
		conn_broken(c, "connect timeout");
}

static void
sul_retry_cb(lws_sorted_usec_list_t *sul)
{
	conn_start(lws_container_of(sul, struct pgconn, sul_retry));
}

static void
conn_start(struct pgconn *c)
{
	char		appname[64];
	const char *keys[] = {"dbname", "application_name", NULL};
	const char *vals[] = {cfg->db, appname, NULL};

	if (lifecycle_stopping() || c->state != CONN_DOWN)
		return;
	snprintf(appname, sizeof(appname), "pgcall-bridge %s %.8s", kind_name(c->kind), bridge_id);
	c->pg = PQconnectStartParams(keys, vals, 1);
	c->state = CONN_CONNECTING;
	if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD)
	{
		conn_broken(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
		return;
	}
	c->poll = PGRES_POLLING_WRITING;
	lws_sul_schedule(ctx, 0, &c->sul_timeout, sul_timeout_cb,
					 (lws_usec_t) cfg->connect_timeout_ms * 1000);
	if (!conn_watch(c))
		return;
	conn_want_write(c);
}

/*
 * A connection that had failed is through: the database is reachable again
 * (a restart, or a promoted standby behind a multi-host --db), so every
 * other connection waiting out its back-off tries now instead of up to 5 s
 * later.  The first one through still waits its own back-off.
 */
static void
conn_retry_others_now(struct pgconn *back)
{
	struct pgconn *fixed[] = {&listener, &sys};

	if (lifecycle_stopping())
		return;
	for (int i = 0; i < 2 + cfg->pool_size; i++)
	{
		struct pgconn *c = i < 2 ? fixed[i] : &pool[i - 2];

		if (c != back && c->state == CONN_DOWN)
		{
			lws_sul_cancel(&c->sul_retry);
			lws_sul_schedule(ctx, 0, &c->sul_retry, sul_retry_cb, 1);
		}
	}
}

/* Fail every job waiting for the pool: no pool connection is up. */
static void
pool_fail_queue(void)
{
	while (pool_queue.count)
	{
		struct job *j = lws_container_of(lws_dll2_get_head(&pool_queue), struct job, list);

		job_dequeue(j);
		job_fail(j, "PGRST001", "no database connection is available");
	}
}

static void
conn_broken(struct pgconn *c, const char *why)
{
	struct job *job = c->job;
	bool		was_up = c->state == CONN_SETUP || c->state == CONN_IDLE || c->state == CONN_BUSY;
	size_t		n = why ? strlen(why) : 0;
	uint32_t	delay;

	if (c->state == CONN_DOWN && !c->pg)
		return;
	while (n && (why[n - 1] == '\n' || why[n - 1] == ' '))
		n--;
	lws_sul_cancel(&c->sul_timeout);
	lws_sul_cancel(&c->sul_write);
	conn_drop_watcher(c);
	if (was_up || c->attempt == 0 || c->attempt % 20 == 0)
		log_warn("database %s connection %d %s: %.*s", kind_name(c->kind), c->index,
				 was_up ? "lost" : "failed", (int) n, why ? why : "");
	/* the message may point into the PGconn: log first, then finish it */
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	c->job = NULL;
	c->state = CONN_DOWN;
	c->prepared = 0;
	c->resetting = c->reset_failed = c->discard_needed = c->discarding = false;
	if (was_up)
	{
		if (c->kind == CONN_LISTENER)
			metrics_inc(M_LISTENER_RECONNECTS);
		metrics_inc(M_DB_RECONNECTS);
	}
	if (job)
		job_fail(job, "PGRST001", "the database connection was lost");
	if (c->kind != CONN_POOL)
		while (c->queue.count)
		{
			struct job *j = lws_container_of(lws_dll2_get_head(&c->queue), struct job, list);

			lws_dll2_remove(&j->list);
			job_fail(j, "PGRST001", "the database connection was lost");
		}
	else if (pool_up_count() == 0)
		pool_fail_queue();
	if (was_up && c->on_down)
		c->on_down(c);
	if (lifecycle_stopping())
		return;
	delay = backoff_ms[c->attempt < (int) LWS_ARRAY_SIZE(backoff_ms) ? c->attempt
					   : (int) LWS_ARRAY_SIZE(backoff_ms) - 1];
	delay += (uint32_t) (rand() % (int) (delay / 4 + 1));
	c->attempt++;
	lws_sul_schedule(ctx, 0, &c->sul_retry, sul_retry_cb, (lws_usec_t) delay * 1000);
}

/* ------------------------------------------------------------ running */

static void
conn_send(struct pgconn *c, struct job *job)
{
	uint32_t	sent = 0;

	c->job = job;
	c->slot = 0;
	c->nslots = 0;
	job->conn = c;
	job->queued = false;
	job->running = true;
	job->t_started = now_us();
	if (c->kind == CONN_POOL && job->t_queued)
		metrics_observe(H_POOL_WAIT, (double) (job->t_started - job->t_queued) / 1e6);
	for (int i = 0; i < job->nstmt; i++)
	{
		const struct sqldef *d = &sqldefs[job->stmt[i]];
		const char *const *params = (const char *const *) job->params[i];
		uint32_t	bit = 1u << job->stmt[i];

		if (d->prepare && !(c->prepared & bit) && !(sent & bit))
		{
			if (!PQsendPrepare(c->pg, d->name, d->sql, 0, NULL))
				goto fail;
			c->slot_stmt[c->nslots] = (int8_t) i;
			c->slot_prepare[c->nslots++] = true;
			sent |= bit;
		}
		if (d->prepare ? !PQsendQueryPrepared(c->pg, d->name, job->nparams[i], params,
											  NULL, NULL, 0)
			: !PQsendQueryParams(c->pg, d->sql, job->nparams[i], NULL, params,
								 NULL, NULL, 0))
			goto fail;
		c->slot_stmt[c->nslots] = (int8_t) i;
		c->slot_prepare[c->nslots++] = false;
	}
	c->reset_failed = c->discard_needed = false;
	if (job->reset_after && c->kind == CONN_POOL)
	{
		const struct sqldef *d = &sqldefs[SQL_RESET_CHECK];

		if (!(c->prepared & (1u << SQL_RESET_CHECK)))
		{
			if (!PQsendPrepare(c->pg, d->name, d->sql, 0, NULL))
				goto fail;
			c->slot_stmt[c->nslots] = SLOT_RESET;
			c->slot_prepare[c->nslots++] = true;
		}
		if (!PQsendQueryPrepared(c->pg, d->name, 0, NULL, NULL, NULL, 0))
			goto fail;
		c->slot_stmt[c->nslots] = SLOT_RESET;
		c->slot_prepare[c->nslots++] = false;
		for (size_t i = 1; i < RESET_SQL_COUNT; i++)
		{
			if (!PQsendQueryParams(c->pg, reset_sql[i], 0, NULL, NULL, NULL, NULL, 0))
				goto fail;
			c->slot_stmt[c->nslots] = SLOT_RESET;
			c->slot_prepare[c->nslots++] = false;
		}
	}
	if (!PQpipelineSync(c->pg))
		goto fail;
	if (c->state == CONN_IDLE)
		c->state = CONN_BUSY;
	conn_flush(c);
	return;
fail:
	conn_broken(c, PQerrorMessage(c->pg));
}

/*
 * A segment of its own after the job: the reset when the request failed and
 * its transaction skipped it, or DISCARD ALL when the reset found leftovers
 * (see reset_sql).  False when libpq would not take it.
 */
static bool
conn_send_segment(struct pgconn *c, bool discard)
{
	if (discard)
	{
		if (!PQsendQueryParams(c->pg, "DISCARD ALL", 0, NULL, NULL, NULL, NULL, 0))
			return false;
		c->discarding = true;
	}
	else
	{
		/* rare (a failed request): unnamed, so no prepare result to track */
		if (!PQsendQueryParams(c->pg, sqldefs[SQL_RESET_CHECK].sql, 0, NULL, NULL, NULL, NULL, 0))
			return false;
		for (size_t i = 1; i < RESET_SQL_COUNT; i++)
			if (!PQsendQueryParams(c->pg, reset_sql[i], 0, NULL, NULL, NULL, NULL, 0))
				return false;
	}
	if (!PQpipelineSync(c->pg))
		return false;
	c->resetting = true;
	conn_flush(c);
	return true;
}

static void
conn_job_finished(struct pgconn *c)
{
	struct job *job = c->job;

	c->job = NULL;
	job->running = false;
	job->conn = NULL;
	if (c->kind == CONN_POOL && job->reset_after && !c->reset_failed &&
		(job->err || c->discard_needed))
	{
		/* the connection stays busy until the reset or the discard is through */
		if (!conn_send_segment(c, !job->err))
			c->reset_failed = true;
	}
	else if (!c->reset_failed && (c->state == CONN_BUSY || c->state == CONN_SETUP))
		c->state = CONN_IDLE;
	job->done(job);
	job_free(job);
	if (c->reset_failed && !c->resetting)
		conn_reset_finished(c);
	else if (c->state == CONN_IDLE)
		conn_dispatch(c);
}

static void
conn_reset_finished(struct pgconn *c)
{
	c->resetting = false;
	if (c->discarding && !c->reset_failed)
	{
		/* DISCARD ALL dropped our prepared statements too */
		c->prepared = 0;
		c->discarding = c->discard_needed = false;
	}
	if (!c->reset_failed && c->discard_needed && !conn_send_segment(c, true))
		c->reset_failed = true;
	if (c->reset_failed)
	{
		conn_broken(c, "its session could not be reset after a request");
		return;
	}
	if (c->resetting)
		return;
	if (c->state == CONN_BUSY)
		c->state = CONN_IDLE;
	conn_dispatch(c);
}

/* The first reset statement says whether DISCARD ALL must follow. */
static bool
reset_found_leftovers(struct pgconn *c, const PGresult *r)
{
	if (PQntuples(r) != 1 || PQnfields(r) != 2 || strcmp(PQgetvalue(r, 0, 1), "t") != 0)
		return false;
	c->discard_needed = true;
	return true;
}

static void
conn_take_result(struct pgconn *c, PGresult *r)
{
	struct job *job = c->job;
	int			s = c->slot < c->nslots ? c->slot : c->nslots - 1;
	int			stmt = c->slot_stmt[s];

	if (stmt == SLOT_RESET && PQresultStatus(r) != PGRES_FATAL_ERROR)
	{
		/* the reset statements' results; an error fails the request below */
		if (PQresultStatus(r) == PGRES_COMMAND_OK && c->slot_prepare[s])
			c->prepared |= 1u << SQL_RESET_CHECK;
		else if (PQresultStatus(r) == PGRES_TUPLES_OK)
			reset_found_leftovers(c, r);
		PQclear(r);
		return;
	}
	if (stmt == SLOT_RESET)
		c->reset_failed = true;
	switch (PQresultStatus(r))
	{
		case PGRES_FATAL_ERROR:
			if (!job->err)
			{
				job->err = r;
				job->err_stmt = stmt;
				return;
			}
			break;
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
			if (c->slot_prepare[s])
				c->prepared |= 1u << job->stmt[stmt];
			else if (!job->res[stmt])
			{
				job->res[stmt] = r;
				return;
			}
			break;
		default:				/* PIPELINE_ABORTED, copy states we never start */
			break;
	}
	PQclear(r);
}

/* Everything libpq has buffered: results of the running job, then NOTIFYs. */
static void
conn_drain(struct pgconn *c)
{
	PGnotify   *n;
	bool		after_null = false;

	/*
	 * Each statement yields its results, then NULL; the Sync yields
	 * PGRES_PIPELINE_SYNC.  A statement that fails after its row description
	 * yields a result, NULL, the error, NULL: so slots only bound the count,
	 * and two NULLs in a row mean nothing more is buffered.
	 */
	while ((c->job || c->resetting) && c->pg && !PQisBusy(c->pg))
	{
		PGresult   *r = PQgetResult(c->pg);

		if (!r)
		{
			if (after_null)
				break;
			after_null = true;
			if (c->slot < c->nslots)
				c->slot++;
			continue;
		}
		after_null = false;
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC)
		{
			PQclear(r);
			if (c->resetting)
				conn_reset_finished(c);
			else
				conn_job_finished(c);
			continue;
		}
		if (c->resetting)
		{
			if (PQresultStatus(r) == PGRES_FATAL_ERROR && !c->reset_failed)
			{
				c->reset_failed = true;
				log_warn("database pool connection %d: session reset failed: %s", c->index,
						 PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
			}
			else if (PQresultStatus(r) == PGRES_TUPLES_OK)
				reset_found_leftovers(c, r);
			PQclear(r);
			continue;
		}
		conn_take_result(c, r);
	}
	while (c->pg && (n = PQnotifies(c->pg)) != NULL)
	{
		if (c->on_notify)
			c->on_notify(c, n);
		PQfreemem(n);
	}
}

static void
conn_readable(struct pgconn *c)
{
	switch (c->state)
	{
		case CONN_DOWN:
			break;
		case CONN_CONNECTING:
			if (c->poll == PGRES_POLLING_READING)
				conn_poll(c);
			break;
		default:
			if (!PQconsumeInput(c->pg))
			{
				conn_broken(c, PQerrorMessage(c->pg));
				return;
			}
			conn_drain(c);
			break;
	}
}

static void
conn_writable(struct pgconn *c)
{
	switch (c->state)
	{
		case CONN_DOWN:
			break;
		case CONN_CONNECTING:
			if (c->poll == PGRES_POLLING_WRITING)
				conn_poll(c);
			break;
		default:
			conn_flush(c);
			break;
	}
}

static void
conn_dispatch(struct pgconn *c)
{
	lws_dll2_owner_t *q = c->kind == CONN_POOL ? &pool_queue : &c->queue;
	struct job *job;

	if (c->state != CONN_IDLE || !q->count)
		return;
	job = lws_container_of(lws_dll2_get_head(q), struct job, list);
	job_dequeue(job);
	conn_send(c, job);
}

int
db_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			   void *in, size_t len)
{
	struct pgconn *c = lws_get_opaque_user_data(wsi);

	(void) user;
	(void) in;
	(void) len;
	switch (reason)
	{
		case LWS_CALLBACK_RAW_ADOPT_FILE:
			return 0;
		case LWS_CALLBACK_RAW_RX_FILE:
			if (!c)
				return -1;
			conn_readable(c);
			return 0;
		case LWS_CALLBACK_RAW_WRITEABLE_FILE:
			if (!c)
				return -1;
			c->in_writeable = true;
			conn_writable(c);
			c->in_writeable = false;
			return 0;
		case LWS_CALLBACK_RAW_CLOSE_FILE:
			/* POLLHUP or context destroy; a dropped watcher has no conn */
			if (c && c->wsi == wsi)
			{
				c->wsi = NULL;
				if (!lifecycle_destroying())
					conn_broken(c, "socket hung up");
			}
			return 0;
		default:
			return 0;
	}
}

/* ---------------------------------------------------------- public API */

bool
conn_up(const struct pgconn *c)
{
	return c->state == CONN_IDLE || c->state == CONN_BUSY;
}

int
pool_up_count(void)
{
	int			n = 0;

	for (int i = 0; i < cfg->pool_size; i++)
		n += conn_up(&pool[i]);
	return n;
}

int
pool_busy_count(void)
{
	int			n = 0;

	for (int i = 0; i < cfg->pool_size; i++)
		n += pool[i].state == CONN_BUSY;
	return n;
}

int
pool_queue_len(void)
{
	return (int) pool_queue.count;
}

int
pool_submit(struct job *job)
{
	job->t_queued = now_us();
	if (pool_up_count() == 0)
		return 503;
	for (int i = 0; i < cfg->pool_size; i++)
		if (pool[i].state == CONN_IDLE)
		{
			conn_send(&pool[i], job);
			return 0;
		}
	/*
	 * A socket's authentication and resume rounds wait whatever their
	 * number: there is at most one of each per socket, so sockets bound
	 * them, and refusing them turned a reconnect storm into dropped sockets.
	 */
	if (!job->per_socket && pool_queue_limited >= cfg->pool_queue)
	{
		metrics_inc(M_POOL_REJECTED);
		return 503;
	}
	job->queued = true;
	lws_dll2_add_tail(&job->list, &pool_queue);
	if (!job->per_socket)
		pool_queue_limited++;
	return 0;
}

int
conn_submit(struct pgconn *c, struct job *job)
{
	job->t_queued = now_us();
	if (!conn_up(c))
		return 503;
	if (c->state == CONN_IDLE && !c->queue.count)
	{
		conn_send(c, job);
		return 0;
	}
	job->queued = true;
	lws_dll2_add_tail(&job->list, &c->queue);
	return 0;
}

void
db_init(const struct config *config, struct lws_context *context, struct lws_vhost *vh,
		const char *id)
{
	cfg = config;
	ctx = context;
	vhost = vh;
	bridge_id = id;
	pool = calloc((size_t) cfg->pool_size, sizeof(struct pgconn));
	if (!pool)
	{
		log_error("out of memory");
		exit(1);
	}
	for (int i = 0; i < cfg->pool_size; i++)
	{
		pool[i].kind = CONN_POOL;
		pool[i].index = i;
	}
	listener.kind = CONN_LISTENER;
	sys.kind = CONN_SYSTEM;
}

void
db_start(void)
{
	conn_start(&listener);
	conn_start(&sys);
	for (int i = 0; i < cfg->pool_size; i++)
		conn_start(&pool[i]);
}

struct pgconn *
db_listener(void)
{
	return &listener;
}

struct pgconn *
db_system(void)
{
	return &sys;
}

void
conn_set_callbacks(struct pgconn *c, conn_event_fn on_ready, conn_event_fn on_down,
				   conn_notify_fn on_notify)
{
	c->on_ready = on_ready;
	c->on_down = on_down;
	c->on_notify = on_notify;
}

/* After lws_context_destroy: the watchers are gone, finish the sessions. */
void
db_stop(void)
{
	struct pgconn *all[] = {&listener, &sys};

	for (int i = 0; i < 2 + cfg->pool_size; i++)
	{
		struct pgconn *c = i < 2 ? all[i] : &pool[i - 2];

		if (c->job)
		{
			c->job->owner = NULL;
			job_free(c->job);
			c->job = NULL;
		}
		while (c->queue.count)
		{
			struct job *j = lws_container_of(lws_dll2_get_head(&c->queue), struct job, list);

			lws_dll2_remove(&j->list);
			job_free(j);
		}
		if (c->pg)
			PQfinish(c->pg);
		c->pg = NULL;
		c->state = CONN_DOWN;
	}
	while (pool_queue.count)
	{
		struct job *j = lws_container_of(lws_dll2_get_head(&pool_queue), struct job, list);

		job_dequeue(j);
		job_free(j);
	}
	free(pool);
	pool = NULL;
}
