/*
 * session.c: what a realtime socket is, whatever protocol it speaks: its
 * identity, its user and presence (how many sockets each user has on this
 * bridge), its send queue, and event delivery with resume.  ws.c (/ws)
 * and sio_ws.c (/socket.io/) own the protocols and the lws callbacks.
 *
 * A struct session is allocated by lws at upgrade (ws.c) or by
 * session_detached() for Socket.IO's long-polling; session_cleanup()
 * releases everything it points to and orphans its jobs.  A session is
 * AUTH until the database has accepted its identity, then RESUMING
 * (catching up from the event id the client gave, with live events
 * buffered) or LIVE, then CLOSING.  Every socket of a user is on that
 * user's list; a struct user lives while it has sockets or the database
 * has not yet heard that it has none (presence).
 *
 * Delivery rule: a socket receives events in id order, each once; it never
 * gets a live event whose id is not above the last id it was sent.
 */
#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "request.h"

static const struct config *cfg;
static struct lws_context *ctx;
static const char *bridge_id;
static struct pgconn *sys;
static const struct session_sio_hooks *sio;

static struct user *users[USER_BUCKETS];
static int	nusers;
static lws_dll2_owner_t all_sessions;

static void resume_round(struct session *s);
static void presence_touch(struct user *u);

void
session_init(const struct config *config, struct lws_context *context, const char *id,
			 struct pgconn *system)
{
	cfg = config;
	ctx = context;
	bridge_id = id;
	sys = system;
}

void
session_set_sio_hooks(const struct session_sio_hooks *hooks)
{
	sio = hooks;
}

/* --------------------------------------------------------- users */

static unsigned
hash(const char *s)
{
	uint32_t	h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char) *s++) * 16777619u;
	return h % USER_BUCKETS;
}

static struct user *
user_find(const char *id)
{
	for (struct user *u = users[hash(id)]; u; u = u->next)
		if (strcmp(u->id, id) == 0)
			return u;
	return NULL;
}

static struct user *
user_get(const char *id)
{
	struct user *u = user_find(id);
	unsigned	h;

	if (u)
		return u;
	u = calloc(1, sizeof(*u) + strlen(id) + 1);
	if (!u)
		return NULL;
	strcpy(u->id, id);
	h = hash(id);
	u->next = users[h];
	users[h] = u;
	nusers++;
	return u;
}

static void
user_maybe_free(struct user *u)
{
	struct user **pp;

	if (u->count || u->sessions.count || u->job_pending || u->reported > 0)
		return;
	for (pp = &users[hash(u->id)]; *pp; pp = &(*pp)->next)
		if (*pp == u)
		{
			*pp = u->next;
			nusers--;
			free(u);
			return;
		}
}

int
session_user_count(void)
{
	return nusers;
}

int
session_count(void)
{
	return (int) all_sessions.count;
}

/* ------------------------------------------------------ presence */

static void
presence_done(struct job *job)
{
	struct user *u = job->owner;

	u->job_pending = false;
	if (job_ok(job))
	{
		u->reported = u->sending;
		metrics_inc(M_PRESENCE_UPDATES);
	}
	else if (job->err)
	{
		/* the database refused this user id: do not retry forever */
		log_warn("presence update refused for a user: %s",
				 PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY));
		u->reported = u->sending;
	}
	/* connection lost: session_presence_resync() runs when it is back */
	if (!job->fail_code)
		presence_touch(u);
	user_maybe_free(u);
}

static void
presence_touch(struct user *u)
{
	struct job *job;
	char		count[16];
	const char *v[3];

	if (u->job_pending || u->count == u->reported || !conn_up(sys))
		return;
	snprintf(count, sizeof(count), "%d", u->count);
	v[0] = bridge_id;
	v[1] = u->id;
	v[2] = count;
	job = job_new(presence_done, u);
	if (!job || job_add(job, SQL_PRESENCE, 3, v))
	{
		job_free(job);
		return;
	}
	u->sending = u->count;
	u->job_pending = true;
	if (conn_submit(sys, job))
	{
		u->job_pending = false;
		job_free(job);
	}
}

