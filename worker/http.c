/*
 * http.c: the HTTP protocol: POST/GET/HEAD /rpc/<fn> (PostgREST style),
 * /health, /metrics, static files, the demo sign-in (demo.c, only with
 * --demo-users), and the hand-off of /ws upgrades.
 *
 * One struct http_req per transaction.  libwebsockets zeroes it for every
 * transaction on a keep-alive connection (it rebinds the protocol and fires
 * HTTP_DROP_PROTOCOL, also on close), so everything a request allocates is
 * freed in http_req_end(), which may run more than once.  Request data is
 * copied in LWS_CALLBACK_HTTP: the header table goes away later.  Replies
 * are written only from HTTP_WRITEABLE: headers first, then the body.
 *
 * A request that reached the database is "in flight" (http_inflight)
 * until its reply is written or the client goes away; SIGTERM waits for
 * that count to reach zero.
 */
#include "http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "demo.h"
#include "fanout.h"
#include "json.h"
#include "lifecycle.h"
#include "log.h"
#include "lwsio.h"
#include "metrics.h"
#include "request.h"
#include "session.h"
#include "sio_ws.h"
#include "static.h"
#include "wire.h"
#include "ws.h"

#define BODY_CHUNK 65536
#define MAX_URI 4096			/* path and query string */
#define MAX_ARGS 63				/* query arguments */
#define MAX_HEADER_BYTES 8192	/* header fields, request line included */

enum req_state
{
	RS_NEW, RS_BODY, RS_DB, RS_HEADERS, RS_BODY_OUT, RS_DONE
};

enum route
{
	ROUTE_NONE, ROUTE_RPC, ROUTE_HEALTH, ROUTE_DEMO, ROUTE_SIO
};

struct http_req
{
	struct lws *wsi;
	enum req_state state;
	enum route	route;
	char		method[8];
	char		path[160];
	char		fn[128];
	const char *schema;
	bool		get;			/* GET or HEAD: read-only */
	bool		head;
	bool		single;
	bool		cors;
	bool		close_after;
	bool		inflight;
	bool		had_token;
	bool		error_pending;	/* reply set before the body arrived */
	bool		rx_held;		/* reading paused until the reply is ready */
	bool		lws_zero_body;	/* lws will still call BODY_COMPLETION (POST, length 0) */
	bool		sio_held;		/* a Socket.IO long-poll GET waiting for packets */
	struct identity id;
	char	   *headers_json;
	char	   *args_json;
	char	   *query;			/* the query string, passed on to pgcall.rpc */
	char	   *prefer;
	char	   *accept;
	char	   *range;
	char	   *body;
	size_t		body_len;
	size_t		body_cap;
	size_t		content_length;
	struct reply reply;
	unsigned char *out;			/* LWS_PRE + reply body */
	size_t		sent;
	struct job *job;
	uint64_t	t0;
	lws_sorted_usec_list_t sul_timeout;
};

/* Marks (as opaque user data) a connection whose first request has arrived. */
static const char request_seen = 1;

static const struct config *cfg;
static struct lws_context *ctx;
static const char *bridge_id;
static struct pgconn *sys;
static uint64_t started_us;
static int	http_inflight;		/* requests between submit and reply */
static bool extension_mismatch_logged;	/* warned once per mismatch */

void
http_init(const struct config *config, struct lws_context *context, const char *id,
		  struct pgconn *system)
{
	cfg = config;
	ctx = context;
	bridge_id = id;
	sys = system;
	started_us = now_us();
}

int
http_inflight_count(void)
{
	return http_inflight;
}

static void
http_req_end(struct http_req *r)
{
	lws_sul_cancel(&r->sul_timeout);
	r->rx_held = false;			/* the connection is closing or reset */
	if (r->sio_held)
	{
		r->sio_held = false;
		sio_poll_abandon(r);
	}
	if (r->job)
	{
		job_orphan(r->job);
		r->job = NULL;
	}
	if (r->inflight)
	{
		r->inflight = false;
		http_inflight--;
		lifecycle_work_done();
	}
	identity_clear(&r->id);
	free(r->headers_json);
	free(r->args_json);
	free(r->query);
	free(r->prefer);
	free(r->accept);
	free(r->range);
	free(r->body);
	free(r->out);
	reply_clear(&r->reply);
	r->headers_json = r->args_json = r->body = NULL;
	r->query = r->prefer = r->accept = r->range = NULL;
	r->out = NULL;
	r->state = RS_DONE;
}

/*
 * Pipelining.  libwebsockets 4.1 keeps bytes that arrive after a request
 * (a pipelined request, in the same read or a later one) in its rx buffer
 * list and services that list at once on every loop turn: while our reply
 * is pending it re-delivers BODY_COMPLETION forever (100% CPU) or parses the
 * next request into the same transaction, and once the transaction is
 * complete, a buffered request with a body makes lws_http_action() loop
 * forever inside one call (not even SIGTERM gets through).  So:
 *
 *  - from the moment a request is complete until its reply is ready, its
 *    reading is paused (rx flow control), and lws leaves buffered bytes
 *    alone; the pause has to end before the reply is written, because lws
 *    4.1 also ignores POLLOUT on a flow-controlled HTTP/1 connection;
 *  - when lws then hands us anything of a next request while this one's
 *    reply is pending (http_pipelined()), the reply is written at once with
 *    "Connection: close" and the connection closed: the first request is
 *    answered and the rest dropped, before lws can reach its loop.
 */
