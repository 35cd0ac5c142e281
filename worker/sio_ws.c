/*
 * sio_ws.c: Socket.IO v4 (Engine.IO 4) over WebSocket at /socket.io/, for
 * the dialect the bridge serves (--socketio-dialect).
 *
 * Long file: an Engine.IO session is one state machine across both of its
 * transports (it may open on long-polling, probe a WebSocket and move onto
 * it mid-stream), so the WebSocket and polling halves share every
 * function that moves a session between states.
 *
 * A Socket.IO socket is a session.c session (same identity, presence, send queue
 * and event delivery) that speaks Engine.IO packets instead of pgcall's
 * messages.  After the upgrade the bridge sends the open packet and pings
 * every --socketio-ping-interval; the client joins the dialect's namespace
 * with a CONNECT whose auth object carries the JWT ({"token": "..."}).  The
 * database checks both (pgcall.current_user_id(), pgcall.dialect_rules()),
 * and from then on:
 *
 *  - each EVENT runs pgcall.dialect_call() as the socket's user, which
 *    answers with the events (and the ack) to send back;
 *  - each pgcall event for the user goes through the dialect's outbound
 *    rules (sio_map(), rules as pgcall.dialect_rules() gave them) and is
 *    emitted in the seed's name and shape, or not at all.
 *
 * HTTP long-polling (socket.io-client's default start) is served too: a
 * GET without sid opens a session that no connection owns (session.c's
 * session_detached()), whose packets wait in its send queue for the next
 * GET; POSTs carry the client's packets (separated by \x1e).  A GET waits
 * until there is something to send, which the ping timer guarantees every
 * ping interval; a second GET while one waits closes the session, as
 * Engine.IO does.  The upgrade: a WebSocket with the sid probes (2probe /
 * 3probe, the waiting GET gets a noop), and its upgrade packet (5) moves the
 * session onto it (session_adopt()).  A session ends when it is closed,
 * misses its pong, or overflows --send-queue; an unknown sid is refused
 * with Engine.IO's error JSON.
 *
 * Not served: binary packets, more than one namespace per connection,
 * connection state recovery.
 */
#include "sio_ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "clock.h"
#include "fanout.h"
#include "jwt.h"
#include "log.h"
#include "lwsio.h"
#include "metrics.h"
#include "sio.h"

struct sio
{
	struct session *s;
	char		sid[24];
	char		nsp[SIO_MAX_NSP + 1];	/* the namespace joined or being joined */
	bool		connected;
	bool		connecting;
	bool		pong_wait;
	int			refusals;		/* CONNECT_ERRORs sent */
	lws_sorted_usec_list_t sul_ping;
	lws_sorted_usec_list_t sul_connect;
	/* long-polling */
	bool		polling;		/* s is a detached session in polls */
	bool		probing;		/* s is a WebSocket probing probe_of's upgrade */
	struct http_req *get;		/* the GET waiting for packets, or NULL */
	struct session *prober;		/* the WebSocket probing this session's upgrade */
	struct session *probe_of;	/* the polling session this WebSocket probes */
	lws_dll2_t	poll_link;
	lws_sorted_usec_list_t sul_release;
};

#define SIO_MAX_REFUSALS 5
#define SIO_MAX_POLLING 10000	/* long-polling sessions at once */

static const struct config *cfg;
static struct lws_context *ctx;
static sio_http_answer_fn http_sio_answer;	/* http_routes.c's, given by main.c */

/* The long-polling sessions, by sid. */
static lws_dll2_owner_t polls;

static const char text_plain[] = "text/plain; charset=UTF-8";

/* The outbound rules of the dialect, as the last CONNECT read them. */
static char *rules;
static size_t rules_len;

static struct session *
poll_find(const char *sid)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&polls))
	{
		struct sio *x = lws_container_of(d, struct sio, poll_link);

		if (strcmp(x->sid, sid) == 0)
			return x->s;
	}
	lws_end_foreach_dll(d);
	return NULL;
}

