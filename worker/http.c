/*
 * http.c: the HTTP protocol's front half: reading a request (method, path,
 * header and body limits, the token) and routing it through the table
 * below to /rpc/<fn> (PostgREST style), /health, /metrics, the demo
 * sign-in (demo.c, only with --demo-users), Socket.IO's long-polling
 * (sio_ws.c), a --dialect port's REST routes (dialect_http.c), static files
 * (static.c), and the hand-off of /ws upgrades (ws.c).  A transaction's lifetime and its reply are http_req.c's.
 *
 * Request data is copied in LWS_CALLBACK_HTTP: the header table goes away
 * later.  A route opens a request when its head has arrived (it may answer
 * at once) and starts it when its body is complete.
 */
#include "http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "dialect_http.h"
#include "http_req.h"
#include "http_routes.h"
#include "json.h"
#include "lifecycle.h"
#include "lwsio.h"
#include "metrics.h"
#include "request.h"
#include "ws.h"

#define MAX_URI 4096			/* path and query string */
#define MAX_ARGS 63				/* query arguments */
#define MAX_HEADER_BYTES 8192	/* header fields, request line included */

/* Marks (as opaque user data) a connection whose first request has arrived. */
static const char request_seen = 1;

static const struct config *cfg;

void
http_init(const struct config *config, struct lws_context *ctx, const char *bridge_id,
		  struct pgconn *sys)
{
	cfg = config;
	http_routes_init(config, ctx, bridge_id, sys);
}

int
http_inflight_count(void)
{
	return http_req_inflight_count();
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
	const struct route *route;

	r->wsi = wsi;
	r->t0 = now_us();
	r->state = RS_NEW;
	method = method_of(wsi, &r->get, &r->head);
	snprintf(r->method, sizeof(r->method), "%s", method ? method : "?");
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->cors = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0;
	r->route = NULL;			/* not the last request's on this connection */
	r->dialect = NULL;
	r->sio = false;
	r->sio_preflight = false;
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

	r->dialect = dialect_of(wsi);	/* a --dialect port's requests are its REST routes */
	route = route_find(r, path);
	if (!route)
		return route_unrouted(r, wsi, path);
	r->route = route;
	if (route->open(r, wsi, path) == ROUTE_ANSWERED)
		return 0;

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
	route->start(r);
	return 0;
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
			if (r->error_pending || !r->route || !r->route->start)
				http_reply(r);
			else
				r->route->start(r);
			return 0;

		case LWS_CALLBACK_HTTP_WRITEABLE:
			if (!r)
				return 0;
			return http_req_writeable(r, wsi);

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