/* The system connection (re)connected: tell it every user we hold. */
void
session_presence_resync(void)
{
	for (int h = 0; h < USER_BUCKETS; h++)
		for (struct user *u = users[h], *next; u; u = next)
		{
			next = u->next;
			if (!u->job_pending)
				u->reported = -1;
			presence_touch(u);
		}
}

/* ------------------------------------------------------- sending */

static void
queue_free(lws_dll2_owner_t *q)
{
	while (q->count)
	{
		struct wsmsg *m = lws_container_of(lws_dll2_get_head(q), struct wsmsg, list);

		lws_dll2_remove(&m->list);
		free(m);
	}
}

static struct wsmsg *
msg_new(const char *data, size_t len, int64_t id)
{
	struct wsmsg *m = malloc(sizeof(*m) + LWS_PRE + len);

	if (!m)
		return NULL;
	memset(&m->list, 0, sizeof(m->list));
	m->id = id;
	m->len = len;
	memcpy(m->data + LWS_PRE, data, len);
	return m;
}

void
session_close(struct session *s, uint16_t code, const char *reason)
{
	if (s->state == SS_CLOSING)
		return;
	s->state = SS_CLOSING;
	s->close_code = code;
	snprintf(s->close_reason, sizeof(s->close_reason), "%s", reason);
	if (s->wsi)
		lws_callback_on_writable(s->wsi);
	else
		sio->wake(s);
}

/* Queue overflow: drop the socket; the client reconnects and resumes. */
void
session_drop_slow(struct session *s)
{
	log_info("dropping a slow websocket client of user %s: %zu bytes queued",
			 s->user ? s->user->id : "?", s->queued);
	metrics_inc(M_WS_CLOSED_SLOW);
	queue_free(&s->sendq);
	s->queued = 0;
	session_close(s, 1013, "too slow: reconnect and resume");
	/* a client that does not read never gets WRITEABLE: cut it now */
	if (s->wsi && lws_send_pipe_choked(s->wsi))
		lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

bool
session_queue_room(const struct session *s, size_t len)
{
	return s->queued == 0 || s->queued + len <= cfg->send_queue;
}

void
ws_send(struct session *s, const char *data, size_t len)
{
	struct wsmsg *m;

	if (s->state == SS_CLOSING)
		return;
	if (!session_queue_room(s, len))
	{
		session_drop_slow(s);
		return;
	}
	if (!(m = msg_new(data, len, 0)))
	{
		session_drop_slow(s);
		return;
	}
	lws_dll2_add_tail(&m->list, &s->sendq);
	s->queued += len;
	if (s->wsi)
		lws_callback_on_writable(s->wsi);
	else
		sio->wake(s);			/* a Socket.IO long-polling session */
}

void
ws_send_jb(struct session *s, struct jbuf *b)
{
	if (b->oom)
		session_drop_slow(s);
	else
		ws_send(s, b->s, b->len);
	jb_free(b);
}

/* {"type":"error","id":...,"status":N,"error":{...}} */
void
session_send_error_body(struct session *s, const char *rawid, int status, const char *body, size_t len)
{
	struct jbuf b;

	jb_init(&b);
	jb_printf(&b, "{\"type\":\"error\",\"id\":%s,\"status\":%d,\"error\":", rawid ? rawid : "null",
			  status);
	jb_put(&b, body, len);
	jb_puts(&b, "}");
	ws_send_jb(s, &b);
}

void
session_send_error(struct session *s, const char *rawid, int status, const char *code, const char *msg)
{
	struct reply r = {0};

	reply_error(&r, status, code, msg, NULL, NULL);
	if (r.body)
		session_send_error_body(s, rawid, status, r.body, r.len);
	reply_clear(&r);
}

/* -------------------------------------------------------- events */

/* One event to one socket, in its protocol. */
static void
deliver(struct session *s, const char *payload, size_t len)
{
	if (s->sio)
		sio->deliver(s, payload, len);
	else
		ws_send(s, payload, len);
}

void
session_deliver_event(const char *user_id, int64_t id, const char *payload, size_t len)
{
	struct user *u = user_find(user_id);

	if (!u || !u->sessions.count)
	{
		metrics_inc(M_EVENTS_UNROUTED);
		return;
	}
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&u->sessions))
	{
		struct session *s = lws_container_of(d, struct session, user_link);

		if (s->state == SS_LIVE && id > s->last_sent)
		{
			s->last_sent = id;
			metrics_inc(M_EVENTS_DELIVERED);
			deliver(s, payload, len);
		}
		else if (s->state == SS_RESUMING && !s->resume_overflow)
		{
			struct wsmsg *m;

			if (s->resume_bytes + len > cfg->send_queue || !(m = msg_new(payload, len, id)))
			{
				/* refetch them from the database after this round */
				queue_free(&s->resume_buf);
				s->resume_bytes = 0;
				s->resume_overflow = true;
			}
			else
			{
				lws_dll2_add_tail(&m->list, &s->resume_buf);
				s->resume_bytes += len;
			}
		}
	}
	lws_end_foreach_dll(d);
}