static void
http_hold_rx(struct http_req *r)
{
	if (!r->rx_held)
	{
		r->rx_held = true;
		lws_rx_flow_control(r->wsi, 0);
	}
}

static void
http_reply(struct http_req *r)
{
	lws_sul_cancel(&r->sul_timeout);
	if (r->rx_held)
	{
		r->rx_held = false;
		lws_rx_flow_control(r->wsi, 1);
	}
	r->state = RS_HEADERS;
	lws_callback_on_writable(r->wsi);
}

/*
 * Socket.IO's long-polling (sio_ws.c) answers a request: body (malloc'd,
 * taken) as content_type.  A GET it held is no longer held.
 */
void
http_sio_answer(struct http_req *r, int status, const char *content_type, char *body, size_t len)
{
	r->sio_held = false;
	free(r->reply.body);
	r->reply.body = body;
	r->reply.len = body ? len : 0;
	r->reply.status = status;
	r->reply.content_type = content_type;
	http_reply(r);
}

/*
 * sio_ws.c answers at once or holds this GET until it has packets for it.
 * A held GET reads on (see http_hold_rx()): its client's going away must
 * be seen, and anything it sends meanwhile is a pipelined request, which
 * closes the connection (http_pipelined()); the session stays.
 */
static void
sio_dispatch(struct http_req *r)
{
	r->state = RS_DB;
	r->sio_held = true;
	/* in flight until written: SIGTERM's drain waits for the last packets */
	if (!r->inflight)
	{
		r->inflight = true;
		http_inflight++;
	}
	sio_poll_request(r, r->wsi, r->get, r->body, r->body_len);
	if (r->sio_held && r->rx_held)
	{
		r->rx_held = false;
		lws_rx_flow_control(r->wsi, 1);
	}
}

static void
http_reply_error(struct http_req *r, int status, const char *code, const char *msg,
				 const char *hint)
{
	reply_error(&r->reply, status, code, msg, NULL, hint);
	http_reply(r);
}

/* --------------------------------------------------------- copying in */