static bool
poll_upgradable(const char *sid)
{
	struct session *h = poll_find(sid);

	return h && h->state != SS_CLOSING && !h->sio->prober;
}

/*
 * The value of query argument name ("sid=") in buf, "" when it does not
 * fit, NULL when absent.  (lws_get_urlarg_by_name() of lws 4.1.6 answered
 * NULL for "EIO=" with a 32-byte buffer on a plain HTTP GET; this one
 * copies each argument whole and says which did not fit.)
 */
static const char *
urlarg(struct lws *wsi, const char *name, char *buf, int len)
{
	size_t		nl = strlen(name);

	for (int i = 0; i < 64; i++)
	{
		int			l = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
		char	   *f;
		bool		match;

		if (l <= 0)
			return NULL;
		if (!(f = malloc((size_t) l + 1)))
			return NULL;
		match = lws_hdr_copy_fragment(wsi, f, l + 1, WSI_TOKEN_HTTP_URI_ARGS, i) >= 0 &&
			strncmp(f, name, nl) == 0;
		if (match)
			snprintf(buf, (size_t) len, "%s", (size_t) l - nl < (size_t) len ? f + nl : "");
		free(f);
		if (match)
			return buf;
	}
	return NULL;
}

bool
sio_path_is(const char *uri)
{
	return strcmp(uri, "/socket.io/") == 0 || strcmp(uri, "/socket.io") == 0;
}

int
sio_confirm_upgrade(struct lws *wsi, struct reply *r)
{
	char	   *buf;
	const char *v;
	int			rc = 0;

	if (!cfg->sio_dialect)
	{
		reply_error(r, 404, "PGRST404", "Socket.IO is not served by this bridge", NULL,
					"Start it with --socketio-dialect naming a row of pgcall.dialect.");
		return -1;
	}
	/* lws copies each argument into the buffer while looking: fit a token */
	if (!(buf = malloc(JWT_MAX_LEN + 16)))
	{
		reply_error(r, 500, "PGRST000", "out of memory", NULL, NULL);
		return -1;
	}
	v = lws_get_urlarg_by_name(wsi, "EIO=", buf, JWT_MAX_LEN + 16);
	if (!v || strcmp(v, "4") != 0)
	{
		reply_error(r, 400, "PGRST100", "Unsupported protocol version", NULL,
					"Only Engine.IO 4 (EIO=4, socket.io-client 3 and 4) is served.");
		rc = -1;
	}
	else if (!(v = lws_get_urlarg_by_name(wsi, "transport=", buf, JWT_MAX_LEN + 16)) ||
			 strcmp(v, "websocket") != 0)
	{
		reply_error(r, 400, "PGRST100", "Transport unknown", NULL,
					"A WebSocket upgrade says transport=websocket; long-polling is plain GET and POST.");
		rc = -1;
	}
	else if ((v = lws_get_urlarg_by_name(wsi, "sid=", buf, JWT_MAX_LEN + 16)) &&
			 !poll_upgradable(v))
	{
		reply_error(r, 400, "PGRST100", "Session ID unknown", NULL,
					"A sid names a long-polling session of this bridge, open and not upgrading.");
		rc = -1;
	}
	free(buf);
	return rc;
}

/* ------------------------------------------------------------ sending */

static void
send_text(struct session *s, const char *text)
{
	ws_send(s, text, strlen(text));
}

/* 44[nsp,]{"message": ..., "data": <PostgREST error body>} */
static void
connect_error(struct session *s, const char *nsp, const char *message, const struct reply *r)
{
	struct sio *x = s->sio;
	struct jbuf b;

	jb_init(&b);
	sio_put_head(&b, SIO_CONNECT_ERROR, nsp, -1);
	jb_puts(&b, "{\"message\":");
	jb_strz(&b, message);
	if (r && r->body)
	{
		jb_puts(&b, ",\"data\":");
		jb_put(&b, r->body, r->len);
	}
	jb_puts(&b, "}");
	ws_send_jb(s, &b);
	if (++x->refusals >= SIO_MAX_REFUSALS)
		session_close(s, 1008, "too many refused CONNECTs");
}