static void
go_live(struct session *s)
{
	s->state = SS_LIVE;
	free(s->resume_id);
	s->resume_id = NULL;
	while (s->resume_buf.count && s->state == SS_LIVE)
	{
		struct wsmsg *m = lws_container_of(lws_dll2_get_head(&s->resume_buf), struct wsmsg, list);

		lws_dll2_remove(&m->list);
		if (m->id > s->last_sent)
		{
			s->last_sent = m->id;
			metrics_inc(M_EVENTS_DELIVERED);
			deliver(s, (const char *) m->data + LWS_PRE, m->len);
		}
		free(m);
	}
	queue_free(&s->resume_buf);
	s->resume_bytes = 0;
}

static void
sul_resume_cb(lws_sorted_usec_list_t *sul)
{
	struct session *s = lws_container_of(sul, struct session, sul_resume);

	if (s->state == SS_RESUMING && !s->resume_job)
		resume_round(s);
}

static void
resume_done(struct job *job)
{
	struct session *s = job->owner;
	const PGresult *res;
	int			n;

	if (!s)
		return;
	lws_dll2_remove(&job->owner_link);
	s->resume_job = NULL;
	if (s->state != SS_RESUMING)
		return;
	if (job->fail_code)
	{
		/* no database right now: try again, keep buffering */
		lws_sul_schedule(ctx, 0, &s->sul_resume, sul_resume_cb, 1000 * 1000);
		return;
	}
	if (job->err && s->sio)
	{
		/* no error message in Socket.IO: the client reconnects, unrecovered */
		session_close(s, 1011, "the events to recover are gone");
		return;
	}
	if (job->err)
	{
		struct reply r = {0};

		reply_from_job(&r, job, 1, true, false, false);
		if (r.body)
			session_send_error_body(s, s->resume_id, r.status, r.body, r.len);
		reply_clear(&r);
		go_live(s);
		return;
	}
	res = job->res[1];
	n = res ? PQntuples(res) : 0;
	for (int i = 0; i < n && s->state == SS_RESUMING; i++)
	{
		int64_t		id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		size_t		len = (size_t) PQgetlength(res, i, 1);

		if (id <= s->last_sent)
			continue;
		if (!session_queue_room(s, len))
		{
			/* the client reads slower than we fetch: go on from here later */
			s->resume_waiting = true;
			return;
		}
		s->last_sent = id;
		metrics_inc(M_EVENTS_RESUMED);
		deliver(s, PQgetvalue(res, i, 1), len);
	}
	if (s->state != SS_RESUMING)
		return;
	if (n >= cfg->event_batch)
	{
		if (s->queued > cfg->send_queue / 2)
			s->resume_waiting = true;
		else
			resume_round(s);
		return;
	}
	if (s->resume_overflow)
	{
		s->resume_overflow = false;
		resume_round(s);
		return;
	}
	go_live(s);
}

/* A job that runs as the socket's user: identity first, then sql. */
struct job *
session_job(struct session *s, job_done_fn done, const char *method, const char *path)
{
	return request_job(&s->id, s->headers_json, method, path, false, done, s);
}

