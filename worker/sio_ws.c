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
 *    emitted in the seed's name and shape, or not at all.  A rule whose
 *    payload reads $.media waits for the user's call_media_session (a job
 *    in the socket's turn of calls), and the socket's later events wait
 *    behind it in order ("delivery" below).
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
 * Connection state recovery (Socket.IO 4.6+) maps onto pgcall's event ids,
 * the native protocol's resume: the CONNECT reply carries a pid, "<tag>.<id>"
 * (tag: the first 8 bytes of SHA-256 of the user id, in hex; id: the event
 * cursor at the connect), and every emit mapped from a pgcall event carries
 * that event's id, as a string, as its last argument: socket.io-client keeps
 * it as its offset.  A client that reconnects with {pid, offset} in its
 * CONNECT auth (socket.io-client does it by itself) is answered with the
 * same pid (socket.recovered) when the pid is its user's and the events
 * after the offset (or after the pid's id, when it got none) are all still
 * stored; it then gets those events, through the dialect's rules, before
 * live ones, each once (session.c's resume).  Otherwise it gets a new pid and new
 * events only.  Nothing of this is kept in the bridge: another bridge, or
 * this one restarted, recovers the same way.  Replies to the client's own
 * events (callInitiated, callError, acks) are not events and carry no
 * offset: one lost with the transport is not replayed.
 *
 * Not served: binary packets, more than one namespace per connection.
 */
#include "sio_ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "clock.h"
#include "dialect_http.h"
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
	const char *dialect;		/* of the port it came to (dialect_sio_of()) */
	bool		connected;
	bool		connecting;
	bool		pong_wait;
	int			refusals;		/* CONNECT_ERRORs sent */
	char		pid[40];		/* recovery: the pid the CONNECT asked for, then ours */
	int64_t		recover_after;	/* recovery: the events after this id; -1 not asked */
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
	/* events held behind one whose emit waits for its media session */
	lws_dll2_owner_t held;		/* their bytes count in s->queued */
	bool		media_wait;		/* the head of held waits for its job */
};

/* An event held for its socket, in order (sio_deliver). */
struct held
{
	lws_dll2_t	list;
	int64_t		id;				/* its offset */
	size_t		len;
	char		payload[];
};

#define SIO_MAX_REFUSALS 5
#define SIO_MAX_POLLING 10000	/* long-polling sessions at once */

static const struct config *cfg;
static struct lws_context *ctx;
static sio_http_answer_fn http_sio_answer;	/* http_routes.c's, given by main.c */

/* The long-polling sessions, by sid. */
static lws_dll2_owner_t polls;

static const char text_plain[] = "text/plain; charset=UTF-8";

/* The outbound rules of each dialect, as the last CONNECT to it read them. */
static struct
{
	const char *dialect;
	char	   *text;
	size_t		len;
}			rules[MAX_DIALECTS + 1];

static int
rules_slot(const char *dialect)
{
	int			i;

	for (i = 0; i < MAX_DIALECTS && rules[i].dialect; i++)
		if (strcmp(rules[i].dialect, dialect) == 0)
			return i;
	rules[i].dialect = dialect;	/* MAX_DIALECTS --dialect ports and --socketio-dialect */
	return i;
}

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

	if (!dialect_sio_of(wsi))
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

/*
 * The database could not be asked (no connection up, or it was lost): not
 * a refusal.  socket.io-client takes a CONNECT_ERROR as final and stops
 * reconnecting, so a bridge just restarted, its pool still connecting,
 * would lose every client that came back too early; closing the
 * connection (1013) makes the client's manager reconnect with its backoff.
 */
static void
connect_unavailable(struct session *s)
{
	session_close(s, 1013, "the database is unavailable: reconnect");
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
	x->dialect = dialect_sio_of(s->wsi);
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

static void held_free(struct session *s);

void
sio_closed(struct session *s)
{
	struct sio *x = s->sio;

	held_free(s);
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

/* ----------------------------------------------------------- recovery */

/* The first 8 bytes of SHA-256 of the user id, in hex. */
static void
user_tag(const char *uid, char out[17])
{
	unsigned char h[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *) uid, strlen(uid), h);
	for (int i = 0; i < 8; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

/* An event id in decimal (1 to 16 digits, at most 2^53 - 1), or -1. */
static int64_t
event_id(const char *s, size_t n)
{
	int64_t		v = 0;

	if (n == 0 || n > 16)
		return -1;
	for (size_t i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= (INT64_C(1) << 53) - 1 ? v : -1;
}

/* pid is "<tag>.<id>" with uid's tag. */
static bool
pid_is_users(const char *pid, const char *uid)
{
	char		tag[17];

	user_tag(uid, tag);
	return strlen(pid) > 17 && memcmp(pid, tag, 16) == 0 && pid[16] == '.';
}

/*
 * What the CONNECT's auth asks to recover: pid "<16 hex>.<id>" and, when
 * the client got an event since, offset "<id>".  Anything malformed is no
 * request (a new session).
 */
static void
recovery_request(struct sio *x, const struct jval *auth)
{
	struct jval pid,
				off;
	char	   *p = NULL,
			   *o = NULL;
	int64_t		base,
				after;

	x->pid[0] = '\0';
	x->recover_after = -1;
	if (!json_member(auth->p, auth->n, "pid", &pid) || pid.type != J_STRING ||
		!(p = json_string_dup(&pid)))
		return;
	if (strlen(p) < 18 || strlen(p) >= sizeof(x->pid) || p[16] != '.' ||
		strspn(p, "0123456789abcdef") != 16 || (base = event_id(p + 17, strlen(p + 17))) < 0)
		goto out;
	after = base;
	if (json_member(auth->p, auth->n, "offset", &off) && off.type != J_NULL)
	{
		if (off.type != J_STRING || !(o = json_string_dup(&off)) ||
			(after = event_id(o, strlen(o))) < 0)
			goto out;
	}
	memcpy(x->pid, p, strlen(p) + 1);
	x->recover_after = after;
out:
	free(p);
	free(o);
}

/*
 * The namespace joined: the CONNECT reply with the pid, then the events
 * missed (recovered) or new ones only.
 */
static void
joined(struct session *s, bool recovered)
{
	struct sio *x = s->sio;
	struct jbuf b;

	x->connected = true;
	x->connecting = false;
	if (!recovered)
	{
		s->last_sent = fanout_cursor();
		user_tag(s->user->id, x->pid);
		snprintf(x->pid + 16, sizeof(x->pid) - 16, ".%lld", (long long) s->last_sent);
		s->state = SS_LIVE;
	}
	if (s->id.exp && s->wsi)
	{
		int64_t		wait = s->id.exp - now_unix();

		lws_set_timer_usecs(s->wsi, (wait > 0 ? wait : 0) * LWS_USEC_PER_SEC + 1);
	}
	jb_init(&b);
	sio_put_head(&b, SIO_CONNECT, x->nsp, -1);
	jb_puts(&b, "{\"sid\":");
	jb_strz(&b, x->sid);
	jb_puts(&b, ",\"pid\":");
	jb_strz(&b, x->pid);
	jb_puts(&b, "}");
	ws_send_jb(s, &b);
	if (recovered)
		session_start_resume(s, x->recover_after);
}

static void
recover_done(struct job *job)
{
	struct session *s = job->owner;

	if (!s)
		return;
	lws_dll2_remove(&job->owner_link);
	if (s->state != SS_AUTH || !s->sio)
		return;
	if (!job_ok(job))
		log_debug("socket.io client of user %s not recovered from %lld: %s", s->user->id,
				  (long long) s->sio->recover_after, job_sqlstate(job) ? job_sqlstate(job) : "no database");
	joined(s, job_ok(job));
}

/*
 * Whether the events after recover_after are all still stored (else
 * events_since raises P410A): a job whose answer joins the session.
 */
static bool
recover_check(struct session *s)
{
	char		after[24];
	const char *v[2] = {after, "1"};
	struct job *job;

	snprintf(after, sizeof(after), "%lld", (long long) s->sio->recover_after);
	job = session_job(s, recover_done, "GET", "/socket.io/");
	if (!job || job_add(job, SQL_EVENTS_SINCE, 2, v))
	{
		job_free(job);
		return false;
	}
	job->per_socket = true;
	if (pool_submit(job))
	{
		job_free(job);
		return false;
	}
	s->sio->connecting = true;
	lws_dll2_add_tail(&job->owner_link, &s->jobs);
	return true;
}

static void
connect_done(struct job *job)
{
	int			slot;
	struct session *s = job->owner;
	struct sio *x;
	const PGresult *res = job->res[1];
	const char *text;
	size_t		len;

	if (!s)
		return;
	lws_dll2_remove(&job->owner_link);
	x = s->sio;
	x->connecting = false;
	if (s->state != SS_AUTH)
		return;
	if (!job_ok(job) && !job->err)
	{
		connect_unavailable(s);
		return;
	}
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
	slot = rules_slot(x->dialect);
	if (!rules[slot].text || rules[slot].len != len || memcmp(rules[slot].text, text, len) != 0)
	{
		char	   *copy = malloc(len + 1);

		if (!copy)
		{
			session_close(s, 1011, "out of memory");
			return;
		}
		memcpy(copy, text, len + 1);
		free(rules[slot].text);
		rules[slot].text = copy;
		rules[slot].len = len;
	}
	if (!session_register(s, PQgetvalue(res, 0, 0)))
		return;
	lws_sul_cancel(&x->sul_connect);
	if (x->recover_after >= 0 && pid_is_users(x->pid, s->user->id) && recover_check(s))
		return;					/* joined when the check answers */
	joined(s, false);
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
	recovery_request(x, &p->data);
	v[0] = s->sio->dialect;
	v[1] = nsp;
	job = session_job(s, connect_done, "GET", "/socket.io/");
	if (job)
		job->per_socket = true;
	if (!job || job_add(job, SQL_SIO_CONNECT, 2, v) || pool_submit(job))
	{
		job_free(job);
		connect_unavailable(s);
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

static void call_answer(struct session *s, struct job *job);

static void
call_done(struct job *job)
{
	struct session *s = job->owner;

	if (!s)
		return;
	lws_dll2_remove(&job->owner_link);
	s->calls--;
	call_answer(s, job);
	session_call_finished(s);	/* the socket's next event, in order */
	if (s->wsi && s->calls < cfg->ws_calls && s->state != SS_CLOSING)
		lws_rx_flow_control(s->wsi, 1);
}

static void
call_answer(struct session *s, struct job *job)
{
	const struct call_arg *a = job->arg;
	const PGresult *res = job->res[1];
	struct jval emits,
				ack,
				e;
	struct jbuf b;
	const char *text;
	size_t		len;
	enum jtype	top;

	if ((s->state != SS_LIVE && s->state != SS_RESUMING) || !s->sio)
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
	v[0] = s->sio->dialect;
	v[1] = name;
	v[2] = payload;				/* NULL: no argument, SQL NULL */
	job = session_job(s, call_done, "POST", path);
	if (!job || job_add(job, SQL_SIO_CALL, 3, v))
		goto oom;
	job->arg = a;
	job->free_arg = true;
	a = NULL;
	if (session_call_submit(s, job))
	{
		/* answered as a refused job waiting its turn is (session_call_finished) */
		request_job_refused(job, true);
		call_answer(s, job);
		job_free(job);
		goto out;
	}
	s->calls++;
	lws_dll2_add_tail(&job->owner_link, &s->jobs);
	/*
	 * A Socket.IO client emits without waiting (an offer, then its ICE
	 * candidates) and, without an ack, would never learn of a refusal: on a
	 * WebSocket the bridge stops reading instead while --ws-calls events
	 * wait, so TCP holds the rest and nothing is lost.  (Long-polling sends
	 * one POST at a time; what one POST holds beyond the limit is refused.)
	 */
	if (s->wsi && s->calls >= cfg->ws_calls)
		lws_rx_flow_control(s->wsi, 0);
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

/*
 * Most events are mapped and sent as they come.  An event whose rule reads
 * $.media (the recipient's own pgcall.call_media_session(), an Agora token
 * only the database can mint) waits for a job that runs that function as
 * the socket's user, and every later event for the socket is held behind
 * it, so that the socket still gets them in commit order.  The held events
 * count in the send queue's bytes (--send-queue: past it the socket is
 * dropped as too slow, and a resume waits for them to go out); the job
 * takes its turn among the socket's calls (session_call_submit()).
 */

struct emit_to
{
	struct session *s;
	int64_t		id;				/* the event's id: the emit's offset */
};

static void
emit_one(void *ctx, const char *name, size_t name_len, const char *payload, size_t payload_len)
{
	struct emit_to *to = ctx;
	struct session *s = to->s;
	struct jbuf b;

	/* sio_put_event()'s packet with the event's id last: the offset */
	jb_init(&b);
	sio_put_head(&b, SIO_EVENT, s->sio->nsp, -1);
	jb_puts(&b, "[");
	jb_str(&b, name, name_len);
	if (payload)
	{
		jb_puts(&b, ",");
		jb_put(&b, payload, payload_len);
	}
	jb_printf(&b, ",\"%lld\"]", (long long) to->id);
	ws_send_jb(s, &b);
}

/* One event through the dialect's rules: sio_map()'s answer. */
static int
map_event(struct session *s, const char *payload, size_t len, int64_t id,
		  const struct sio_media *media)
{
	struct emit_to to = {s, id};
	int			slot = rules_slot(s->sio->dialect);
	int			rc;

	if (!rules[slot].text)
		return 0;
	rc = sio_map(rules[slot].text, rules[slot].len, payload, len, s->user->id, media, emit_one, &to);
	if (rc < 0)
		log_warn("the dialect's rules or an event could not be mapped");
	return rc;
}

static void
held_pop(struct session *s)
{
	struct sio *x = s->sio;
	struct held *h = lws_container_of(lws_dll2_get_head(&x->held), struct held, list);

	lws_dll2_remove(&h->list);
	/* session_drop_slow() zeroed the count: the socket is going anyway */
	s->queued -= h->len <= s->queued ? h->len : s->queued;
	free(h);
}

static void
held_free(struct session *s)
{
	while (s->sio->held.count)
		held_pop(s);
	s->sio->media_wait = false;
}

/* Hold an event for s behind the one waiting (false: s was dropped). */
static bool
hold(struct session *s, const char *payload, size_t len, int64_t id)
{
	struct sio *x = s->sio;
	struct held *h;

	if (!session_queue_room(s, len))
	{
		session_drop_slow(s);
		return false;
	}
	if (!(h = malloc(sizeof(*h) + len)))
	{
		session_drop_slow(s);
		return false;
	}
	memset(&h->list, 0, sizeof(h->list));
	h->id = id;
	h->len = len;
	memcpy(h->payload, payload, len);
	lws_dll2_add_tail(&h->list, &x->held);
	s->queued += len;
	return true;
}

static const struct sio_media no_media = {NULL, 0};

static bool media_fetch(struct session *s);

/*
 * The head of held gets its media session (json NULL: none), then the
 * events behind it go out until one needs a media session of its own.
 */
static void
held_release(struct session *s, const struct sio_media *media)
{
	struct sio *x = s->sio;

	x->media_wait = false;
	while (x->held.count && s->state != SS_CLOSING)
	{
		struct held *h = lws_container_of(lws_dll2_get_head(&x->held), struct held, list);

		if (media)
			metrics_inc(media->json ? M_SIO_MEDIA_TOKEN : M_SIO_MEDIA_NONE);
		if (map_event(s, h->payload, h->len, h->id, media) == SIO_MAP_MEDIA)
		{
			if (media_fetch(s))
				return;
			media = &no_media;	/* none to be had: map it again with null */
			continue;
		}
		media = NULL;
		held_pop(s);
	}
	if (s->state == SS_CLOSING)
		held_free(s);
	else
		session_resume_more(s);	/* a recovery that waited for the held bytes */
}

static void
media_done(struct job *job)
{
	struct session *s = job->owner;
	const PGresult *res = job->res[1];
	struct sio_media media = {NULL, 0};

	if (!s)
		return;
	lws_dll2_remove(&job->owner_link);
	session_call_finished(s);	/* the socket's next call, in order */
	if (!s->sio || !s->sio->media_wait)
		return;
	if (job_ok(job) && res && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
	{
		media.json = PQgetvalue(res, 0, 0);
		media.len = (size_t) PQgetlength(res, 0, 0);
	}
	else
		log_debug("no media session for an emit to user %s: %s", s->user ? s->user->id : "?",
				  job_sqlstate(job) ? job_sqlstate(job) : "no database");
	held_release(s, &media);
}

/*
 * Run pgcall.call_media_session(call_id) as the socket's user for the
 * event at the head of held: true when the job is on its way, false when
 * none could be made or queued (the caller emits with $.media null).
 */
static bool
media_fetch(struct session *s)
{
	struct sio *x = s->sio;
	struct held *h = lws_container_of(lws_dll2_get_head(&x->held), struct held, list);
	struct jval id;
	char	   *call_id = NULL;
	struct job *job = NULL;

	if (json_member(h->payload, h->len, "call_id", &id) && id.type == J_STRING &&
		(call_id = json_string_dup(&id)) &&
		(job = session_job(s, media_done, "POST", "/socket.io/")) &&
		job_add(job, SQL_SIO_MEDIA, 1, (const char *const *) &call_id) == 0)
	{
		job->per_socket = true;	/* one per socket at a time, like a resume round */
		if (session_call_submit(s, job) == 0)
		{
			x->media_wait = true;
			lws_dll2_add_tail(&job->owner_link, &s->jobs);
			free(call_id);
			return true;
		}
	}
	log_debug("no media session asked for an emit to user %s", s->user ? s->user->id : "?");
	job_free(job);
	free(call_id);
	return false;
}

void
sio_deliver(struct session *s, const char *payload, size_t len)
{
	struct sio *x = s->sio;

	if (!x->connected || !s->user || !x->dialect)
		return;
	if (x->held.count)
	{
		hold(s, payload, len, s->last_sent);
		return;
	}
	if (map_event(s, payload, len, s->last_sent, NULL) == SIO_MAP_MEDIA &&
		hold(s, payload, len, s->last_sent) && !media_fetch(s))
		held_release(s, &no_media);
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
	/* a recovery waiting for the queue to drain goes on (ws.c does it per write) */
	session_resume_more(s);
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
	x->dialect = dialect_sio_of(wsi);	/* a detached session has no wsi of its own */
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

/* ---------------------------------------------------------------- CORS */

/*
 * A page on another origin reaches the long-polling transport with CORS
 * (the WebSocket needs none).  The bridge's rule for /rpc holds here too:
 * any origin may call, since no cookie is ever read and the identity is the
 * token in the CONNECT packet.  What socket.io-client's withCredentials
 * needs on top is the origin itself, not "*": an origin that is well-formed
 * (sio_origin_ok()) is echoed with Access-Control-Allow-Credentials; "null"
 * (a sandboxed or file: page) gets "*" without credentials; anything else
 * gets no CORS header, so the browser keeps the answer from the page.
 */
static const char cors_methods[] = "GET, POST, OPTIONS";
static const char cors_headers[] = "Authorization, Content-Type, Accept, Accept-Profile, "
	"Content-Profile, Prefer, apikey, x-client-info";

/* The request's Origin into buf; false when absent or too long. */
static bool
origin_of(struct lws *wsi, char *buf, int len)
{
	int			n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);

	return n > 0 && n < len && lws_hdr_copy(wsi, buf, len, WSI_TOKEN_ORIGIN) == n;
}

static bool
add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
		   unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *) name,
									   (const unsigned char *) value, (int) strlen(value),
									   p, end) == 0;
}

int
sio_cors_headers(struct lws *wsi, bool preflight, unsigned char **p, unsigned char *end)
{
	char		origin[SIO_MAX_ORIGIN + 2];
	bool		ok;

	if (!origin_of(wsi, origin, sizeof(origin)))
		return 0;
	if (strcmp(origin, "null") == 0)
		ok = add_header(wsi, "access-control-allow-origin:", "*", p, end);
	else if (sio_origin_ok(origin, strlen(origin)))
		ok = add_header(wsi, "access-control-allow-origin:", origin, p, end) &&
			add_header(wsi, "access-control-allow-credentials:", "true", p, end);
	else
		return 0;
	/* the answer depends on the Origin: caches must keep them apart */
	ok = ok && add_header(wsi, "vary:", "Origin", p, end);
	if (preflight)
		ok = ok && add_header(wsi, "access-control-allow-methods:", cors_methods, p, end) &&
			add_header(wsi, "access-control-allow-headers:", cors_headers, p, end) &&
			add_header(wsi, "access-control-max-age:", "600", p, end);
	return ok ? 0 : -1;
}

/* A custom header's value, malloc'd, or NULL when absent. */
static char *
custom_header(struct lws *wsi, const char *key)
{
	int			kl = (int) strlen(key);
	int			n = lws_hdr_custom_length(wsi, key, kl);
	char	   *v;

	if (n < 0 || !(v = malloc((size_t) n + 1)))
		return NULL;
	if (lws_hdr_custom_copy(wsi, v, n + 1, key, kl) < 0)
	{
		free(v);
		return NULL;
	}
	return v;
}

/* Whether the comma-separated header names in list are all allowed ones. */
static bool
headers_allowed(const char *list)
{
	const char *s = list;

	while (*s)
	{
		const char *a,
				   *b;
		bool		found = false;

		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		a = s;
		while (*s && *s != ',')
			s++;
		b = s;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b == a)
			continue;
		for (const char *h = cors_headers; *h;)
		{
			const char *e = strchr(h, ',');
			size_t		hl = e ? (size_t) (e - h) : strlen(h);

			if (hl == (size_t) (b - a) && strncasecmp(h, a, hl) == 0)
				found = true;
			h = e ? e + 2 : h + hl;
		}
		if (!found)
			return false;
	}
	return true;
}

int
sio_preflight(struct lws *wsi, const char **message, const char **hint)
{
	char		origin[SIO_MAX_ORIGIN + 2];
	char	   *method,
			   *headers;
	int			status = 0;

	if (!origin_of(wsi, origin, sizeof(origin)) ||
		(strcmp(origin, "null") != 0 && !sio_origin_ok(origin, strlen(origin))))
	{
		*message = "The Origin is missing or not an origin";
		*hint = "A CORS preflight names its page's origin: scheme://host[:port], or null.";
		return 403;
	}
	method = custom_header(wsi, "access-control-request-method:");
	headers = NULL;				/* lws parses this one as a token of its own */
	{
		int			n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AC_REQUEST_HEADERS);

		if (n > 0 && (headers = malloc((size_t) n + 1)) &&
			lws_hdr_copy(wsi, headers, n + 1, WSI_TOKEN_HTTP_AC_REQUEST_HEADERS) != n)
		{
			free(headers);
			headers = strdup("?");	/* unreadable: refused */
		}
	}
	if (!method || (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0))
	{
		*message = "Only GET and POST are allowed on /socket.io/";
		*hint = "Engine.IO's long-polling transport reads with GET and writes with POST.";
		status = 405;
	}
	else if (headers && !headers_allowed(headers))
	{
		*message = "A requested header is not allowed on /socket.io/";
		*hint = cors_headers;
		status = 403;
	}
	free(method);
	free(headers);
	return status;
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
