/*
 * ws.c: the realtime WebSocket (/ws): authentication, the per-socket send
 * queue, client messages (call, resume, ping), event delivery with resume,
 * and presence (how many sockets each user has on this bridge).
 *
 * A struct session is the protocol's per-connection memory: lws allocates
 * it at upgrade and frees it after LWS_CALLBACK_CLOSED, where we release
 * everything it points to and orphan its jobs.  A session is AUTH until the
 * database has accepted its identity, then RESUMING (catching up from the
 * event id the client gave, with live events buffered) or LIVE, then
 * CLOSING.  Every socket of a user is on that user's list; a struct user
 * lives while it has sockets or the database has not yet heard that it has
 * none (presence).
 *
 * Delivery rule: a socket receives events in id order, each once; it never
 * gets a live event whose id is not above the last id it was sent.
 */
#include "bridge.h"

#include <errno.h>
#include <linux/tcp.h>			/* tcp_info with tcpi_bytes_received */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>		/* SIOCINQ */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "json.h"
#include "jwt.h"
#include "ws.h"

static struct user *users[USER_BUCKETS];
static int	nusers;
static lws_dll2_owner_t all_sessions;

static void resume_round(struct session *s);
static void presence_touch(struct user *u);

/* -------------------------------------------------------------- users */

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
ws_user_count(void)
{
	return nusers;
}

int
ws_session_count(void)
{
	return (int) all_sessions.count;
}

/* ----------------------------------------------------------- presence */

static void
presence_done(struct job *job)
{
	struct user *u = job->owner;

	u->job_pending = false;
	if (job_ok(job))
	{
		u->reported = u->sending;
		B.m.presence_updates++;
	}
	else if (job->err)
	{
		/* the database refused this user id: do not retry forever */
		log_warn("presence update refused for a user: %s",
				 PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY));
		u->reported = u->sending;
	}
	/* connection lost: ws_presence_resync() runs when it is back */
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

	if (u->job_pending || u->count == u->reported || !conn_up(&B.sys))
		return;
	snprintf(count, sizeof(count), "%d", u->count);
	v[0] = B.id;
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
	if (conn_submit(&B.sys, job))
	{
		u->job_pending = false;
		job_free(job);
	}
}

/* The system connection (re)connected: tell it every user we hold. */
void
ws_presence_resync(void)
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

/* -------------------------------------------------------------- sending */

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
		sio_poll_wake(s);
}