static void
resume_round(struct session *s)
{
	char		after[24],
				max[16];
	const char *v[2] = {after, max};
	struct job *job;

	snprintf(after, sizeof(after), "%lld", (long long) s->last_sent);
	snprintf(max, sizeof(max), "%d", cfg->event_batch);
	job = session_job(s, resume_done, "GET", "/ws");
	if (!job || job_add(job, SQL_EVENTS_SINCE, 2, v))
	{
		job_free(job);
		lws_sul_schedule(ctx, 0, &s->sul_resume, sul_resume_cb, 1000 * 1000);
		return;
	}
	job->per_socket = true;		/* one resume round at a time per socket */
	if (pool_submit(job))
	{
		job_free(job);
		lws_sul_schedule(ctx, 0, &s->sul_resume, sul_resume_cb, 1000 * 1000);
		return;
	}
	s->resume_job = job;
	lws_dll2_add_tail(&job->owner_link, &s->jobs);
}

/* The client has read enough of its queue: the next page of its resume. */
void
session_resume_more(struct session *s)
{
	if (s->resume_waiting && s->queued <= cfg->send_queue / 4)
	{
		s->resume_waiting = false;
		resume_round(s);
	}
}

void
session_start_resume(struct session *s, int64_t after)
{
	s->state = SS_RESUMING;
	s->last_sent = after;
	s->resume_overflow = false;
	s->resume_waiting = false;
	if (!s->resume_job)
		resume_round(s);
}

/* ------------------------------------------------------ lifetime */

/* A socket's session (lws zeroed it, ws.c set its wsi): counted and closable. */
void
session_opened(struct session *s)
{
	s->state = SS_AUTH;
	s->connect_after = -1;
	lws_dll2_add_tail(&s->all_link, &all_sessions);
	metrics_inc(M_WS_ACCEPTED);
}

/* Who a socket's token names; on failure r holds the refusal. */
int
session_identity(struct identity *id, const char *tok, size_t len, struct reply *r)
{
	if (identity_from_bearer(id, tok, len, r))
	{
		if (!r->status)
			reply_error(r, 500, "PGRST000", "out of memory", NULL, NULL);
		return -1;
	}
	if (!id->authenticated)
	{
		/* request.c runs a token without a role claim as nobody: no socket for nobody */
		identity_clear(id);
		reply_error(r, 401, "PGRST303", "A WebSocket needs a JWT with a role claim", NULL,
					"Events are delivered to the token's sub, which needs a role to act as.");
		return -1;
	}
	if (!id->sub)
	{
		identity_clear(id);
		reply_error(r, 401, "PGRST303", "A WebSocket needs a JWT with a sub claim", NULL, NULL);
		return -1;
	}
	return 0;
}

/* The database accepted the socket's identity: count it as uid's. */
bool
session_register(struct session *s, const char *uid)
{
	s->user = user_get(uid);
	if (!s->user)
	{
		session_close(s, 1011, "out of memory");
		return false;
	}
	lws_dll2_add_tail(&s->user_link, &s->user->sessions);
	s->user->count++;
	s->registered = true;
	presence_touch(s->user);
	return true;
}

/*
 * A session with no connection of its own: Socket.IO's HTTP long-polling
 * (sio_ws.c), whose packets wait in sendq for the next GET.
 */
struct session *
session_detached(void)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->state = SS_AUTH;
	s->connect_after = -1;
	lws_dll2_add_tail(&s->all_link, &all_sessions);
	metrics_inc(M_WS_ACCEPTED);
	return s;
}

void
session_detached_free(struct session *s)
{
	session_cleanup(s);
	free(s);
	lifecycle_work_done();
}

/*
 * A polling session moves onto the WebSocket that upgraded it: to's
 * identity, user, jobs, queued packets and Socket.IO state become from's,
 * and from is left empty for session_detached_free().
 */