static char *
uri_query(struct lws *wsi)
{
	char	   *frags[256];
	int			n = 0;
	char	   *json;

	for (int i = 0; i < (int) LWS_ARRAY_SIZE(frags); i++)
	{
		int			l = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);

		if (l <= 0)
			break;
		frags[n] = malloc((size_t) l + 1);
		if (!frags[n])
			break;
		if (lws_hdr_copy_fragment(wsi, frags[n], l + 1, WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
		{
			free(frags[n]);
			break;
		}
		n++;
	}
	json = query_from_fragments(frags, n);
	for (int i = 0; i < n; i++)
		free(frags[i]);
	return json;
}

/* The token of "Authorization: Bearer <token>"; other schemes are ignored. */
static char *
bearer_token(struct lws *wsi)
{
	char	   *auth = hdr_dup(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	char	   *tok = NULL;

	if (auth && strncasecmp(auth, "bearer ", 7) == 0)
	{
		const char *p = auth + 7;

		while (*p == ' ')
			p++;
		if (*p)
			tok = strdup(p);
	}
	free(auth);
	return tok;
}

/* ---------------------------------------------------------- requests */

static void
sul_timeout_cb(lws_sorted_usec_list_t *sul)
{
	struct http_req *r = lws_container_of(sul, struct http_req, sul_timeout);

	if (r->state != RS_DB)
		return;
	job_orphan(r->job);
	r->job = NULL;
	log_warn("request %s %s timed out after %d ms", r->method, r->path,
			 cfg->request_timeout_ms);
	http_reply_error(r, 504, "PGRST003", "The request timed out", "The database did not answer in time.");
}

static void
rpc_done(struct job *job)
{
	struct http_req *r = job->owner;

	if (!r)
		return;
	r->job = NULL;
	reply_from_job(&r->reply, job, 1, r->id.authenticated, r->single, false);
	if (r->reply.status == 401 && r->had_token)
		r->reply.www_authenticate = true;
	http_reply(r);
}

static void
health_done(struct job *job)
{
	struct http_req *r = job->owner;
	bool		db = job_ok(job) || job->err;	/* an SQL error still means reachable */
	bool		listener = fanout_live();
	const char *agora = "null";
	const char *extension = NULL;	/* pgcall's version in the database */
	bool		mismatch;
	struct jbuf b;
	int			status;

	if (!r)
		return;
	r->job = NULL;
	if (job_ok(job) && job->res[0] && PQntuples(job->res[0]) == 1 && !PQgetisnull(job->res[0], 0, 0))
		agora = strcmp(PQgetvalue(job->res[0], 0, 0), "t") == 0 ? "true" : "false";
	if (job_ok(job) && job->res[0] && PQntuples(job->res[0]) == 1 && !PQgetisnull(job->res[0], 0, 1))
		extension = PQgetvalue(job->res[0], 0, 1);

	/*
	 * The bridge speaks to the extension version it was built with: another
	 * one (an upgrade of one without the other) is reported here, as 503,
	 * rather than as failures of every request.
	 */
	mismatch = job_ok(job) && (!extension || strcmp(extension, BRIDGE_VERSION) != 0);
	if (mismatch && !extension_mismatch_logged)
	{
		log_warn("the database has pgcall %s, this bridge needs %s: install matching versions",
				 extension ? extension : "(not installed)", BRIDGE_VERSION);
		extension_mismatch_logged = true;
	}
	else if (!mismatch && job_ok(job))
		extension_mismatch_logged = false;
	status = db && listener && !lifecycle_draining() && !mismatch ? 200 : 503;
	jb_init(&b);
	jb_printf(&b, "{\"status\":\"%s\",\"database\":%s,\"listener\":%s,\"agora_configured\":%s,",
			  lifecycle_draining() ? "draining" : mismatch ? "extension_mismatch" :
			  status == 200 ? "ok" : "unavailable",
			  db ? "true" : "false", listener ? "true" : "false", agora);
	jb_puts(&b, "\"extension\":");
	if (extension)
		jb_strz(&b, extension);
	else
		jb_puts(&b, "null");
	jb_puts(&b, ",");
	jb_printf(&b, "\"pool\":{\"size\":%d,\"up\":%d,\"busy\":%d,\"queued\":%d},"
			  "\"websockets\":%d,\"users\":%d,\"bridge\":\"%s\",\"version\":\"%s\","
			  "\"uptime_s\":%llu}",
			  cfg->pool_size, pool_up_count(), pool_busy_count(), pool_queue_len(),
			  session_count(), session_user_count(), bridge_id, BRIDGE_VERSION,
			  (unsigned long long) ((now_us() - started_us) / 1000000));
	free(r->reply.body);
	r->reply.body = jb_take(&b, &r->reply.len);
	r->reply.status = status;
	r->reply.content_type = "application/json; charset=utf-8";
	http_reply(r);
}

static void
submit(struct http_req *r, struct job *job, bool pool)
{
	int			refused;

	r->job = job;
	r->state = RS_DB;
	r->inflight = true;
	http_inflight++;
	refused = pool ? pool_submit(job) : conn_submit(sys, job);
	if (refused)
	{
		r->job = NULL;
		job_free(job);
		request_refused(&r->reply, pool);
		http_reply(r);
		return;
	}
	lws_sul_schedule(ctx, 0, &r->sul_timeout, sul_timeout_cb,
					 (lws_usec_t) cfg->request_timeout_ms * 1000);
}

static void
start_rpc(struct http_req *r)
{
	struct job *job;

	if (!r->get && !r->args_json)
	{
		/* POST body: the named arguments object, checked by the ::jsonb cast */
		if (r->body_len == 0)
			r->args_json = strdup("{}");
		else if (memchr(r->body, '\0', r->body_len))
		{
			http_reply_error(r, 400, "22P02", "The request body contains a NUL byte", NULL);
			return;
		}
		else
		{
			r->args_json = r->body;
			r->body = NULL;
		}
	}
	/* GET: args NULL, pgcall.rpc takes them from the query string */
	job = request_job(&r->id, r->headers_json, r->method, r->path, r->get, rpc_done, r);
	if (!job || request_add_rpc(job, r->schema, r->fn, r->args_json, r->single, r->query,
								r->prefer, r->accept, r->range) ||
		(!r->get && !r->args_json))
	{
		job_free(job);
		http_reply_error(r, 500, "PGRST000", "out of memory", NULL);
		return;
	}
	submit(r, job, true);
}

static void
start_health(struct http_req *r)
{
	struct job *job = job_new(health_done, r);

	if (!job || job_add(job, SQL_HEALTH, 0, NULL))
	{
		job_free(job);
		http_reply_error(r, 500, "PGRST000", "out of memory", NULL);
		return;
	}
	if (!conn_up(sys))
	{
		/* not reachable: answer at once with what we know */
		job->fail_code = "PGRST001";
		health_done(job);
		job_free(job);
		return;
	}
	submit(r, job, false);
}

static void
reply_metrics(struct http_req *r)
{
	free(r->reply.body);
	r->reply.body = metrics_render(&r->reply.len);
	r->reply.status = r->reply.body ? 200 : 500;
	r->reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
	http_reply(r);
}

/* Everything about a /rpc request that can be decided from its headers. */
static void
rpc_headers(struct http_req *r, struct lws *wsi)
{
	char	   *tok = bearer_token(wsi);
	char	   *profile,
			   *accept,
			   *prefer;

	r->had_token = tok != NULL;
	if (identity_from_bearer(&r->id, tok, tok ? strlen(tok) : 0, &r->reply) != 0)
	{
		free(tok);
		if (!r->reply.status)
			reply_error(&r->reply, 500, "PGRST000", "out of memory", NULL, NULL);
		r->error_pending = true;
		return;
	}
	free(tok);
	profile = r->get ? hdr_custom_dup(wsi, "accept-profile") : hdr_custom_dup(wsi, "content-profile");
	r->schema = schema_pick(profile);
	if (!r->schema)
	{
		struct jbuf b;
		char	   *hint;

		jb_init(&b);
		jb_puts(&b, "The schema must be one of the following: ");
		for (int i = 0; i < cfg->nschemas; i++)
			jb_printf(&b, "%s%s", i ? ", " : "", cfg->schemas[i]);
		hint = jb_take(&b, NULL);
		reply_error(&r->reply, 406, "PGRST106", hint ? hint : "Invalid schema", NULL, NULL);
		free(hint);
		free(profile);
		r->error_pending = true;
		return;
	}
	free(profile);
	/* passed on as they are: pgcall.rpc reads them (rpc_query.c) */
	accept = hdr_dup(wsi, WSI_TOKEN_HTTP_ACCEPT);
	r->single = accept && strstr(accept, "application/vnd.pgrst.object+json");
	r->accept = accept;
	prefer = hdr_custom_dup(wsi, "prefer");
	r->prefer = prefer;
	r->range = hdr_dup(wsi, WSI_TOKEN_HTTP_RANGE);
	r->headers_json = http_headers_json(wsi);
	r->query = uri_query(wsi);
}

static const char *
method_of(struct lws *wsi, bool *get, bool *head)
{
	static const struct
	{
		enum lws_token_indexes t;
		const char *name;
	}			m[] = {
		{WSI_TOKEN_GET_URI, "GET"}, {WSI_TOKEN_POST_URI, "POST"},
		{WSI_TOKEN_HEAD_URI, "HEAD"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
		{WSI_TOKEN_PUT_URI, "PUT"}, {WSI_TOKEN_PATCH_URI, "PATCH"},
		{WSI_TOKEN_DELETE_URI, "DELETE"},
	};

	for (size_t i = 0; i < LWS_ARRAY_SIZE(m); i++)
		if (lws_hdr_total_length(wsi, m[i].t) > 0)
		{
			*get = m[i].t == WSI_TOKEN_GET_URI || m[i].t == WSI_TOKEN_HEAD_URI;
			*head = m[i].t == WSI_TOKEN_HEAD_URI;
			return m[i].name;
		}
	return NULL;
}

/*
 * Length rules for a body: 400 when its length is ambiguous, 411 without a
 * length, 413 when too large.  Two Content-Lengths, or one with
 * Transfer-Encoding, or one that is not plain digits, are how requests are
 * smuggled past a proxy that reads the length differently: refused, and the
 * connection closed, since where this request ends is unknown.
 */
static bool
body_acceptable(struct http_req *r, struct lws *wsi)
{
	char		buf[32];
	int			cl = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);

	if (cl > 0 && (lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, 1) > 0 ||
				   lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 ||
				   cl >= (int) sizeof(buf) ||
				   lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 ||
				   strspn(buf, "0123456789") != strlen(buf)))
	{
		r->close_after = true;
		http_reply_error(r, 400, "PGRST100", "The request body's length is ambiguous",
						 "Send exactly one Content-Length of decimal digits, and no Transfer-Encoding.");
		return false;
	}
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
	{
		r->close_after = true;
		http_reply_error(r, 411, "PGRST411", "Chunked request bodies are not supported",
						 "Send a Content-Length header.");
		return false;
	}
	if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
	{
		if (strcmp(r->method, "POST") == 0)
		{
			r->close_after = true;
			http_reply_error(r, 411, "PGRST411", "A request body needs a Content-Length header", NULL);
			return false;
		}
		return true;
	}
	r->content_length = strtoull(buf, NULL, 10);
	if (r->content_length > cfg->max_body)
	{
		char		msg[96];

		r->close_after = true;
		snprintf(msg, sizeof(msg), "The request body is larger than %zu bytes", cfg->max_body);
		http_reply_error(r, 413, "PGRST413", msg, NULL);
		return false;
	}
	return true;
}

/*
 * Whether lws will follow LWS_CALLBACK_HTTP with HTTP_BODY_COMPLETION
 * although there is no body: a POST whose Content-Length reads as 0 with
 * atoll(), as lws_http_action() decides it.
 */
static bool
lws_owes_zero_body(struct lws *wsi)
{
	char		cl[32];

	return lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 &&
		lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
		lws_hdr_copy(wsi, cl, sizeof(cl) - 1, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
		atoll(cl) == 0;
}

/*
 * Bytes of this request's head (request line and header fields).  lws
 * keeps only the fields it knows by token, so on a connection's first
 * request the socket's own count of received bytes says more: less the
 * body (which may not all have arrived: that errs towards too little).
 * Later requests of a keep-alive connection (marked request_seen: lws
 * gives each request a fresh per-session struct) have only the first
 * estimate, since what earlier requests left unread would count too.
 */
static size_t
header_bytes(struct lws *wsi)
{
	size_t		n = 0;
	uint64_t	rx = 0;
	char		cl[32];
	uint64_t	body = 0;

	if (lws_hdr_copy(wsi, cl, sizeof(cl) - 1, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
		body = strtoull(cl, NULL, 10);

	for (int t = 0; t < WSI_TOKEN_COUNT; t++)
	{
		int			len = lws_hdr_total_length(wsi, (enum lws_token_indexes) t);

		if (len > 0)
		{
			const char *name = (const char *) lws_token_to_string((enum lws_token_indexes) t);

			n += (size_t) len + (name ? strlen(name) : 0) + 3;
		}
	}
	if (lws_get_opaque_user_data(wsi) == NULL && wire_received(wsi, &rx) &&
		rx > body && rx - body > n)
		n = (size_t) (rx - body);
	return n;
}

static int
on_http(struct http_req *r, struct lws *wsi, const char *path, size_t path_len)
{
	const char *method;
	char		expect[32];
	size_t		head_bytes;

	r->wsi = wsi;
	r->t0 = now_us();
	r->state = RS_NEW;
	method = method_of(wsi, &r->get, &r->head);
	snprintf(r->method, sizeof(r->method), "%s", method ? method : "?");
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->cors = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0;
	r->lws_zero_body = lws_owes_zero_body(wsi);

	if (lifecycle_draining())
	{
		r->close_after = true;
		http_reply_error(r, 503, "PGRST503", "The bridge is shutting down", "Retry on another bridge.");
		return 0;
	}
	/*
	 * The path as lws decoded it: %00 would cut it short (/rpc/f%00x is not
	 * /rpc/f), and what is not clean UTF-8 cannot name anything.
	 */
	if (strlen(path) != path_len || !text_clean(path, path_len))
	{
		r->close_after = true;
		http_reply_error(r, 400, "PGRST100", "The request path is not valid",
						 "A path is UTF-8 text without control characters or %00.");
		return 0;
	}
	if (path_len + (size_t) lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) > MAX_URI ||
		lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, MAX_ARGS) > 0)
	{
		r->close_after = true;
		http_reply_error(r, 414, "PGRST414", "The request URI is too long",
						 "Send at most 4096 bytes of path and query string, and at most 63 arguments.");
		return 0;
	}
	/*
	 * Header fields (the request line included) over MAX_HEADER_BYTES: lws
	 * keeps twice that (main.c), so a client between the two learns why
	 * with a 431 instead of a dropped connection; past lws's table it still
	 * drops them unanswered.
	 */
	head_bytes = header_bytes(wsi);
	if (lws_get_opaque_user_data(wsi) == NULL)
		lws_set_opaque_user_data(wsi, (void *) &request_seen);
	if (head_bytes > MAX_HEADER_BYTES)
	{
		r->close_after = true;
		http_reply_error(r, 431, "PGRST431", "The request header fields are too large",
						 "Send at most 8192 bytes of header fields.");
		return 0;
	}
	if (!body_acceptable(r, wsi))
		return 0;

	if (strncmp(path, "/rpc/", 5) == 0)
	{
		r->route = ROUTE_RPC;
		if (strlen(path + 5) >= sizeof(r->fn) || !path[5] || strchr(path + 5, '/'))
		{
			r->error_pending = true;
			reply_error(&r->reply, 404, "PGRST202", "Could not find the function", NULL, NULL);
		}
		else
			snprintf(r->fn, sizeof(r->fn), "%s", path + 5);
		if (method && !strcmp(method, "OPTIONS"))
		{
			r->reply.status = 200;
			r->reply.content_type = NULL;
			r->cors = true;
			http_reply(r);
			return 0;
		}
		if (!method || (strcmp(method, "POST") != 0 && !r->get))
		{
			r->close_after = r->content_length > 0;
			http_reply_error(r, 405, "PGRST101",
							 "Only GET, HEAD and POST are allowed on functions", NULL);
			return 0;
		}
		if (!r->error_pending)
			rpc_headers(r, wsi);
	}
	else if (strcmp(path, "/health") == 0 && r->get)
		r->route = ROUTE_HEALTH;
	else if (strcmp(path, "/metrics") == 0 && r->get)
	{
		reply_metrics(r);
		return 0;
	}
	else if (demo_enabled() && r->get &&
			 (strcmp(path, "/demo/users") == 0 || strcmp(path, "/demo/admins") == 0))
	{
		demo_users(&r->reply, strcmp(path, "/demo/admins") == 0);
		http_reply(r);
		return 0;
	}
	else if (demo_enabled() && strcmp(path, "/demo/token") == 0)
	{
		if (!method || strcmp(method, "POST") != 0)
		{
			r->close_after = r->content_length > 0;
			http_reply_error(r, 405, "PGRST101", "Only POST is allowed on /demo/token", NULL);
			return 0;
		}
		r->route = ROUTE_DEMO;
	}
	else if (strcmp(path, "/ws") == 0)
	{
		http_reply_error(r, 426, "PGRST426", "Upgrade to a WebSocket to use /ws", NULL);
		return 0;
	}
	else if (cfg->sio_dialect && (strcmp(path, "/socket.io/") == 0 || strcmp(path, "/socket.io") == 0))
	{
		/* Engine.IO's HTTP long-polling transport (sio_ws.c) */
		if (!method || (strcmp(method, "POST") != 0 && !r->get) || r->head)
		{
			r->close_after = r->content_length > 0;
			http_reply_error(r, 400, "PGRST100", "Bad handshake method",
							 "Engine.IO's polling transport takes GET and POST.");
			return 0;
		}
		r->route = ROUTE_SIO;
	}
	else if (cfg->web_root && r->get && r->content_length == 0)
	{
		int			n = static_serve(wsi, cfg->web_root, path);

		if (n == 0)
		{
			r->state = RS_DONE;
			return 0;
		}
		if (n < 0)
			return -1;
		/* n > 0: not found or refused, answered below */
		http_reply_error(r, n, n == 404 ? "PGRST404" : "PGRST403",
						 n == 404 ? "Not found" : "Forbidden", NULL);
		return 0;
	}
	else if (path[1] && !strchr(path + 1, '/') && !strchr(path, '.'))
	{
		/* /<table>: PostgREST's table endpoints, which pgcall does not offer */
		char		msg[256];

		snprintf(msg, sizeof(msg), "Could not find the table '%s.%.120s' in the schema cache",
				 schema_pick(NULL), path + 1);
		http_reply_error(r, 404, "PGRST205", msg,
						 "pgcall serves functions only: call them with POST or GET /rpc/<function>.");
		return 0;
	}
	else
	{
		http_reply_error(r, 404, "PGRST404", "Not found", NULL);
		return 0;
	}

	if (lws_hdr_copy(wsi, expect, sizeof(expect), WSI_TOKEN_HTTP_EXPECT) > 0 &&
		strcasecmp(expect, "100-continue") == 0 && r->content_length > 0)
	{
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		unsigned char buf[LWS_PRE + sizeof(cont)];

		memcpy(buf + LWS_PRE, cont, sizeof(cont) - 1);
		if (lws_write(wsi, buf + LWS_PRE, sizeof(cont) - 1, LWS_WRITE_HTTP_HEADERS) < 0)
			return -1;
	}
	if (r->content_length > 0 || r->lws_zero_body)
	{
		r->state = RS_BODY;
		if (!r->error_pending && r->content_length > 0)
		{
			r->body = malloc(r->content_length + 1);
			if (!r->body)
				return -1;
			r->body_cap = r->content_length;
		}
		return 0;
	}
	if (r->error_pending)
	{
		http_reply(r);
		return 0;
	}
	http_hold_rx(r);
	if (r->route == ROUTE_HEALTH)
		start_health(r);
	else if (r->route == ROUTE_DEMO)
	{
		demo_token(&r->reply, NULL, 0);
		http_reply(r);
	}
	else if (r->route == ROUTE_SIO)
		sio_dispatch(r);
	else
		start_rpc(r);
	return 0;
}

/* ------------------------------------------------------------- replies */

static void
finish_metrics(struct http_req *r)
{
	int			st = r->reply.status;

	metrics_http_status(st);
	metrics_observe(H_HTTP_LATENCY, (double) (now_us() - r->t0) / 1e6);
	if (st >= 500)
		log_info("%s %s -> %d", r->method, r->path, st);
}

/*
 * libwebsockets 4.1 writes no reason phrase for 204 and 206 and "Redirect"
 * for every 3xx; clients show the phrase (fetch's statusText), so the
 * status line [start, *pp) begins with is written again with RFC 9110's.
 */
static int
fix_reason_phrase(int status, unsigned char *start, unsigned char **pp, unsigned char *end)
{
	static const struct
	{
		int			status;
		const char *phrase;
	}			phrases[] = {
		{201, "Created"}, {204, "No Content"}, {206, "Partial Content"},
		{300, "Multiple Choices"},
	};
	const char *phrase = NULL;
	unsigned char *eol;
	char		line[64];
	int			n;
	size_t		rest;

	for (size_t i = 0; i < LWS_ARRAY_SIZE(phrases); i++)
		if (phrases[i].status == status)
			phrase = phrases[i].phrase;
	if (!phrase || *pp - start < 9 || memcmp(start, "HTTP/1.", 7) != 0)
		return 0;
	eol = memmem(start, (size_t) (*pp - start), "\r\n", 2);
	if (!eol)
		return 0;
	n = snprintf(line, sizeof(line), "%.8s %d %s", (const char *) start, status, phrase);
	rest = (size_t) (*pp - eol);
	if (start + n + rest > end)
		return -1;
	memmove(start + n, eol, rest);
	memcpy(start, line, (size_t) n);
	*pp = start + n + rest;
	return 0;
}

/* The reply's status line and headers at *pp, up to the blank line. */
static int
build_headers(struct http_req *r, struct lws *wsi, unsigned char **pp, unsigned char *end)
{
	unsigned char *p = *pp;
	struct reply *rp = &r->reply;
	size_t		len = rp->body ? rp->len : 0;

	if (lws_add_http_common_headers(wsi, (unsigned int) rp->status, rp->content_type,
									(lws_filepos_t) len, &p, end) ||
		fix_reason_phrase(rp->status, *pp, &p, end))
		return -1;
	if (rp->www_authenticate || rp->status == 401)
	{
		const char *v = r->had_token ? "Bearer error=\"invalid_token\"" : "Bearer";

		if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_WWW_AUTHENTICATE,
										 (const unsigned char *) v, (int) strlen(v), &p, end))
			return -1;
	}
	if (rp->content_range[0] &&
		lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_RANGE,
									 (unsigned char *) rp->content_range,
									 (int) strlen(rp->content_range), &p, end))
		return -1;
	if (lwsio_retry_after(rp, &p, end, wsi))
		return -1;
	if (rp->extra_headers)
	{
		/* validated "name: value\r\n" lines from a PGRST error */
		for (char *line = rp->extra_headers; *line;)
		{
			char	   *colon = strchr(line, ':'),
					   *eol = strstr(line, "\r\n");
			char		name[128];

			if (!colon || !eol || colon > eol || (size_t) (colon - line) + 2 > sizeof(name))
				break;
			snprintf(name, sizeof(name), "%.*s:", (int) (colon - line), line);
			if (lws_add_http_header_by_name(wsi, (unsigned char *) name,
											(unsigned char *) colon + 2,
											(int) (eol - colon - 2), &p, end))
				return -1;
			line = eol + 2;
		}
	}
	if (r->cors)
	{
		static const char any[] = "*";
		static const char methods[] = "GET, POST, HEAD, OPTIONS";
		static const char allow[] = "Authorization, Content-Type, Accept, Accept-Profile, "
			"Content-Profile, Prefer, apikey, x-client-info";

		if (lws_add_http_header_by_name(wsi, (unsigned char *) "access-control-allow-origin:",
										(unsigned char *) any, 1, &p, end) ||
			lws_add_http_header_by_name(wsi, (unsigned char *) "access-control-allow-methods:",
										(unsigned char *) methods, (int) strlen(methods), &p, end) ||
			lws_add_http_header_by_name(wsi, (unsigned char *) "access-control-allow-headers:",
										(unsigned char *) allow, (int) strlen(allow), &p, end) ||
			lws_add_http_header_by_name(wsi, (unsigned char *) "access-control-expose-headers:",
										(unsigned char *) "Content-Range", 13, &p, end))
			return -1;
	}
	if (r->close_after &&
		lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (unsigned char *) "close", 5,
									 &p, end))
		return -1;
	if (lws_finalize_http_header(wsi, &p, end))
		return -1;
	*pp = p;
	return 0;
}