/* Queue overflow: drop the socket; the client reconnects and resumes. */
static void
session_drop_slow(struct session *s)
{
	log_info("dropping a slow websocket client of user %s: %zu bytes queued",
			 s->user ? s->user->id : "?", s->queued);
	B.m.ws_closed_slow++;
	queue_free(&s->sendq);
	s->queued = 0;
	session_close(s, 1013, "too slow: reconnect and resume");
	/* a client that does not read never gets WRITEABLE: cut it now */
	if (s->wsi && lws_send_pipe_choked(s->wsi))
		lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

void
ws_send(struct session *s, const char *data, size_t len)
{
	struct wsmsg *m;

	if (s->state == SS_CLOSING)
		return;
	/* one message always fits an empty queue, however large */
	if (s->queued > 0 && s->queued + len > B.cfg.send_queue)
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
		sio_poll_wake(s);			/* a Socket.IO long-polling session */
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
static void
send_error_body(struct session *s, const char *rawid, int status, const char *body, size_t len)
{
	struct jbuf b;

	jb_init(&b);
	jb_printf(&b, "{\"type\":\"error\",\"id\":%s,\"status\":%d,\"error\":", rawid ? rawid : "null",
			  status);
	jb_put(&b, body, len);
	jb_puts(&b, "}");
	ws_send_jb(s, &b);
}

static void
send_error(struct session *s, const char *rawid, int status, const char *code, const char *msg)
{
	struct reply r = {0};

	reply_error(&r, status, code, msg, NULL, NULL);
	if (r.body)
		send_error_body(s, rawid, status, r.body, r.len);
	reply_clear(&r);
}

/* -------------------------------------------------------------- events */

/* One event to one socket, in its protocol. */
static void
deliver(struct session *s, const char *payload, size_t len)
{
	if (s->sio)
		sio_deliver(s, payload, len);
	else
		ws_send(s, payload, len);
}

void
ws_deliver_event(const char *user_id, int64_t id, const char *payload, size_t len)
{
	struct user *u = user_find(user_id);

	if (!u || !u->sessions.count)
	{
		B.m.events_unrouted++;
		return;
	}
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&u->sessions))
	{
		struct session *s = lws_container_of(d, struct session, user_link);

		if (s->state == SS_LIVE && id > s->last_sent)
		{
			s->last_sent = id;
			B.m.events_delivered++;
			deliver(s, payload, len);
		}
		else if (s->state == SS_RESUMING && !s->resume_overflow)
		{
			struct wsmsg *m;

			if (s->resume_bytes + len > B.cfg.send_queue || !(m = msg_new(payload, len, id)))
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
			B.m.events_delivered++;
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
		lws_sul_schedule(B.ctx, 0, &s->sul_resume, sul_resume_cb, 1000 * 1000);
		return;
	}
	if (job->err)
	{
		struct reply r = {0};

		reply_from_job(&r, job, 1, true, false, false);
		if (r.body)
			send_error_body(s, s->resume_id, r.status, r.body, r.len);
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
		if (s->queued > 0 && s->queued + len > B.cfg.send_queue)
		{
			/* the client reads slower than we fetch: go on from here later */
			s->resume_waiting = true;
			return;
		}
		s->last_sent = id;
		B.m.events_resumed++;
		deliver(s, PQgetvalue(res, i, 1), len);
	}
	if (s->state != SS_RESUMING)
		return;
	if (n >= B.cfg.event_batch)
	{
		if (s->queued > B.cfg.send_queue / 2)
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

static const char *
timeout_text(void)
{
	static char buf[24];

	snprintf(buf, sizeof(buf), "%d", B.cfg.statement_timeout_ms);
	return buf;
}

/* A job that runs as the socket's user: identity first, then sql. */
struct job *
session_job(struct session *s, job_done_fn done, const char *method, const char *path)
{
	const char *idv[6] = {s->id.role, s->id.claims, s->headers_json ? s->headers_json : "{}",
	method, path, timeout_text()};
	struct job *job = job_new(done, s);

	if (!job || job_add(job, SQL_IDENTITY, 6, idv))
	{
		job_free(job);
		return NULL;
	}
	return job;
}

static void
resume_round(struct session *s)
{
	char		after[24],
				max[16];
	const char *v[2] = {after, max};
	struct job *job;

	snprintf(after, sizeof(after), "%lld", (long long) s->last_sent);
	snprintf(max, sizeof(max), "%d", B.cfg.event_batch);
	job = session_job(s, resume_done, "GET", "/ws");
	if (!job || job_add(job, SQL_EVENTS_SINCE, 2, v))
	{
		job_free(job);
		lws_sul_schedule(B.ctx, 0, &s->sul_resume, sul_resume_cb, 1000 * 1000);
		return;
	}
	job->per_socket = true;		/* one resume round at a time per socket */
	if (pool_submit(job))
	{
		job_free(job);
		lws_sul_schedule(B.ctx, 0, &s->sul_resume, sul_resume_cb, 1000 * 1000);
		return;
	}
	s->resume_job = job;
	lws_dll2_add_tail(&job->owner_link, &s->jobs);
}

static void
start_resume(struct session *s, int64_t after)
{
	s->state = SS_RESUMING;
	s->last_sent = after;
	s->resume_overflow = false;
	s->resume_waiting = false;
	if (!s->resume_job)
		resume_round(s);
}

/* -------------------------------------------------------------- calls */

static void
call_done(struct job *job)
{
	struct session *s = job->owner;
	const char *rawid = job->arg;
	struct reply r = {0};
	struct jbuf b;

	if (!s)
		return;
	lws_dll2_remove(&job->owner_link);
	s->calls--;
	reply_from_job(&r, job, 1, true, false, false);
	if (r.status >= 200 && r.status < 300)
	{
		B.m.ws_calls_ok++;
		jb_init(&b);
		jb_printf(&b, "{\"type\":\"result\",\"id\":%s,\"data\":", rawid);
		if (r.body && r.len)
			jb_put(&b, r.body, r.len);
		else
			jb_puts(&b, "null");
		jb_puts(&b, "}");
		ws_send_jb(s, &b);
	}
	else
	{
		B.m.ws_calls_error++;
		if (r.body)
			send_error_body(s, rawid, r.status, r.body, r.len);
	}
	reply_clear(&r);
}

static void
on_call(struct session *s, const char *msg, size_t len, const char *rawid)
{
	struct jval v;
	char	   *fn = NULL,
			   *schema_name = NULL,
			   *path = NULL;
	const char *schema;
	struct job *job;
	const char *rv[2];

	if (!json_member(msg, len, "fn", &v) || v.type != J_STRING || !(fn = json_string_dup(&v)) || !fn[0])
	{
		send_error(s, rawid, 400, "PGRST100", "A call needs \"fn\": the function name");
		goto out;
	}
	if (json_member(msg, len, "args", &v) && v.type != J_OBJECT)
	{
		send_error(s, rawid, 400, "PGRST100", "\"args\" must be an object of named arguments");
		goto out;
	}
	if (json_member(msg, len, "schema", &v) && v.type == J_STRING)
		schema_name = json_string_dup(&v);
	schema = schema_pick(schema_name);
	if (!schema)
	{
		send_error(s, rawid, 406, "PGRST106", "The schema is not exposed");
		goto out;
	}
	if (s->calls >= B.cfg.ws_calls)
	{
		send_error(s, rawid, 429, "PGRST429", "Too many calls in flight on this socket");
		goto out;
	}
	path = malloc(strlen(fn) + 6);
	if (!path)
		goto out;
	sprintf(path, "/rpc/%s", fn);
	rv[0] = schema;
	rv[1] = msg;
	job = session_job(s, call_done, "POST", path);
	if (!job || job_add(job, SQL_WS_RPC, 2, rv) || !(job->arg = strdup(rawid)))
	{
		job_free(job);
		send_error(s, rawid, 500, "PGRST000", "out of memory");
		goto out;
	}
	job->free_arg = true;
	job->reset_after = strcmp(schema, "pgcall") != 0;	/* db.c: reset_sql */
	if (pool_submit(job))
	{
		job_free(job);
		send_error(s, rawid, 503, pool_up_count() ? "PGRST003" : "PGRST001",
				   pool_up_count() ? "Too many requests are waiting for a database connection"
				   : "Could not connect to the database");
		goto out;
	}
	s->calls++;
	lws_dll2_add_tail(&job->owner_link, &s->jobs);
out:
	free(fn);
	free(schema_name);
	free(path);
}

static void
on_message(struct session *s, const char *msg, size_t len)
{
	enum jtype	top;
	struct jval type,
				idv,
				after;
	char		rawid[128];
	int64_t		a;

	B.m.ws_messages_in++;
	if (!json_valid(msg, len, &top) || top != J_OBJECT)
	{
		send_error(s, NULL, 400, "PGRST100", "A message must be a JSON object");
		return;
	}
	strcpy(rawid, "null");
	if (json_member(msg, len, "id", &idv))
	{
		if ((idv.type != J_STRING && idv.type != J_NUMBER) || idv.n >= sizeof(rawid))
		{
			send_error(s, NULL, 400, "PGRST100", "\"id\" must be a string or a number of at most 127 bytes");
			return;
		}
		memcpy(rawid, idv.p, idv.n);
		rawid[idv.n] = '\0';
	}
	if (!json_member(msg, len, "type", &type) || type.type != J_STRING)
	{
		send_error(s, rawid, 400, "PGRST100", "A message needs a \"type\"");
		return;
	}
	if (json_key_is(&type, "call"))
		on_call(s, msg, len, rawid);
	else if (json_key_is(&type, "ping"))
	{
		struct jbuf b;

		jb_init(&b);
		jb_printf(&b, "{\"type\":\"pong\",\"id\":%s}", rawid);
		ws_send_jb(s, &b);
	}
	else if (json_key_is(&type, "resume"))
	{
		if (!json_member(msg, len, "after", &after) || !json_int64(&after, &a) || a < 0)
		{
			send_error(s, rawid, 400, "PGRST100", "\"after\" must be a non-negative integer event id");
			return;
		}
		if (s->state == SS_AUTH)
		{
			s->connect_after = a;
			return;
		}
		free(s->resume_id);
		s->resume_id = strcmp(rawid, "null") ? strdup(rawid) : NULL;
		start_resume(s, a);
	}
	else
		send_error(s, rawid, 400, "PGRST100", "Unknown message type");
}

/* ------------------------------------------------------ authentication */

/* The token of an upgrade: ?token= (browsers) or Authorization: Bearer. */
static char *
upgrade_token(struct lws *wsi)
{
	char	   *buf = malloc(JWT_MAX_LEN + 8);
	const char *v;
	char	   *tok = NULL;

	if (!buf)
		return NULL;
	v = lws_get_urlarg_by_name(wsi, "token=", buf, JWT_MAX_LEN + 8);
	if (v && *v)
		tok = strdup(v);
	else if (lws_hdr_copy(wsi, buf, JWT_MAX_LEN + 8, WSI_TOKEN_HTTP_AUTHORIZATION) > 7 &&
			 strncasecmp(buf, "bearer ", 7) == 0)
		tok = strdup(buf + 7);
	free(buf);
	return tok;
}

/*
 * An event id from the query string: decimal digits only, and within
 * int64 (strtoll() would saturate 99999999999999999999 to INT64_MAX and
 * resume from the end of time).
 */
static bool
parse_event_id(const char *v, int64_t *out)
{
	char	   *end;
	long long	a;

	if (!v || *v < '0' || *v > '9')
		return false;
	errno = 0;
	a = strtoll(v, &end, 10);
	if (errno || *end || a < 0)
		return false;
	*out = a;
	return true;
}

/* ?after= of an upgrade: 1 absent, 0 valid (*after set), -1 invalid. */
static int
upgrade_after(struct lws *wsi, int64_t *after)
{
	/* lws copies each argument into the buffer while looking: fit the token */
	char	   *buf = malloc(JWT_MAX_LEN + 16);
	const char *v;
	int			rc;

	if (!buf)
		return -1;
	v = lws_get_urlarg_by_name(wsi, "after=", buf, JWT_MAX_LEN + 16);
	rc = !v ? 1 : parse_event_id(v, after) ? 0 : -1;
	free(buf);
	return rc;
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

/* Who the upgrade is for; on failure r holds the refusal. */
static int
upgrade_identity(struct lws *wsi, struct identity *id, struct reply *r, bool *token_seen)
{
	char	   *tok = upgrade_token(wsi);
	int			rc;

	*token_seen = tok != NULL;
	if (!tok)
	{
		reply_error(r, 401, "PGRST302", "A WebSocket needs a JWT",
					NULL, "Pass it as ?token= or in an Authorization: Bearer header.");
		return -1;
	}
	rc = session_identity(id, tok, strlen(tok), r);
	free(tok);
	return rc;
}

int
ws_confirm_upgrade(struct lws *wsi, const char *in)
{
	char		uri[64];
	struct identity id;
	struct reply r = {0};
	bool		seen = false;
	int			rc = 0;
	int64_t		after;

	if (!in || strcmp(in, "websocket") != 0)
		return -1;				/* h2c and others: refuse, keep HTTP/1.1 */
	if (B.draining)
	{
		reply_error(&r, 503, "PGRST503", "The bridge is shutting down", NULL, "Connect to another bridge.");
		rc = http_write_now(wsi, 503, &r, false);
	}
	else if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) > 0 && sio_path_is(uri))
	{
		/* Socket.IO: the token comes with the namespace CONNECT */
		if (sio_confirm_upgrade(wsi, &r))
			rc = http_write_now(wsi, r.status, &r, false);
	}
	else if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/ws") != 0)
	{
		reply_error(&r, 404, "PGRST404", "WebSockets are served at /ws", NULL, NULL);
		rc = http_write_now(wsi, 404, &r, false);
	}
	else if (upgrade_after(wsi, &after) < 0)
	{
		reply_error(&r, 400, "PGRST100", "after must be a non-negative integer event id",
					NULL, "Pass the id of the last event received, at most 9223372036854775807.");
		rc = http_write_now(wsi, 400, &r, false);
	}
	else if (upgrade_identity(wsi, &id, &r, &seen))
		rc = http_write_now(wsi, r.status, &r, seen);
	else
		identity_clear(&id);
	if (rc)
		B.m.ws_refused++;
	reply_clear(&r);
	return rc;
}

static void
welcome(struct session *s)
{
	struct jbuf b;

	jb_init(&b);
	jb_puts(&b, "{\"type\":\"welcome\",\"user\":");
	jb_strz(&b, s->user->id);
	jb_printf(&b, ",\"bridge\":\"%s\",\"last_event_id\":%lld}", B.id, (long long) events_cursor());
	ws_send_jb(s, &b);
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

static void
auth_done(struct job *job)
{
	struct session *s = job->owner;
	const PGresult *res = job->res[1];
	const char *uid;

	if (!s)
		return;
	lws_dll2_remove(&job->owner_link);
	if (s->state != SS_AUTH)
		return;
	if (!job_ok(job) || !res || PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
	{
		struct reply r = {0};

		if (job_ok(job))
			reply_error(&r, 401, "PGRST303", "The JWT names no user", NULL, NULL);
		else
			reply_from_job(&r, job, 1, true, false, false);
		if (r.body)
			send_error_body(s, NULL, r.status, r.body, r.len);
		if (r.status >= 500)
			session_close(s, 1013, "database unavailable: retry");
		else
		{
			B.m.ws_closed_auth++;
			session_close(s, 1008, "identity refused");
		}
		reply_clear(&r);
		return;
	}
	uid = PQgetvalue(res, 0, 0);
	if (!session_register(s, uid))
		return;
	welcome(s);
	if (s->connect_after >= 0)
		start_resume(s, s->connect_after);
	else
	{
		s->last_sent = events_cursor();
		s->state = SS_LIVE;
	}
}

static bool wire_consumed(struct lws *wsi, uint64_t *n);

static int
on_established(struct session *s, struct lws *wsi)
{
	struct reply r = {0};
	bool		seen;
	struct job *job;
	int64_t		wait,
				after = -1;

	memset(s, 0, sizeof(*s));
	s->wsi = wsi;
	s->state = SS_AUTH;
	s->connect_after = -1;
	s->mask_check = wire_consumed(wsi, &s->wire_min);
	lws_dll2_add_tail(&s->all_link, &all_sessions);
	B.m.ws_accepted++;
	{
		char		uri[64];

		if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) > 0 && sio_path_is(uri))
		{
			s->headers_json = http_headers_json(wsi);
			sio_established(s);
			return 0;
		}
	}
	if (upgrade_identity(wsi, &s->id, &r, &seen))
	{
		reply_clear(&r);
		session_close(s, 1008, "token refused");
		return 0;
	}
	/* checked at the upgrade already (ws_confirm_upgrade) */
	if (upgrade_after(wsi, &after) < 0)
	{
		session_close(s, 1008, "after must be a non-negative integer");
		return 0;
	}
	if (after >= 0)
		s->connect_after = after;
	s->headers_json = http_headers_json(wsi);
	if (s->id.exp)
	{
		wait = s->id.exp - now_unix();
		lws_set_timer_usecs(wsi, (wait > 0 ? wait : 0) * LWS_USEC_PER_SEC + 1);
	}
	job = session_job(s, auth_done, "GET", "/ws");
	if (job)
		job->per_socket = true; /* one authentication per socket */
	if (!job || job_add(job, SQL_WS_AUTH, 0, NULL) || pool_submit(job))
	{
		job_free(job);
		send_error(s, NULL, 503, "PGRST001", "Could not connect to the database");
		session_close(s, 1013, "database unavailable: retry");
		return 0;
	}
	lws_dll2_add_tail(&job->owner_link, &s->jobs);
	return 0;
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
	B.m.ws_accepted++;
	return s;
}

static void session_cleanup(struct session *s);

void
session_detached_free(struct session *s)
{
	session_cleanup(s);
	free(s);
	if (B.draining)
		bridge_check_drained();
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
		to->queued += m->len;
	}
	from->queued = 0;
	if (to->sendq.count)
		lws_callback_on_writable(to->wsi);
}

static void
on_closed(struct session *s)
{
	if (!s->wsi)
		return;
	session_cleanup(s);
	s->wsi = NULL;
	if (B.draining)
		bridge_check_drained();
}

static void
session_cleanup(struct session *s)
{
	lws_sul_cancel(&s->sul_resume);
	if (s->sio)
		sio_closed(s);
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

/* Bytes the kernel has received from the client on this connection. */
bool
wire_received(struct lws *wsi, uint64_t *n)
{
	struct tcp_info ti;
	socklen_t	tl = sizeof(ti);
	int			fd = lws_get_socket_fd(wsi);

	if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) != 0 ||
		tl < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
		return false;
	*n = ti.tcpi_bytes_received;
	return true;
}

/*
 * Bytes the bridge has read from this connection so far: what the kernel
 * received less what still waits in its queue.  At the upgrade this is the
 * request head only, even when the client, having seen the 101, has already
 * sent its first frame.  The count is taken before the queue is read, so a
 * frame landing in between makes the result smaller, never larger.
 */
static bool
wire_consumed(struct lws *wsi, uint64_t *n)
{
	int			fd = lws_get_socket_fd(wsi);
	int			queued = 0;
	uint64_t	got;

	if (!wire_received(wsi, &got) || ioctl(fd, SIOCINQ, &queued) != 0 || queued < 0 ||
		(uint64_t) queued > got)
		return false;
	*n = got - (uint64_t) queued;
	return true;
}

/*
 * RFC 6455 5.1: a server must close the connection when a client frame is
 * not masked.  lws 4.1 unmasks what is masked and passes the rest without
 * telling, so the bridge counts instead: a masked frame of n payload bytes
 * takes at least n + 6 bytes on the wire (n + 8 above 125, n + 14 above
 * 65535), and an unmasked one 4 fewer.  Counting from what the kernel had
 * read at the upgrade, a client that has sent less than that minimum
 * cannot have masked every frame.  Pings and pongs lws answers itself only
 * add bytes, so a masking client is never closed by mistake.  (A client
 * that sends frames before the 101 breaks RFC 6455 4.1 and is counted as
 * unmasked; behind TLS the count only grows, and the check is blind.)
 */
static bool
frames_masked(struct session *s, struct lws *wsi, size_t len)
{
	uint64_t	got;

	if (!s->mask_check)
		return true;
	if (!s->in_frame)
	{
		size_t		n = len + lws_remaining_packet_payload(wsi);

		s->wire_min += n + 6 + (n > 65535 ? 8 : n > 125 ? 2 : 0);
	}
	s->in_frame = lws_remaining_packet_payload(wsi) > 0;
	if (s->in_frame)
		return true;
	return !wire_received(wsi, &got) || got >= s->wire_min;
}

static int
on_receive(struct session *s, struct lws *wsi, const char *in, size_t len)
{
	if (!frames_masked(s, wsi, len))
	{
		lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR,
						 (unsigned char *) "client frames must be masked", 28);
		return -1;
	}
	if (s->state == SS_CLOSING)
		return 0;
	if (lws_frame_is_binary(wsi))
	{
		lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
						 (unsigned char *) "binary frames are not accepted", 30);
		return -1;
	}
	if (s->rx_len + len > B.cfg.max_message)
	{
		B.m.ws_closed_too_big++;
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
						 (unsigned char *) "message too large", 17);
		return -1;
	}
	/* an empty message still needs a buffer to terminate (rx is NULL when idle) */
	if (!s->rx || s->rx_len + len > s->rx_cap)
	{
		size_t		cap = s->rx_cap ? s->rx_cap : 1024;
		char	   *p;

		while (cap < s->rx_len + len)
			cap *= 2;
		if (cap > B.cfg.max_message)
			cap = B.cfg.max_message;
		/* one more for the terminator: the message goes to libpq as a C string */
		if (!(p = realloc(s->rx, cap + 1)))
			return -1;
		s->rx = p;
		s->rx_cap = cap;
	}
	memcpy(s->rx + s->rx_len, in, len);
	s->rx_len += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	s->rx[s->rx_len] = '\0';
	if (s->sio)
		sio_on_message(s, s->rx, s->rx_len);
	else
		on_message(s, s->rx, s->rx_len);
	/* idle sockets keep no receive buffer */
	free(s->rx);
	s->rx = NULL;
	s->rx_len = s->rx_cap = 0;
	return 0;
}

