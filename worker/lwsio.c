/*
 * lwsio.c: what both transports (http.c, ws.c, sio_ws.c) ask of
 * libwebsockets and of the socket under it: copies of request headers and
 * request.headers as JSON, the kernel's count of bytes received and of
 * those the bridge has read, and the answers written outside WRITEABLE
 * because the connection ends with them (a refused upgrade, a 408 to a
 * connection that never sent its request).
 * No state of its own beyond the marker of connections answered here.
 */
#include "lwsio.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <linux/sockios.h>		/* SIOCINQ */
#include <linux/tcp.h>			/* tcp_info with tcpi_bytes_received */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "json.h"
#include "metrics.h"

/* Custom (non-lws-token) headers passed on in request.headers. */
static const char *const custom_headers[] = {
	"prefer", "content-profile", "accept-profile", "x-client-info", "x-request-id",
	"x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "traceparent",
	"tracestate", NULL
};

/* Marks (as opaque user data) a client connection we answered and closed ourselves. */
static const char answered_directly = 1;

void
lwsio_mark_answered(struct lws *wsi)
{
	lws_set_opaque_user_data(wsi, (void *) &answered_directly);
}

char *
hdr_dup(struct lws *wsi, enum lws_token_indexes t)
{
	int			n = lws_hdr_total_length(wsi, t);
	char	   *s;

	if (n <= 0)
		return NULL;
	s = malloc((size_t) n + 1);
	if (s && lws_hdr_copy(wsi, s, n + 1, t) < 0)
	{
		free(s);
		return NULL;
	}
	return s;
}

char *
hdr_custom_dup(struct lws *wsi, const char *name)
{
	char		key[64];
	int			kl = snprintf(key, sizeof(key), "%s:", name);
	int			n = lws_hdr_custom_length(wsi, key, kl);
	char	   *s;

	if (n <= 0)
		return NULL;
	s = malloc((size_t) n + 1);
	if (s && lws_hdr_custom_copy(wsi, s, n + 1, key, kl) < 0)
	{
		free(s);
		return NULL;
	}
	return s;
}

/*
 * request.headers: every header lws parsed, names lower-case, except the
 * ones that carry credentials (authorization, cookie, apikey), which stay
 * out of the database.
 */