static int
write_headers(struct http_req *r, struct lws *wsi)
{
	unsigned char buf[LWS_PRE + 2048];
	unsigned char *start = buf + LWS_PRE,
			   *p = start;

	if (build_headers(r, wsi, &p, buf + sizeof(buf) - 1))
		return -1;
	return lws_write(wsi, start, (size_t) (p - start), LWS_WRITE_HTTP_HEADERS) < 0 ? -1 : 0;
}

/*
 * lws handed us part of a next request while this one is not finished
 * (see http_hold_rx()): write what is left of the reply now, in one write
 * with "Connection: close", and close.  lws flushes what the socket does
 * not take before it closes.  This is the second write outside WRITEABLE
 * (after http_write_now()), for the same reason: the connection ends here.
 */
static int
http_pipelined(struct http_req *r, struct lws *wsi)
{
	r->close_after = true;
	if (r->state == RS_HEADERS)
	{
		size_t		blen = r->reply.body && !r->head ? r->reply.len : 0;
		unsigned char *buf = malloc(LWS_PRE + 2048 + blen);
		unsigned char *p;

		if (buf)
		{
			p = buf + LWS_PRE;
			if (build_headers(r, wsi, &p, buf + LWS_PRE + 2047) == 0)
			{
				if (blen)
					memcpy(p, r->reply.body, blen);
				p += blen;
				lws_write(wsi, buf + LWS_PRE, (size_t) (p - buf - LWS_PRE), LWS_WRITE_HTTP_FINAL);
				finish_metrics(r);
			}
			free(buf);
		}
	}
	else if (r->state == RS_BODY_OUT)
	{
		lws_write(wsi, r->out + LWS_PRE + r->sent, r->reply.len - r->sent, LWS_WRITE_HTTP_FINAL);
		finish_metrics(r);
	}
	else
		log_warn("%s %s: a pipelined request arrived before this one was answered; closing",
				 r->method, r->path);
	lwsio_mark_answered(wsi);
	http_req_end(r);
	return -1;
}

