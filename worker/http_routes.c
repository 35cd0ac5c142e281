/*
 * http_routes.c: what each HTTP path does, as a table (routes[] below, the
 * first match wins): /rpc/<fn> through the request pipeline (request.c),
 * /health, /metrics, the demo sign-in, the /ws hint, and Socket.IO's
 * long-polling (sio_ws.c); then, for paths no route takes, static files
 * and PostgREST's 404s.  A --dialect port (dialect_http.c) has routes of
 * its own: Socket.IO in its dialect, and every other path one of the
 * dialect's REST routes.  A route's open() runs when the request head has
 * arrived and may answer at once; its start() runs with the complete body.
 */
#include "http_routes.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "demo.h"
#include "dialect_http.h"
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

static const struct config *cfg;
static struct lws_context *ctx;
static const char *bridge_id;
static struct pgconn *sys;
static uint64_t started_us;
static bool extension_mismatch_logged;	/* warned once per mismatch */

void
http_routes_init(const struct config *config, struct lws_context *context, const char *id,
				 struct pgconn *system)
{
	cfg = config;
	ctx = context;
	bridge_id = id;
	sys = system;
	started_us = now_us();
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
	http_req_in_flight(r);
	sio_poll_request(r, r->wsi, r->get, r->body, r->body_len);
	if (r->sio_held && r->rx_held)
	{
		r->rx_held = false;
		lws_rx_flow_control(r->wsi, 1);
	}
}

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
	http_req_in_flight(r);
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

	if (r->body)
		r->body[r->body_len] = '\0';
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
dialect_done(struct job *job)
{
	struct http_req *r = job->owner;

	if (!r)
		return;
	r->job = NULL;
	dialect_http_reply(&r->reply, job, r->id.authenticated);
	if (r->reply.status == 401 && r->had_token)
		r->reply.www_authenticate = true;
	http_reply(r);
}