static void
connect_refused(struct session *s, const char *nsp, int status, const char *code,
				const char *message, const char *hint)
{
	struct reply r = {0};

	reply_error(&r, status, code, message, NULL, hint);
	connect_error(s, nsp, message, &r);
	reply_clear(&r);
}

/* ------------------------------------------------------------- timers */

static void
sul_ping_cb(lws_sorted_usec_list_t *sul)
{
	struct sio *x = lws_container_of(sul, struct sio, sul_ping);
	struct session *s = x->s;

	if (s->state == SS_CLOSING)
		return;
	if (x->pong_wait)
	{
		log_debug("socket.io client of user %s missed its pong", s->user ? s->user->id : "?");
		session_close(s, 1000, "ping timeout");
		if (s->wsi)
			lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, 2);
		return;
	}
	/* a WebSocket has the lws timer for this; long-polling checks here */
	if (!s->wsi && s->id.exp && now_unix() >= s->id.exp)
	{
		session_close(s, 1008, "token expired");
		return;
	}
	send_text(s, "2");
	x->pong_wait = true;
	lws_sul_schedule(ctx, 0, &x->sul_ping, sul_ping_cb,
					 (lws_usec_t) cfg->sio_ping_timeout_ms * 1000);
}

static void
sul_connect_cb(lws_sorted_usec_list_t *sul)
{
	struct sio *x = lws_container_of(sul, struct sio, sul_connect);

	if (!x->connected && x->s->state != SS_CLOSING)
		session_close(x->s, 1008, x->probing ? "no upgrade in time" : "no namespace CONNECT in time");
}

static void
sul_release_cb(lws_sorted_usec_list_t *sul)
{
	struct sio *x = lws_container_of(sul, struct sio, sul_release);

	session_detached_free(x->s);
}

/* ------------------------------------------------------------ session */

/* A new Engine.IO session on s: its sid, the open packet, the timers. */
static bool
sio_start(struct session *s, bool polling)
{
	struct sio *x = calloc(1, sizeof(*x));
	unsigned char rnd[10];
	struct jbuf b;

	if (!x || RAND_bytes(rnd, sizeof(rnd)) != 1)
	{
		free(x);
		return false;
	}
	for (int i = 0; i < 10; i++)
		sprintf(x->sid + 2 * i, "%02x", rnd[i]);
	x->s = s;
	s->sio = x;
	jb_init(&b);
	sio_put_open(&b, x->sid, cfg->sio_ping_ms, cfg->sio_ping_timeout_ms, cfg->max_message,
				 polling);
	ws_send_jb(s, &b);
	lws_sul_schedule(ctx, 0, &x->sul_ping, sul_ping_cb, (lws_usec_t) cfg->sio_ping_ms * 1000);
	lws_sul_schedule(ctx, 0, &x->sul_connect, sul_connect_cb,
					 (lws_usec_t) cfg->sio_connect_timeout_ms * 1000);
	return true;
}

void
sio_established(struct session *s)
{
	char		sid[32];
	struct session *h;
	struct sio *x;

	const char *a = urlarg(s->wsi, "sid=", sid, sizeof(sid));

	if (!a)
	{
		if (!sio_start(s, false))
			session_close(s, 1011, "out of memory");
		return;
	}
	/* a WebSocket that upgrades a long-polling session: the probe first */
	if (!(x = calloc(1, sizeof(*x))))
	{
		session_close(s, 1011, "out of memory");
		return;
	}
	x->s = s;
	x->probing = true;
	s->sio = x;
	h = poll_find(a);
	if (!h || h->state == SS_CLOSING || h->sio->prober)
	{
		session_close(s, 1008, "Session ID unknown");
		return;
	}
	x->probe_of = h;
	h->sio->prober = s;
	lws_sul_schedule(ctx, 0, &x->sul_connect, sul_connect_cb,
					 (lws_usec_t) cfg->sio_connect_timeout_ms * 1000);
}