char *
http_headers_json(struct lws *wsi)
{
	struct jbuf b;
	bool		first = true;

	jb_init(&b);
	jb_puts(&b, "{");
	for (int t = 0; t < WSI_TOKEN_COUNT; t++)
	{
		const char *name = (const char *) lws_token_to_string((enum lws_token_indexes) t);
		size_t		nl;
		char	   *v;

		if (!name || !(nl = strlen(name)) || name[nl - 1] != ':' || name[0] == ':' ||
			!strcmp(name, "authorization:") || !strcmp(name, "cookie:") ||
			!strcmp(name, "proxy-authorization:"))
			continue;
		if (!(v = hdr_dup(wsi, (enum lws_token_indexes) t)))
			continue;
		if (!first)
			jb_puts(&b, ",");
		first = false;
		jb_str(&b, name, nl - 1);
		jb_puts(&b, ":");
		jb_strz(&b, v);
		free(v);
	}
	for (int i = 0; custom_headers[i]; i++)
	{
		char	   *v = hdr_custom_dup(wsi, custom_headers[i]);

		if (!v)
			continue;
		if (!first)
			jb_puts(&b, ",");
		first = false;
		jb_strz(&b, custom_headers[i]);
		jb_puts(&b, ":");
		jb_strz(&b, v);
		free(v);
	}
	jb_puts(&b, "}");
	return jb_take(&b, NULL);
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
 * sent its first frame.  Bytes landing between the two counts would make it
 * wrong (too small: an unmasked frame then passed as masked), so the count
 * is taken again after the queue and the pair retried until both agree;
 * without agreement the check is off for the socket.
 */
bool
wire_consumed(struct lws *wsi, uint64_t *n)
{
	int			fd = lws_get_socket_fd(wsi);

	for (int tries = 0; tries < 8; tries++)
	{
		int			queued = 0;
		uint64_t	before,
					after;

		if (!wire_received(wsi, &before) || ioctl(fd, SIOCINQ, &queued) != 0 || queued < 0 ||
			!wire_received(wsi, &after))
			return false;
		if (before == after && (uint64_t) queued <= after)
		{
			*n = after - (uint64_t) queued;
			return true;
		}
	}
	return false;
}

/*
 * Retry-After on a 429: the seconds the database said (a rate limit's
 * window, reply_error()), or 1 when it said none.  A PGRST error that set
 * its own Retry-After keeps it.
 */
int
lwsio_retry_after(const struct reply *r, unsigned char **p, unsigned char *end, struct lws *wsi)
{
	char		v[16];

	if (r->status != 429)
		return 0;
	for (const char *line = r->extra_headers; line && *line;)
	{
		const char *eol = strstr(line, "\r\n");

		if (strncasecmp(line, "retry-after:", 12) == 0)
			return 0;
		if (!eol)
			break;
		line = eol + 2;
	}
	snprintf(v, sizeof(v), "%d", r->retry_after > 0 ? r->retry_after : 1);
	return lws_add_http_header_by_name(wsi, (const unsigned char *) "retry-after:",
									   (const unsigned char *) v, (int) strlen(v), p, end);
}

/*
 * A connection closes before any request of it reached us.  When its
 * request headers did not arrive within --header-timeout, lws closes it
 * without a word; the client deserves a 408.  (lws does not say why it
 * closes, but the kernel knows whether the client sent anything and when.)
 * Nothing is said to an idle connection or to a client that has gone.
 * (A connection's first request never gets here: listen.c reads it and
 * answers the 408 itself.  Requests lws cannot parse at all are refused
 * there too, but only for a connection's first request: see
 * docs/protocol.md.)  The socket is open here; the reply is one
 * small send() that the socket buffer takes whole.
 */
void
http_closed_early(struct lws *wsi)
{
	int			fd = lws_get_socket_fd(wsi);
	struct tcp_info ti;
	socklen_t	tl = sizeof(ti);
	struct reply r = {0};
	char		head[256],
				c;

	if (lws_get_opaque_user_data(wsi) == &answered_directly || fd < 0 ||
		recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0 ||	/* the client has gone */
		getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) != 0 ||
		ti.tcpi_bytes_received == 0 || ti.tcpi_last_data_recv < 1000)
		return;
	reply_error(&r, 408, "PGRST408", "The request headers did not arrive in time",
				NULL, "Send complete request headers within the header timeout.");
	if (r.body)
	{
		int			n = snprintf(head, sizeof(head),
								 "HTTP/1.1 408 Request Timeout\r\nserver: pgcall-bridge\r\n"
								 "content-type: application/json; charset=utf-8\r\n"
								 "content-length: %zu\r\nconnection: close\r\n\r\n", r.len);
		struct iovec iov[2] = {{head, (size_t) n}, {r.body, r.len}};
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};

		if (sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
			metrics_http_status(408);
	}
	reply_clear(&r);
}

/*
 * Answer an upgrade request we refuse, from inside CONFIRM_UPGRADE.  This is
 * the one write outside WRITEABLE: the connection closes right after (as
 * lws_return_http_status() does), and we need the JSON body and the
 * WWW-Authenticate header that lws_return_http_status() cannot give.
 */
int
http_write_now(struct lws *wsi, int status, const struct reply *r, bool token_seen)
{
	unsigned char buf[LWS_PRE + 2048];
	unsigned char *start = buf + LWS_PRE,
			   *p = start,
			   *end = buf + sizeof(buf) - 1;
	size_t		len = r->body ? r->len : 0;

	if (len > sizeof(buf) - LWS_PRE - 1024)
		len = 0;
	if (lws_add_http_common_headers(wsi, (unsigned int) status, r->content_type,
									(lws_filepos_t) len, &p, end))
		return 1;
	if (status == 401)
	{
		const char *v = token_seen ? "Bearer error=\"invalid_token\"" : "Bearer";

		if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_WWW_AUTHENTICATE,
										 (const unsigned char *) v, (int) strlen(v), &p, end))
			return 1;
	}
	if (status == r->status && lwsio_retry_after(r, &p, end, wsi))
		return 1;
	if (lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (unsigned char *) "close", 5,
									 &p, end) ||
		lws_finalize_http_header(wsi, &p, end))
		return 1;
	if (len)
	{
		memcpy(p, r->body, len);
		p += len;
	}
	if (status >= 100 && status < 600)
		metrics_http_status(status);
	lws_write(wsi, start, (size_t) (p - start), LWS_WRITE_HTTP_FINAL);
	lws_set_opaque_user_data(wsi, (void *) &answered_directly);
	return 1;
}