/* A REST request of a dialect (dialect_http.c): the whole request goes to pgcall.dialect_http(). */
static void
start_dialect(struct http_req *r)
{
	struct job *job;

	if (r->body && memchr(r->body, '\0', r->body_len))
	{
		http_reply_error(r, 400, "22P02", "The request body contains a NUL byte", NULL);
		return;
	}
	if (r->body)
		r->body[r->body_len] = '\0';
	job = dialect_http_job(dialect_done, r, r->dialect, &r->id, r->headers_json, r->method, r->path,
						   r->query, r->body);
	if (!job)
	{
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

/* ------------------------------------------------------------- routes */

static enum route_open
open_rpc(struct http_req *r, struct lws *wsi, const char *path)
{
	if (strlen(path + 5) >= sizeof(r->fn) || !path[5] || strchr(path + 5, '/'))
	{
		r->error_pending = true;
		reply_error(&r->reply, 404, "PGRST202", "Could not find the function", NULL, NULL);
	}
	else
		snprintf(r->fn, sizeof(r->fn), "%s", path + 5);
	if (!strcmp(r->method, "OPTIONS"))
	{
		r->reply.status = 200;
		r->reply.content_type = NULL;
		r->cors = true;
		http_reply(r);
		return ROUTE_ANSWERED;
	}
	if (strcmp(r->method, "POST") != 0 && !r->get)
	{
		r->close_after = r->content_length > 0;
		http_reply_error(r, 405, "PGRST101",
						 "Only GET, HEAD and POST are allowed on functions", NULL);
		return ROUTE_ANSWERED;
	}
	if (!r->error_pending)
		rpc_headers(r, wsi);
	return ROUTE_READ_BODY;
}

static enum route_open
open_health(struct http_req *r, struct lws *wsi, const char *path)
{
	(void) r;
	(void) wsi;
	(void) path;
	return ROUTE_READ_BODY;
}

static enum route_open
open_metrics(struct http_req *r, struct lws *wsi, const char *path)
{
	(void) wsi;
	(void) path;
	reply_metrics(r);
	return ROUTE_ANSWERED;
}

static enum route_open
open_demo_list(struct http_req *r, struct lws *wsi, const char *path)
{
	(void) wsi;
	demo_users(&r->reply, strcmp(path, "/demo/admins") == 0);
	http_reply(r);
	return ROUTE_ANSWERED;
}

static enum route_open
open_demo_token(struct http_req *r, struct lws *wsi, const char *path)
{
	(void) wsi;
	(void) path;
	if (strcmp(r->method, "POST") != 0)
	{
		r->close_after = r->content_length > 0;
		http_reply_error(r, 405, "PGRST101", "Only POST is allowed on /demo/token", NULL);
		return ROUTE_ANSWERED;
	}
	return ROUTE_READ_BODY;
}

static void
start_demo_token(struct http_req *r)
{
	demo_token(&r->reply, r->body, r->body_len);
	http_reply(r);
}

static enum route_open
open_ws(struct http_req *r, struct lws *wsi, const char *path)
{
	(void) wsi;
	(void) path;
	http_reply_error(r, 426, "PGRST426", "Upgrade to a WebSocket to use /ws", NULL);
	return ROUTE_ANSWERED;
}

static bool
sio_enabled(void)
{
	return cfg->sio_dialect != NULL;
}

/* Engine.IO's HTTP long-polling transport (sio_ws.c), with its CORS */
static enum route_open
open_sio(struct http_req *r, struct lws *wsi, const char *path)
{
	(void) path;
	r->sio = true;
	if (!strcmp(r->method, "OPTIONS"))
	{
		const char *msg = NULL,
				   *hint = NULL;
		int			st = sio_preflight(wsi, &msg, &hint);

		r->close_after = r->content_length > 0;
		if (st)
		{
			r->cors = false;	/* refused: nothing that would let it pass */
			http_reply_error(r, st, st == 405 ? "PGRST101" : "PGRST403", msg, hint);
			return ROUTE_ANSWERED;
		}
		r->sio_preflight = true;
		r->reply.status = 200;
		r->reply.content_type = NULL;
		http_reply(r);
		return ROUTE_ANSWERED;
	}
	if ((strcmp(r->method, "POST") != 0 && !r->get) || r->head)
	{
		r->close_after = r->content_length > 0;
		http_reply_error(r, 400, "PGRST100", "Bad handshake method",
						 "Engine.IO's polling transport takes GET and POST.");
		return ROUTE_ANSWERED;
	}
	return ROUTE_READ_BODY;
}

/* A --dialect port: every path but Socket.IO's is one of the dialect's REST routes. */
static enum route_open
open_dialect(struct http_req *r, struct lws *wsi, const char *path)
{
	char	   *tok;

	(void) path;
	if (!strcmp(r->method, "OPTIONS"))
	{
		r->reply.status = 204;
		r->reply.content_type = NULL;
		r->cors = true;
		http_reply(r);
		return ROUTE_ANSWERED;
	}
	if (!strcmp(r->method, "?"))
	{
		r->close_after = true;
		http_reply_error(r, 405, "PGRST101", "Unknown method", NULL);
		return ROUTE_ANSWERED;
	}
	tok = bearer_token(wsi);
	r->had_token = tok != NULL;
	if (identity_from_bearer(&r->id, tok, tok ? strlen(tok) : 0, &r->reply) != 0)
	{
		if (!r->reply.status)
			reply_error(&r->reply, 500, "PGRST000", "out of memory", NULL, NULL);
		r->error_pending = true;
	}
	free(tok);
	r->headers_json = http_headers_json(wsi);
	r->query = uri_query(wsi);
	return ROUTE_READ_BODY;
}

/* In order: the first match wins; a --dialect port's routes come first. */
static const struct route routes[] = {
	{"/socket.io/", false, false, NULL, open_sio, sio_dispatch, true},
	{"/socket.io", false, false, NULL, open_sio, sio_dispatch, true},
	{"/", true, false, NULL, open_dialect, start_dialect, true},
	{"/rpc/", true, false, NULL, open_rpc, start_rpc, false},
	{"/health", false, true, NULL, open_health, start_health, false},
	{"/metrics", false, true, NULL, open_metrics, NULL, false},
	{"/demo/users", false, true, demo_enabled, open_demo_list, NULL, false},
	{"/demo/admins", false, true, demo_enabled, open_demo_list, NULL, false},
	{"/demo/token", false, false, demo_enabled, open_demo_token, start_demo_token, false},
	{"/ws", false, false, NULL, open_ws, NULL, false},
	{"/socket.io/", false, false, sio_enabled, open_sio, sio_dispatch, false},
	{"/socket.io", false, false, sio_enabled, open_sio, sio_dispatch, false},
};

const struct route *
route_find(const struct http_req *r, const char *path)
{
	for (size_t i = 0; i < LWS_ARRAY_SIZE(routes); i++)
	{
		const struct route *rt = &routes[i];

		if ((rt->prefix ? strncmp(path, rt->path, strlen(rt->path)) != 0 : strcmp(path, rt->path) != 0) ||
			rt->dialect_port != (r->dialect != NULL) ||
			(rt->get_only && !r->get) || (rt->enabled && !rt->enabled()))
			continue;
		return rt;
	}
	return NULL;
}

int
route_unrouted(struct http_req *r, struct lws *wsi, const char *path)
{
	if (cfg->web_root && r->get && r->content_length == 0)
	{
		int			n = static_serve(wsi, cfg->web_root, path);

		if (n == 0)
		{
			r->state = RS_DONE;
			return 0;
		}
		if (n < 0)
			return -1;
		/* n > 0: not found or refused */
		http_reply_error(r, n, n == 404 ? "PGRST404" : "PGRST403",
						 n == 404 ? "Not found" : "Forbidden", NULL);
		return 0;
	}
	if (path[1] && !strchr(path + 1, '/') && !strchr(path, '.'))
	{
		/* /<table>: PostgREST's table endpoints, which pgcall does not offer */
		char		msg[256];

		snprintf(msg, sizeof(msg), "Could not find the table '%s.%.120s' in the schema cache",
				 schema_pick(NULL), path + 1);
		http_reply_error(r, 404, "PGRST205", msg,
						 "pgcall serves functions only: call them with POST or GET /rpc/<function>.");
		return 0;
	}
	http_reply_error(r, 404, "PGRST404", "Not found", NULL);
	return 0;
}