static void
answer_text(struct http_req *r, int status, const char *content_type, const char *text)
{
	http_sio_answer(r, status, content_type, strdup(text), strlen(text));
}

void
sio_closed(struct session *s)
{
	struct sio *x = s->sio;

	lws_sul_cancel(&x->sul_ping);
	lws_sul_cancel(&x->sul_connect);
	lws_sul_cancel(&x->sul_release);
	lws_dll2_remove(&x->poll_link);
	if (x->get)
		answer_text(x->get, 200, text_plain, "1");
	if (x->prober)
	{
		x->prober->sio->probe_of = NULL;
		session_close(x->prober, 1000, "the long-polling session closed");
	}
	if (x->probe_of)
		x->probe_of->sio->prober = NULL;
	free(x);
	s->sio = NULL;
}

/* ------------------------------------------------------------ connect */

static void
connect_done(struct job *job)
{
	struct session *s = job->owner;
	struct sio *x;
	const PGresult *res = job->res[1];
	struct jbuf b;
	const char *text;
	size_t		len;

	if (!s)
		return;
	lws_dll2_remove(&job->owner_link);
	x = s->sio;
	x->connecting = false;
	if (s->state != SS_AUTH)
		return;
	if (!job_ok(job) || !res || PQntuples(res) != 1)
	{
		struct reply r = {0};
		const char *msg = job->err ? PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY) : NULL;

		reply_from_job(&r, job, 1, true, false, false);
		connect_error(s, x->nsp, msg ? msg : job->fail_msg ? job->fail_msg : "Could not connect to the database",
					  &r);
		reply_clear(&r);
		return;
	}
	if (PQgetisnull(res, 0, 0))
	{
		connect_refused(s, x->nsp, 401, "PGRST303", "The JWT names no user", NULL);
		return;
	}
	text = PQgetvalue(res, 0, 1);
	len = (size_t) PQgetlength(res, 0, 1);
	if (!rules || rules_len != len || memcmp(rules, text, len) != 0)
	{
		char	   *copy = malloc(len + 1);

		if (!copy)
		{
			session_close(s, 1011, "out of memory");
			return;
		}
		memcpy(copy, text, len + 1);
		free(rules);
		rules = copy;
		rules_len = len;
	}
	if (!session_register(s, PQgetvalue(res, 0, 0)))
		return;
	x->connected = true;
	lws_sul_cancel(&x->sul_connect);
	s->last_sent = fanout_cursor();
	s->state = SS_LIVE;
	if (s->id.exp && s->wsi)
	{
		int64_t		wait = s->id.exp - now_unix();

		lws_set_timer_usecs(s->wsi, (wait > 0 ? wait : 0) * LWS_USEC_PER_SEC + 1);
	}
	jb_init(&b);
	sio_put_head(&b, SIO_CONNECT, x->nsp, -1);
	jb_puts(&b, "{\"sid\":");
	jb_strz(&b, x->sid);
	jb_puts(&b, "}");
	ws_send_jb(s, &b);
}