static int
on_writeable(struct session *s, struct lws *wsi)
{
	if (s->sendq.count)
	{
		struct wsmsg *m = lws_container_of(lws_dll2_get_head(&s->sendq), struct wsmsg, list);
		int			n = lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);

		if (n < (int) m->len)
			return -1;
		lws_dll2_remove(&m->list);
		s->queued -= m->len;
		free(m);
		B.m.ws_messages_out++;
		if (s->sendq.count || s->close_code)
			lws_callback_on_writable(wsi);
		if (s->resume_waiting && s->queued <= B.cfg.send_queue / 4)
		{
			s->resume_waiting = false;
			resume_round(s);
		}
		return 0;
	}
	if (s->close_code)
	{
		lws_close_reason(wsi, (enum lws_close_status) s->close_code,
						 (unsigned char *) s->close_reason, strlen(s->close_reason));
		return -1;
	}
	return 0;
}

int
ws_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			   void *in, size_t len)
{
	struct session *s = user;

	switch (reason)
	{
		case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
			return ws_confirm_upgrade(wsi, (const char *) in);
		case LWS_CALLBACK_ESTABLISHED:
			return on_established(s, wsi);
		case LWS_CALLBACK_RECEIVE:
			if (!s || !s->wsi)
				return -1;
			return on_receive(s, wsi, (const char *) in, len);
		case LWS_CALLBACK_SERVER_WRITEABLE:
			if (!s || !s->wsi)
				return 0;
			return on_writeable(s, wsi);
		case LWS_CALLBACK_TIMER:
			if (s && s->wsi)
				session_close(s, 1008, "token expired");
			return 0;
		case LWS_CALLBACK_CLOSED:
			if (s)
				on_closed(s);
			return 0;
		case LWS_CALLBACK_CLOSED_HTTP:
			/* a fresh connection is bound here until its first request */
			if (!s || !s->wsi)
				http_closed_early(wsi);
			return 0;
		default:
			return 0;
	}
}

/* SIGTERM: every socket gets close code 1001 after what is queued. */
void
ws_close_all(void)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&all_sessions))
	{
		struct session *s = lws_container_of(d, struct session, all_link);

		session_close(s, 1001, "bridge shutting down: reconnect and resume");
	}
	lws_end_foreach_dll(d);
}

const size_t session_size = sizeof(struct session);