/* A transaction is under way on this connection (the pss is zeroed between them). */
static bool
http_busy(const struct http_req *r)
{
	return r && r->wsi && r->state != RS_DONE;
}

/*
 * Whether lws holds unread bytes of this connection: a pipelined request
 * that must not reach lws_http_transaction_completed() (see http_hold_rx()).
 * lws has no call for one connection's buffer, but
 * lws_service_adjust_timeout() answers 0 while any connection that may read
 * has buffered bytes: ask with this one paused, then not.  When another
 * connection has some too the answer is "maybe", taken as yes: the cost is
 * one keep-alive connection closed.
 */
static bool
http_rx_buffered(struct lws *wsi)
{
	int			paused,
				reading;

	lws_rx_flow_control(wsi, 0);
	paused = lws_service_adjust_timeout(ctx, 1, 0);
	lws_rx_flow_control(wsi, 1);
	reading = lws_service_adjust_timeout(ctx, 1, 0);
	return paused == 0 || reading == 0;
}

static int
complete(struct http_req *r, struct lws *wsi)
{
	bool		close_after = r->close_after;

	finish_metrics(r);
	http_req_end(r);
	if (close_after || http_rx_buffered(wsi))
		return -1;
	if (lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

static int
on_writeable(struct http_req *r, struct lws *wsi)
{
	switch (r->state)
	{
		case RS_HEADERS:
			if (!r->close_after && http_rx_buffered(wsi))
				r->close_after = true;
			if (write_headers(r, wsi))
				return -1;
			if (!r->reply.body || r->reply.len == 0 || r->head)
				return complete(r, wsi);
			r->out = malloc(LWS_PRE + r->reply.len);
			if (!r->out)
				return -1;
			memcpy(r->out + LWS_PRE, r->reply.body, r->reply.len);
			r->sent = 0;
			r->state = RS_BODY_OUT;
			lws_callback_on_writable(wsi);
			return 0;
		case RS_BODY_OUT:
			{
				size_t		left = r->reply.len - r->sent;
				size_t		n = left > BODY_CHUNK ? BODY_CHUNK : left;

				/* bytes before out+LWS_PRE+sent were sent already: free headroom */
				if (lws_write(wsi, r->out + LWS_PRE + r->sent, n,
							  n == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
					return -1;
				r->sent += n;
				if (r->sent < r->reply.len)
				{
					lws_callback_on_writable(wsi);
					return 0;
				}
				return complete(r, wsi);
			}
		default:
			return 0;			/* spurious */
	}
}

int
http_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
				 void *in, size_t len)
{
	struct http_req *r = user;

	switch (reason)
	{
		case LWS_CALLBACK_HTTP:
			if (!r)
				return -1;
			if (http_busy(r))
				return http_pipelined(r, wsi);
			return on_http(r, wsi, (const char *) in, len);

		case LWS_CALLBACK_HTTP_BODY:
			/* lws sends an empty one for a POST of length 0 (no buffer then) */
			if (!r || r->state != RS_BODY || len == 0)
				return 0;
			if (r->error_pending)
				return 0;		/* read and drop: the reply is decided */
			if (r->body_len + len > r->body_cap)
			{
				r->close_after = true;
				free(r->body);
				r->body = NULL;
				r->body_len = 0;
				r->error_pending = true;
				reply_error(&r->reply, 413, "PGRST413", "The request body is larger than its Content-Length",
							NULL, NULL);
				return 0;
			}
			memcpy(r->body + r->body_len, in, len);
			r->body_len += len;
			return 0;

		case LWS_CALLBACK_HTTP_BODY_COMPLETION:
			if (!r)
				return 0;
			if (r->lws_zero_body)
			{
				/* the one lws owes a POST of length 0; an early reply may precede it */
				r->lws_zero_body = false;
				if (r->state != RS_BODY)
					return 0;
			}
			else if (r->state != RS_BODY)
				return http_busy(r) ? http_pipelined(r, wsi) : 0;
			http_hold_rx(r);
			if (r->error_pending)
				http_reply(r);
			else if (r->route == ROUTE_HEALTH)
				start_health(r);
			else if (r->route == ROUTE_DEMO)
			{
				demo_token(&r->reply, r->body, r->body_len);
				http_reply(r);
			}
			else if (r->route == ROUTE_SIO)
				sio_dispatch(r);
			else
			{
				if (r->body)
					r->body[r->body_len] = '\0';
				start_rpc(r);
			}
			return 0;

		case LWS_CALLBACK_HTTP_WRITEABLE:
			if (!r)
				return 0;
			return on_writeable(r, wsi);

		case LWS_CALLBACK_CLOSED_HTTP:
			if (!r || !r->wsi)
				http_closed_early(wsi);
			if (r)
				http_req_end(r);
			return 0;

		case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
			if (r)
				http_req_end(r);
			return 0;

		case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
			if (http_busy(r))
				return http_pipelined(r, wsi);
			return ws_confirm_upgrade(wsi, (const char *) in);

		case LWS_CALLBACK_HTTP_FILE_COMPLETION:
			/*
			 * lws buffers whatever arrives while it sends a file without
			 * telling us, so a pipelined request could sit behind it (see
			 * http_hold_rx()): static files end their connection.
			 */
			metrics_http_status(200);
			return -1;

		default:
			return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

const size_t http_req_size = sizeof(struct http_req);