static void
on_connect(struct session *s, const struct sio_packet *p)
{
	struct sio *x = s->sio;
	char		nsp[SIO_MAX_NSP + 1];
	struct jval tok;
	char	   *token = NULL;
	struct reply r = {0};
	struct job *job;
	const char *v[2];

	memcpy(nsp, p->nsp, p->nsp_len);
	nsp[p->nsp_len] = '\0';
	if (x->connected || x->connecting)
	{
		connect_refused(s, nsp, 409, "PGRST100", "This connection has joined a namespace already",
						"Open one connection per namespace.");
		return;
	}
	memcpy(x->nsp, nsp, p->nsp_len + 1);
	if (p->data.type != J_OBJECT || !json_member(p->data.p, p->data.n, "token", &tok) ||
		tok.type != J_STRING || !(token = json_string_dup(&tok)) || !token[0])
	{
		free(token);
		connect_refused(s, nsp, 401, "PGRST302", "A Socket.IO connection needs a JWT",
						"Pass it as auth: {token: \"...\"} to io().");
		return;
	}
	identity_clear(&s->id);
	if (session_identity(&s->id, token, strlen(token), &r))
	{
		struct jval m;
		char	   *msg = NULL;

		if (r.body && json_member(r.body, r.len, "message", &m) && m.type == J_STRING)
			msg = json_string_dup(&m);
		connect_error(s, nsp, msg ? msg : "The JWT was refused", &r);
		free(msg);
		free(token);
		reply_clear(&r);
		return;
	}
	free(token);
	v[0] = cfg->sio_dialect;
	v[1] = nsp;
	job = session_job(s, connect_done, "GET", "/socket.io/");
	if (job)
		job->per_socket = true;
	if (!job || job_add(job, SQL_SIO_CONNECT, 2, v) || pool_submit(job))
	{
		job_free(job);
		connect_refused(s, nsp, 503, "PGRST001", "Could not connect to the database", NULL);
		return;
	}
	x->connecting = true;
	lws_dll2_add_tail(&job->owner_link, &s->jobs);
}

/* ------------------------------------------------------------- events */

struct call_arg
{
	int64_t		ack;
};

