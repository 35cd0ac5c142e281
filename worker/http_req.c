/*
 * http_req.c: one HTTP transaction from the moment http.c has routed it:
 * its end (everything it holds is freed in http_req_end(), which may run
 * more than once), the count of requests in flight (a request that reached
 * the database is in flight until its reply is written or the client goes
 * away; SIGTERM waits for that count to reach zero), and its reply, which
 * is written only from HTTP_WRITEABLE: headers first, then the body.
 */
#include "http_req.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "lifecycle.h"
#include "log.h"
#include "lwsio.h"
#include "metrics.h"
#include "sio_ws.h"

static int	http_inflight;		/* requests between submit and reply */

void
http_req_in_flight(struct http_req *r)
{
	if (!r->inflight)
	{
		r->inflight = true;
		http_inflight++;
	}
}

int
http_req_inflight_count(void)
{
	return http_inflight;
}

void
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
void
http_hold_rx(struct http_req *r)
{
	if (!r->rx_held)
	{
		r->rx_held = true;
		lws_rx_flow_control(r->wsi, 0);
	}
}

void
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

void
http_reply_error(struct http_req *r, int status, const char *code, const char *msg,
				 const char *hint)
{
	reply_error(&r->reply, status, code, msg, NULL, hint);
	http_reply(r);
}

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
	if (r->cors && r->sio)
	{
		/* Socket.IO's long-polling: the origin echoed, or nothing (sio_ws.c) */
		if (sio_cors_headers(wsi, r->sio_preflight, &p, end))
			return -1;
	}
	else if (r->cors)
	{
		static const char any[] = "*";
		const char *methods = r->dialect ? "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
			: "GET, POST, HEAD, OPTIONS";
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
int
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
bool
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
	paused = lws_service_adjust_timeout(lws_get_context(wsi), 1, 0);
	lws_rx_flow_control(wsi, 1);
	reading = lws_service_adjust_timeout(lws_get_context(wsi), 1, 0);
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

int
http_req_writeable(struct http_req *r, struct lws *wsi)
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