void
session_adopt(struct session *to, struct session *from)
{
	to->state = from->state;
	to->id = from->id;
	memset(&from->id, 0, sizeof(from->id));
	to->last_sent = from->last_sent;
	to->calls = from->calls;
	from->calls = 0;
	to->call_running = from->call_running;
	from->call_running = false;
	while (from->calls_waiting.count)
	{
		struct lws_dll2 *d = lws_dll2_get_head(&from->calls_waiting);

		lws_dll2_remove(d);
		lws_dll2_add_tail(d, &to->calls_waiting);
	}
	if (from->registered)
	{
		to->user = from->user;
		lws_dll2_remove(&from->user_link);
		lws_dll2_add_tail(&to->user_link, &to->user->sessions);
		to->registered = true;
		from->registered = false;
		from->user = NULL;
	}
	while (from->jobs.count)
	{
		struct job *j = lws_container_of(lws_dll2_get_head(&from->jobs), struct job, owner_link);

		lws_dll2_remove(&j->owner_link);
		j->owner = to;
		lws_dll2_add_tail(&j->owner_link, &to->jobs);
	}
	while (from->sendq.count)
	{
		struct wsmsg *m = lws_container_of(lws_dll2_get_head(&from->sendq), struct wsmsg, list);

		lws_dll2_remove(&m->list);
		lws_dll2_add_tail(&m->list, &to->sendq);
	}
	/* with the bytes of events Socket.IO holds (sio_ws.c's sio_deliver) */
	to->queued += from->queued;
	from->queued = 0;
	if (to->sendq.count)
		lws_callback_on_writable(to->wsi);
}

/*
 * A socket's calls commit in the order they were sent: one is in the pool
 * at a time and the rest wait here, in order (--ws-calls bounds them all).
 * Two calls sent back to back, an offer and then an ICE candidate, ran on
 * two pool connections before and could commit, and so reach the peer, the
 * other way round.  0, or the refusal's HTTP status when the call could not
 * be queued at all.
 */
int
session_call_submit(struct session *s, struct job *job)
{
	int			rc;

	if (s->call_running)
	{
		lws_dll2_add_tail(&job->list, &s->calls_waiting);
		return 0;
	}
	if ((rc = pool_submit(job)) != 0)
		return rc;
	s->call_running = true;
	return 0;
}

/*
 * The running call is done (its done callback calls this): the next one
 * goes to the pool.  One the pool refuses is answered through its own done
 * callback with the refusal's code, as a job that never reached a database.
 */
void
session_call_finished(struct session *s)
{
	s->call_running = false;
	while (!s->call_running && s->calls_waiting.count)
	{
		struct job *job = lws_container_of(lws_dll2_get_head(&s->calls_waiting), struct job, list);

		lws_dll2_remove(&job->list);
		if (pool_submit(job) == 0)
		{
			s->call_running = true;
			return;
		}
		request_job_refused(job, true);
		job->done(job);
		job_free(job);
	}
}

void
session_cleanup(struct session *s)
{
	lws_sul_cancel(&s->sul_resume);
	if (s->sio)
		sio->closed(s);
	/* calls that never reached the pool are dropped with their socket */
	while (s->calls_waiting.count)
	{
		struct job *j = lws_container_of(lws_dll2_get_head(&s->calls_waiting), struct job, list);

		lws_dll2_remove(&j->list);
		lws_dll2_remove(&j->owner_link);
		job_free(j);
	}
	while (s->jobs.count)
	{
		struct job *j = lws_container_of(lws_dll2_get_head(&s->jobs), struct job, owner_link);

		lws_dll2_remove(&j->owner_link);
		job_orphan(j);
	}
	if (s->registered)
	{
		struct user *u = s->user;

		lws_dll2_remove(&s->user_link);
		u->count--;
		presence_touch(u);
		user_maybe_free(u);
	}
	lws_dll2_remove(&s->all_link);
	queue_free(&s->sendq);
	queue_free(&s->resume_buf);
	identity_clear(&s->id);
	free(s->headers_json);
	free(s->rx);
	free(s->resume_id);
	s->headers_json = NULL;
	s->rx = NULL;
	s->resume_id = NULL;
}

/* SIGTERM: every socket gets close code 1001 after what is queued. */
void
session_close_all(void)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&all_sessions))
	{
		struct session *s = lws_container_of(d, struct session, all_link);

		session_close(s, 1001, "bridge shutting down: reconnect and resume");
	}
	lws_end_foreach_dll(d);
}