static void
call_done(struct job *job)
{
	struct session *s = job->owner;
	const struct call_arg *a = job->arg;
	const PGresult *res = job->res[1];
	struct jval emits,
				ack,
				e;
	struct jbuf b;
	const char *text;
	size_t		len;
	enum jtype	top;

	if (!s)
		return;
	lws_dll2_remove(&job->owner_link);
	s->calls--;
	if (s->state != SS_LIVE || !s->sio)
		return;
	if (!job_ok(job) || !res || PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
	{
		struct reply r = {0};

		metrics_inc(M_WS_CALLS_ERROR);
		reply_from_job(&r, job, 1, true, false, false);
		if (a->ack >= 0 && r.body)
		{
			jb_init(&b);
			sio_put_head(&b, SIO_ACK, s->sio->nsp, a->ack);
			jb_puts(&b, "[");
			jb_put(&b, r.body, r.len);
			jb_puts(&b, "]");
			ws_send_jb(s, &b);
		}
		reply_clear(&r);
		return;
	}
	text = PQgetvalue(res, 0, 0);
	len = (size_t) PQgetlength(res, 0, 0);
	if (!json_valid(text, len, &top) || top != J_OBJECT)
		return;
	if (json_member(text, len, "error", &e))
		metrics_inc(M_WS_CALLS_ERROR);
	else
		metrics_inc(M_WS_CALLS_OK);
	if (json_member(text, len, "emit", &emits) && emits.type == J_ARRAY)
	{
		struct jiter it = {emits.p, emits.n, 0};
		struct jval one;

		while (json_next_element(&it, &one))
		{
			struct jiter it2 = {one.p, one.n, 0};
			struct jval name,
						payload;
			char	   *nm;

			if (one.type != J_ARRAY || !json_next_element(&it2, &name) || name.type != J_STRING ||
				!(nm = json_string_dup(&name)))
				continue;
			if (!json_next_element(&it2, &payload))
				payload.p = NULL, payload.n = 0;
			jb_init(&b);
			sio_put_event(&b, s->sio->nsp, nm, strlen(nm), payload.p, payload.n);
			ws_send_jb(s, &b);
			free(nm);
		}
	}
	if (a->ack >= 0)
	{
		jb_init(&b);
		sio_put_head(&b, SIO_ACK, s->sio->nsp, a->ack);
		jb_puts(&b, "[");
		if (json_member(text, len, "ack", &ack))
			jb_put(&b, ack.p, ack.n);
		else
			jb_puts(&b, "null");
		jb_puts(&b, "]");
		ws_send_jb(s, &b);
	}
}

static void
ack_error(struct session *s, int64_t ack, int status, const char *code, const char *message)
{
	struct reply r = {0};
	struct jbuf b;

	metrics_inc(M_WS_CALLS_ERROR);
	if (ack < 0)
		return;
	reply_error(&r, status, code, message, NULL, NULL);
	jb_init(&b);
	sio_put_head(&b, SIO_ACK, s->sio->nsp, ack);
	jb_puts(&b, "[");
	if (r.body)
		jb_put(&b, r.body, r.len);
	jb_puts(&b, "]");
	ws_send_jb(s, &b);
	reply_clear(&r);
}

static void
on_event(struct session *s, const struct sio_packet *p)
{
	char	   *name = json_string_dup(&p->name);
	char	   *payload = NULL;
	char	   *path = NULL;
	struct call_arg *a = NULL;
	struct job *job = NULL;
	const char *v[3];

	if (!name)
		goto oom;
	if (s->calls >= cfg->ws_calls)
	{
		ack_error(s, p->ack, 429, "PGRST429", "Too many events in flight on this socket");
		goto out;
	}
	if (p->arg.type != J_NONE)
	{
		if (!(payload = malloc(p->arg.n + 1)))
			goto oom;
		memcpy(payload, p->arg.p, p->arg.n);
		payload[p->arg.n] = '\0';
	}
	if (!(path = malloc(strlen(name) + 16)) || !(a = malloc(sizeof(*a))))
		goto oom;
	sprintf(path, "/socket.io/%s", name);
	a->ack = p->ack;
	v[0] = cfg->sio_dialect;
	v[1] = name;
	v[2] = payload;				/* NULL: no argument, SQL NULL */
	job = session_job(s, call_done, "POST", path);
	if (!job || job_add(job, SQL_SIO_CALL, 3, v))
		goto oom;
	job->arg = a;
	job->free_arg = true;
	a = NULL;
	if (pool_submit(job))
	{
		const char *code,
				   *message,
				   *hint;

		job_free(job);
		request_refusal(true, &code, &message, &hint);
		ack_error(s, p->ack, 503, code, message);
		goto out;
	}
	s->calls++;
	lws_dll2_add_tail(&job->owner_link, &s->jobs);
	goto out;
oom:
	job_free(job);
	ack_error(s, p->ack, 500, "PGRST000", "out of memory");
out:
	free(a);
	free(name);
	free(payload);
	free(path);
}

/* The probing WebSocket takes over its polling session (upgrade packet). */
static void
upgrade(struct session *s)
{
	struct sio *x = s->sio;
	struct session *h = x->probe_of;
	struct sio *hx = h->sio;

	lws_dll2_remove(&hx->poll_link);
	hx->polling = false;
	hx->prober = NULL;
	if (hx->get)
	{
		answer_text(hx->get, 200, text_plain, "6");
		hx->get = NULL;
	}
	lws_sul_cancel(&x->sul_connect);
	free(x);
	session_adopt(s, h);
	s->sio = hx;
	hx->s = s;
	h->sio = NULL;
	session_detached_free(h);
	if (s->id.exp)
	{
		int64_t		wait = s->id.exp - now_unix();

		lws_set_timer_usecs(s->wsi, (wait > 0 ? wait : 0) * LWS_USEC_PER_SEC + 1);
	}
}

static void
probe_message(struct session *s, const struct sio_packet *p)
{
	struct session *h = s->sio->probe_of;

	if (!h || h->state == SS_CLOSING)
		session_close(s, 1008, "Session ID unknown");
	else if (p->eio == EIO_PING && p->text_len == 5 && memcmp(p->text, "probe", 5) == 0)
	{
		send_text(s, "3probe");
		send_text(h, "6");		/* the waiting GET returns; the client pauses polling */
	}
	else if (p->eio == EIO_UPGRADE)
		upgrade(s);
	else
		session_close(s, 1002, "expected the probe, then the upgrade packet");
}

void
sio_on_message(struct session *s, const char *msg, size_t len)
{
	struct sio *x = s->sio;
	struct sio_packet p;
	const char *err;

	metrics_inc(M_WS_MESSAGES_IN);
	if (sio_parse(msg, len, &p, &err))
	{
		log_debug("socket.io packet refused: %s", err);
		session_close(s, strstr(err, "binary") ? 1003 : 1002, err);
		return;
	}
	if (x->probing)
	{
		probe_message(s, &p);
		return;
	}
	switch (p.eio)
	{
		case EIO_PING:
			{
				char		pong[8] = "3";

				memcpy(pong + 1, p.text, p.text_len);
				ws_send(s, pong, p.text_len + 1);
			}
			return;
		case EIO_PONG:
			if (x->pong_wait)
			{
				x->pong_wait = false;
				lws_sul_schedule(ctx, 0, &x->sul_ping, sul_ping_cb,
								 (lws_usec_t) cfg->sio_ping_ms * 1000);
			}
			return;
		case EIO_CLOSE:
			session_close(s, 1000, "client closed");
			return;
		case EIO_UPGRADE:
		case EIO_NOOP:
		case EIO_OPEN:
			return;
		case EIO_MESSAGE:
			break;
	}
	switch (p.type)
	{
		case SIO_CONNECT:
			on_connect(s, &p);
			return;
		case SIO_DISCONNECT:
			session_close(s, 1000, "client left the namespace");
			return;
		case SIO_ACK:
			return;				/* the bridge asks for no acks */
		case SIO_EVENT:
			if (!x->connected || p.nsp_len != strlen(x->nsp) || memcmp(p.nsp, x->nsp, p.nsp_len) != 0)
			{
				session_close(s, 1008, "EVENT for a namespace not joined");
				return;
			}
			on_event(s, &p);
			return;
		default:
			session_close(s, 1002, "unexpected Socket.IO packet");
			return;
	}
}

/* ------------------------------------------------------------ delivery */

static void
emit_one(void *ctx, const char *name, size_t name_len, const char *payload, size_t payload_len)
{
	struct session *s = ctx;
	struct jbuf b;

	jb_init(&b);
	sio_put_event(&b, s->sio->nsp, name, name_len, payload, payload_len);
	ws_send_jb(s, &b);
}

void
sio_deliver(struct session *s, const char *payload, size_t len)
{
	if (!s->sio->connected || !rules || !s->user)
		return;
	if (sio_map(rules, rules_len, payload, len, s->user->id, emit_one, s) < 0)
		log_warn("the dialect's rules or an event could not be mapped");
}

/* ------------------------------------------------------- long-polling */

static void
answer_error(struct http_req *r, int status, int code, const char *message)
{
	struct jbuf b;
	size_t		len;
	char	   *body;

	jb_init(&b);
	jb_printf(&b, "{\"code\":%d,\"message\":", code);
	jb_strz(&b, message);
	jb_puts(&b, "}");
	body = jb_take(&b, &len);
	http_sio_answer(r, status, "application/json", body, body ? len : 0);
}

/* Everything queued for x's session to its waiting GET, \x1e between. */
static void
poll_flush(struct sio *x)
{
	struct session *s = x->s;
	struct jbuf b;
	size_t		len;
	char	   *body;
	struct http_req *r = x->get;

	jb_init(&b);
	while (s->sendq.count)
	{
		struct wsmsg *m = lws_container_of(lws_dll2_get_head(&s->sendq), struct wsmsg, list);

		if (b.len)
			jb_puts(&b, "\x1e");
		jb_put(&b, (const char *) m->data + LWS_PRE, m->len);
		lws_dll2_remove(&m->list);
		s->queued -= m->len;
		free(m);
		metrics_inc(M_WS_MESSAGES_OUT);
	}
	if (s->state == SS_CLOSING)
		jb_puts(&b, b.len ? "\x1e" "1" : "1");
	x->get = NULL;
	body = jb_take(&b, &len);
	if (!body)
		answer_error(r, 500, 3, "out of memory");
	else
		http_sio_answer(r, 200, text_plain, body, len);
}

void
sio_poll_wake(struct session *s)
{
	struct sio *x = s->sio;

	if (!x || !x->polling)
		return;
	if (x->get && (s->sendq.count || s->state == SS_CLOSING))
		poll_flush(x);
	if (s->state == SS_CLOSING)
		lws_sul_schedule(ctx, 0, &x->sul_release, sul_release_cb, 1);
}

int
sio_poll_count(bool waiting)
{
	int			n = 0;

	if (!waiting)
		return (int) polls.count;
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&polls))
	{
		if (lws_container_of(d, struct sio, poll_link)->get)
			n++;
	}
	lws_end_foreach_dll(d);
	return n;
}

void
sio_poll_abandon(struct http_req *r)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&polls))
	{
		struct sio *x = lws_container_of(d, struct sio, poll_link);

		if (x->get == r)
		{
			x->get = NULL;
			return;
		}
	}
	lws_end_foreach_dll(d);
}

static void
poll_open(struct http_req *r, struct lws *wsi)
{
	struct session *s;
	struct sio *x;

	if (polls.count >= SIO_MAX_POLLING)
	{
		answer_error(r, 503, 3, "Too many long-polling sessions: retry later or use transports: [\"websocket\"]");
		return;
	}
	if (!(s = session_detached()))
	{
		answer_error(r, 500, 3, "out of memory");
		return;
	}
	s->headers_json = http_headers_json(wsi);
	if (!sio_start(s, true))
	{
		session_detached_free(s);
		answer_error(r, 500, 3, "out of memory");
		return;
	}
	x = s->sio;
	x->polling = true;
	lws_dll2_add_tail(&x->poll_link, &polls);
	x->get = r;
	poll_flush(x);
}

static void
poll_post(struct http_req *r, struct session *s, const char *body, size_t len)
{
	size_t		at = 0;

	if (len > cfg->max_message)
	{
		answer_error(r, 413, 3, "Payload too large");
		session_close(s, 1009, "payload too large");
		return;
	}
	if (!body || len == 0)
	{
		answer_error(r, 400, 3, "Bad request");
		session_close(s, 1002, "empty payload");
		return;
	}
	while (at <= len && s->state != SS_CLOSING)
	{
		const char *p = body + at;
		const char *sep = memchr(p, '\x1e', len - at);
		size_t		n = sep ? (size_t) (sep - p) : len - at;

		if (n > 0 && p[0] == 'b')
		{
			session_close(s, 1003, "binary packets are not served");
			break;
		}
		sio_on_message(s, p, n);
		at += n + 1;
	}
	answer_text(r, 200, "text/html", "ok");
}

void
sio_poll_request(struct http_req *r, struct lws *wsi, bool get, const char *body, size_t len)
{
	char		v[32];
	struct session *s;

	const char *a;

	if (!(a = urlarg(wsi, "EIO=", v, sizeof(v))) || strcmp(a, "4") != 0)
		answer_error(r, 400, 5, "Unsupported protocol version");
	else if (!(a = urlarg(wsi, "transport=", v, sizeof(v))) || strcmp(a, "polling") != 0)
		answer_error(r, 400, 0, "Transport unknown");
	else if (!(a = urlarg(wsi, "sid=", v, sizeof(v))))
	{
		if (get)
			poll_open(r, wsi);
		else
			answer_error(r, 400, 2, "Bad handshake method");
	}
	else if (!(s = poll_find(a)))
		answer_error(r, 400, 1, "Session ID unknown");
	else if (!get)
		poll_post(r, s, body, len);
	else if (s->sio->get)
	{
		/* Engine.IO: overlapping polls close the session */
		answer_error(r, 400, 3, "Bad request");
		session_close(s, 1002, "two long-poll GETs at once");
	}
	else
	{
		s->sio->get = r;
		if (s->sendq.count || s->state == SS_CLOSING)
			poll_flush(s->sio);
	}
}

void
sio_ws_init(const struct config *config, struct lws_context *context, sio_http_answer_fn answer)
{
	static const struct session_sio_hooks hooks = {sio_deliver, sio_poll_wake, sio_closed};

	cfg = config;
	ctx = context;
	http_sio_answer = answer;
	session_set_sio_hooks(&hooks);
}
