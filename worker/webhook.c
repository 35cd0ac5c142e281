/*
 * webhook.c: delivering the webhook outbox (pgcall.webhook_delivery).
 *
 * Long file: one delivery's life (claim, resolve, check the address,
 * connect, POST, read the answer, report) is one state machine over one
 * struct delivery, on timers and lws callbacks that hand it to each other.
 *
 * The extension writes deliveries at the commit of each change and decides
 * everything about them: who gets what, the body, the signature, the retry
 * schedule, when one is dead.  This module only moves them: it claims due
 * deliveries on the system connection (pgcall.bridge_webhook_claim, which
 * leases each to this bridge), POSTs each one with the libwebsockets HTTP
 * client on this same event loop, and reports every attempt back in batches
 * (pgcall.bridge_webhook_report).  It claims when an event notification says
 * something committed and every --webhook-poll ms, and never has more than
 * --webhook-inflight deliveries open.
 *
 * Why libwebsockets and not libcurl: the bridge already runs on its loop, so
 * a delivery is one more wsi with a callback and a timer, and no second
 * library (libcurl's multi interface would need its sockets and timers
 * bridged into lws by hand, with the 4.1.6 writable re-arm bug in the way).
 * lws 4.1 resolves names synchronously, though, so names are resolved here
 * with getaddrinfo_a (its own thread), polled from a timer, and lws is given
 * the checked numeric address: no blocking, and the address connected to is
 * exactly the one checked, so DNS rebinding cannot slip a private address in
 * between the check and the connect.
 *
 * Lifetime: a struct delivery lives from the claim to its report entry.  Its
 * wsi points back to it through the opaque user data; finish() clears that
 * and kills the wsi, so callbacks that come later find NULL and do nothing.
 * Nothing here is locked: one loop thread (main.c).
 */
#include "webhook.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"

static const struct config *cfg;
static struct lws_context *ctx;
static struct lws_vhost *vhost;
static const char *bridge_id;
static struct pgconn *sys;

struct delivery
{
	lws_dll2_t	list;
	long long	id;
	int			attempt;
	char	   *url;
	char	   *delivery_id;
	char	   *event_type;
	char	   *body;
	size_t		body_len;
	size_t		sent;
	char	   *signature;
	int			timeout_ms;
	size_t		response_max;
	bool		allow_private;

	char		host[256];		/* for Host and TLS SNI */
	char		port[8];
	const char *path;			/* into url */
	bool		tls;
	char		addr[INET6_ADDRSTRLEN];

	struct lookup *lookup;		/* while resolving */

	struct lws *wsi;
	int			status;			/* HTTP status, 0 until the status line */
	size_t		received;
	uint64_t	t_start;
	bool		done;
	lws_sorted_usec_list_t sul_timeout;
	lws_sorted_usec_list_t sul_resolve;
};

/*
 * A name being resolved by getaddrinfo_a, whose thread writes into it until
 * it is done: a delivery that ends first (its timeout) leaves it here, and
 * a timer frees it once the resolver let go, so the loop never waits.
 */
struct lookup
{
	lws_dll2_t	list;
	struct gaicb gai;
	struct gaicb *gaip;
	struct addrinfo hints;
	char		host[256];
	char		port[8];
};

static lws_dll2_owner_t inflight;	/* of struct delivery */
static lws_dll2_owner_t orphans;	/* of struct lookup */
static lws_sorted_usec_list_t sul_orphans;
static struct delivery *connecting; /* in lws_client_connect_via_info */
static bool connecting_done;
static lws_sorted_usec_list_t sul_poll,
			sul_kick;
static bool claim_pending,
			report_pending,
			claim_again,
			enabled;		/* an endpoint is enabled (as of the last claim) */

/* results waiting for bridge_webhook_report: a JSON array being built */
static char *report_buf;
static size_t report_len,
			report_cap,
			report_count;

/* ----------------------------------------------------------- addresses */

enum addr_class
{
	ADDR_PUBLIC, ADDR_PRIVATE, ADDR_NEVER
};

/* The table of extension/webhook.c (webhook_url_check), on resolved addresses. */
static enum addr_class
ipv4_class(const uint8_t *a)
{
	if (a[0] == 169 && a[1] == 254 && a[2] == 169 && a[3] == 254)
		return ADDR_NEVER;
	if (a[0] == 0 || a[0] >= 224 || (a[0] == 192 && a[1] == 0 && a[2] == 0) ||
		(a[0] == 198 && (a[1] & 0xfe) == 18))
		return ADDR_NEVER;
	if (a[0] == 127 || a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
		(a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254) ||
		(a[0] == 100 && (a[1] & 0xc0) == 64))
		return ADDR_PRIVATE;
	return ADDR_PUBLIC;
}

static enum addr_class
ipv6_class(const uint8_t *a)
{
	static const uint8_t zero[10] = {0};

	if (memcmp(a, zero, 10) == 0 && ((a[10] == 0xff && a[11] == 0xff) || (a[10] == 0 && a[11] == 0)))
	{
		if (a[10] == 0 && a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1)
			return a[15] == 1 ? ADDR_PRIVATE : ADDR_NEVER;
		return ipv4_class(a + 12);
	}
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b)
		return ipv4_class(a + 12);
	if (a[0] == 0x20 && a[1] == 0x02)
		return ipv4_class(a + 2);
	if (a[0] == 0xfd && a[1] == 0x00 && a[2] == 0x0e && a[3] == 0xc2)
		return ADDR_NEVER;
	if (a[0] == 0xff)
		return ADDR_NEVER;
	if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
		return ADDR_PRIVATE;
	return ADDR_PUBLIC;
}

/* Whether d may connect to sa; writes its text form into d->addr. */
static bool
addr_allowed(struct delivery *d, const struct sockaddr *sa)
{
	enum addr_class cls;

	if (sa->sa_family == AF_INET)
	{
		const struct sockaddr_in *s4 = (const struct sockaddr_in *) sa;

		cls = ipv4_class((const uint8_t *) &s4->sin_addr);
		inet_ntop(AF_INET, &s4->sin_addr, d->addr, sizeof(d->addr));
	}
	else if (sa->sa_family == AF_INET6)
	{
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) sa;

		cls = ipv6_class((const uint8_t *) &s6->sin6_addr);
		inet_ntop(AF_INET6, &s6->sin6_addr, d->addr, sizeof(d->addr));
	}
	else
		return false;
	return cls == ADDR_PUBLIC || (cls == ADDR_PRIVATE && d->allow_private);
}

/* ------------------------------------------------------------- reports */

static void report_flush(void);
static void claim(void);
static void lookup_drop(struct lookup *l);
static void delivery_free(struct delivery *d);

static void
report_append(const char *s, size_t n)
{
	if (report_len + n + 1 > report_cap)
	{
		size_t		cap = report_cap ? report_cap * 2 : 4096;
		char	   *p;

		while (cap < report_len + n + 1)
			cap *= 2;
		if (!(p = realloc(report_buf, cap)))
		{
			log_error("webhooks: out of memory for reports");
			return;
		}
		report_buf = p;
		report_cap = cap;
	}
	memcpy(report_buf + report_len, s, n);
	report_len += n;
	report_buf[report_len] = '\0';
}

static void
delivery_free(struct delivery *d)
{
	free(d->url);
	free(d->delivery_id);
	free(d->event_type);
	free(d->body);
	free(d->signature);
	free(d);
}

static void
sul_orphans_cb(lws_sorted_usec_list_t *sul)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, p, p1, orphans.head)
	{
		struct lookup *l = lws_container_of(p, struct lookup, list);

		if (gai_error(&l->gai) != EAI_INPROGRESS)
		{
			lws_dll2_remove(&l->list);
			if (l->gai.ar_result)
				freeaddrinfo(l->gai.ar_result);
			free(l);
		}
	}
	lws_end_foreach_dll_safe(p, p1);
	if (orphans.count && !lifecycle_destroying())
		lws_sul_schedule(ctx, 0, sul, sul_orphans_cb, 100 * 1000);
}

/* Free a lookup now if the resolver is done with it, else later. */
static void
lookup_drop(struct lookup *l)
{
	if (gai_error(&l->gai) == EAI_INPROGRESS && gai_cancel(&l->gai) != EAI_CANCELED)
	{
		lws_dll2_add_tail(&l->list, &orphans);
		if (!lifecycle_destroying())
			lws_sul_schedule(ctx, 0, &sul_orphans, sul_orphans_cb, 100 * 1000);
		return;
	}
	if (l->gai.ar_result)
		freeaddrinfo(l->gai.ar_result);
	free(l);
}

/* End a delivery: queue its report, close its connection, free it. */
static void
finish(struct delivery *d, const char *error)
{
	char		head[160];
	int			n;
	struct jbuf jb;
	long long	latency = (long long) ((now_us() - d->t_start) / 1000);

	if (d->done)
		return;
	d->done = true;
	lws_sul_cancel(&d->sul_timeout);
	lws_sul_cancel(&d->sul_resolve);
	if (d->lookup)
	{
		lookup_drop(d->lookup);
		d->lookup = NULL;
	}
	if (d->wsi)
	{
		lws_set_opaque_user_data(d->wsi, NULL);
		lws_set_timeout(d->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		d->wsi = NULL;
	}

	n = snprintf(head, sizeof(head), "%s{\"id\":%lld,\"attempt\":%d,\"latency_ms\":%lld,\"status\":",
				 report_count ? "," : "[", d->id, d->attempt, latency);
	report_append(head, (size_t) n);
	if (d->status > 0)
		n = snprintf(head, sizeof(head), "%d", d->status);
	else
		n = snprintf(head, sizeof(head), "null");
	report_append(head, (size_t) n);
	report_append(",\"error\":", 9);
	if (error)
	{
		jb_init(&jb);
		jb_str(&jb, error, strlen(error));
		if (!jb.oom && jb.s)
			report_append(jb.s, jb.len);
		else
			report_append("null", 4);
		jb_free(&jb);
	}
	else
		report_append("null", 4);
	report_append("}", 1);
	report_count++;
	if (d->status >= 200 && d->status < 300)
		metrics_inc(M_WEBHOOKS_DELIVERED);
	else
		metrics_inc(M_WEBHOOKS_FAILED);
	log_debug("webhook %lld attempt %d to %s: %d %s", d->id, d->attempt, d->host, d->status,
			  error ? error : "");

	lws_dll2_remove(&d->list);
	if (d == connecting)
		connecting_done = true; /* connect_to() frees it */
	else
		delivery_free(d);
	report_flush();
	claim();
}

/* Errors after which the same report may succeed: connection, shutdown, resources, conflicts. */
static bool
retryable(const char *sqlstate)
{
	return !sqlstate || !strncmp(sqlstate, "08", 2) || !strncmp(sqlstate, "57", 2) ||
		!strncmp(sqlstate, "53", 2) || !strncmp(sqlstate, "40", 2) || !strncmp(sqlstate, "55", 2);
}

static void
report_done(struct job *job)
{
	char	   *sent = job->arg;

	report_pending = false;
	if (job->err && !retryable(job_sqlstate(job)))
	{
		/* the batch itself was refused: sending it again would fail again */
		metrics_inc(M_WEBHOOK_REPORT_ERRORS);
		log_warn("webhooks: reporting deliveries failed, batch dropped (their leases will run out): %s",
				 PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY));
		report_flush();
		return;
	}
	if (job->fail_code || job->err)
	{
		/*
		 * Keep the batch: merged in front of what came since, it goes again
		 * on the next flush.  The deliveries stay leased meanwhile; should
		 * the lease run out first, another claim sends them again (at least
		 * once) and these late reports no longer match an attempt.
		 */
		size_t		len = strlen(sent);

		metrics_inc(M_WEBHOOK_REPORT_ERRORS);
		log_warn("webhooks: reporting %s failed: %s", "deliveries",
				 job->err ? PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY) : job->fail_msg);
		if (report_count == 0)
		{
			report_len = 0;
			report_append(sent, len);
		}
		else
		{
			/* "[a,b]" + "[c,d" -> "[a,b,c,d" */
			char	   *rest = strdup(report_buf + 1);

			if (rest)
			{
				report_len = 0;
				report_append(sent, len - 1);
				report_append(",", 1);
				report_append(rest, strlen(rest));
				free(rest);
			}
		}
		report_count++;
		return;
	}
	report_flush();
}

static void
report_flush(void)
{
	const char *v[2] = {bridge_id, NULL};
	struct job *job;

	if (report_pending || report_count == 0 || !conn_up(sys) || lifecycle_destroying())
		return;
	report_append("]", 1);
	v[1] = report_buf;
	job = job_new(report_done, NULL);
	if (!job || job_add(job, SQL_WEBHOOK_REPORT, 2, v))
	{
		job_free(job);
		report_len--;			/* drop the "]" again */
		report_buf[report_len] = '\0';
		return;
	}
	job->arg = strdup(report_buf);
	job->free_arg = true;
	if (!job->arg || conn_submit(sys, job))
	{
		job_free(job);
		report_len--;
		report_buf[report_len] = '\0';
		return;
	}
	report_pending = true;
	report_len = 0;
	report_count = 0;
	report_buf[0] = '\0';
}

/* ------------------------------------------------------------ delivery */

/* The wsi is closing on its own (or is about to, by returning -1). */
static void
detach(struct delivery *d, struct lws *wsi)
{
	d->wsi = NULL;
	lws_set_opaque_user_data(wsi, NULL);
}

static void
sul_timeout_cb(lws_sorted_usec_list_t *sul)
{
	struct delivery *d = lws_container_of(sul, struct delivery, sul_timeout);
	char		msg[80];

	snprintf(msg, sizeof(msg), "no complete response within %d ms", d->timeout_ms);
	finish(d, msg);
}

static void
connect_to(struct delivery *d)
{
	struct lws_client_connect_info ci;
	struct lws *wsi;

	memset(&ci, 0, sizeof(ci));
	ci.context = ctx;
	ci.vhost = vhost;
	ci.address = d->addr;
	ci.port = atoi(d->port);
	ci.path = d->path;
	ci.host = d->host;
	ci.origin = d->host;
	ci.method = "POST";
	ci.protocol = NULL;
	ci.local_protocol_name = "webhook";
	ci.alpn = "http/1.1";
	ci.ssl_connection = LCCSCF_HTTP_NO_FOLLOW_REDIRECT | (d->tls ? LCCSCF_USE_SSL : 0);
	ci.opaque_user_data = d;

	/*
	 * The connection error callback can run inside the call and finish d:
	 * finish() then leaves freeing it to us.
	 */
	connecting = d;
	connecting_done = false;
	wsi = lws_client_connect_via_info(&ci);
	connecting = NULL;
	if (connecting_done)
		delivery_free(d);
	else if (!wsi)
		finish(d, "cannot start the connection");
	else
		d->wsi = wsi;
}

static void
sul_resolve_cb(lws_sorted_usec_list_t *sul)
{
	struct delivery *d = lws_container_of(sul, struct delivery, sul_resolve);
	struct lookup *l = d->lookup;
	int			rc = gai_error(&l->gai);
	char		msg[400];

	if (rc == EAI_INPROGRESS)
	{
		lws_sul_schedule(ctx, 0, &d->sul_resolve, sul_resolve_cb, 2000);
		return;
	}
	if (rc != 0)
	{
		snprintf(msg, sizeof(msg), "cannot resolve %s: %s", d->host, gai_strerror(rc));
		finish(d, msg);
		return;
	}
	for (struct addrinfo *ai = l->gai.ar_result; ai; ai = ai->ai_next)
		if (addr_allowed(d, ai->ai_addr))
		{
			lookup_drop(l);
			d->lookup = NULL;
			connect_to(d);
			return;
		}
	snprintf(msg, sizeof(msg), "%s resolves to %s, an address webhooks may not use", d->host, d->addr);
	finish(d, msg);
}

/*
 * The URL was checked and normalized by the extension:
 * scheme://host[:port]/path, the host lower-case, IPv6 in brackets.
 */
static bool
parse_url(struct delivery *d)
{
	const char *p = d->url;
	const char *h;
	size_t		n;

	if (!strncmp(p, "https://", 8))
	{
		d->tls = true;
		p += 8;
	}
	else if (!strncmp(p, "http://", 7))
		p += 7;
	else
		return false;
	if (*p == '[')
	{
		h = ++p;
		p = strchr(p, ']');
		if (!p)
			return false;
		n = (size_t) (p - h);
		p++;
	}
	else
	{
		h = p;
		n = strcspn(p, ":/?");
		p += n;
	}
	if (n == 0 || n >= sizeof(d->host))
		return false;
	memcpy(d->host, h, n);
	d->host[n] = '\0';
	if (*p == ':')
	{
		n = strspn(++p, "0123456789");
		if (n == 0 || n >= sizeof(d->port))
			return false;
		memcpy(d->port, p, n);
		d->port[n] = '\0';
		p += n;
	}
	else
		strcpy(d->port, d->tls ? "443" : "80");
	d->path = *p ? p : "/";
	return true;
}

static void
start(struct delivery *d)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct lookup *l;
	int			rc;

	d->t_start = now_us();
	lws_sul_schedule(ctx, 0, &d->sul_timeout, sul_timeout_cb, (lws_usec_t) d->timeout_ms * 1000);
	if (!parse_url(d))
	{
		finish(d, "the URL cannot be parsed");
		return;
	}
	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, d->host, &s4.sin_addr) == 1 || inet_pton(AF_INET6, d->host, &s6.sin6_addr) == 1)
	{
		s4.sin_family = AF_INET;
		s6.sin6_family = AF_INET6;
		if (!addr_allowed(d, strchr(d->host, ':') ? (struct sockaddr *) &s6 : (struct sockaddr *) &s4))
		{
			finish(d, "the address is one webhooks may not use");
			return;
		}
		connect_to(d);
		return;
	}
	if (!(l = calloc(1, sizeof(*l))))
	{
		finish(d, "out of memory");
		return;
	}
	snprintf(l->host, sizeof(l->host), "%s", d->host);
	snprintf(l->port, sizeof(l->port), "%s", d->port);
	l->hints.ai_family = AF_UNSPEC;
	l->hints.ai_socktype = SOCK_STREAM;
	l->gai.ar_name = l->host;
	l->gai.ar_service = l->port;
	l->gai.ar_request = &l->hints;
	l->gaip = &l->gai;
	rc = getaddrinfo_a(GAI_NOWAIT, &l->gaip, 1, NULL);
	if (rc != 0)
	{
		free(l);
		finish(d, gai_strerror(rc));
		return;
	}
	d->lookup = l;
	lws_sul_schedule(ctx, 0, &d->sul_resolve, sul_resolve_cb, 1000);
}

int
webhook_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
					void *in, size_t len)
{
	struct delivery *d = lws_get_opaque_user_data(wsi);
	char		msg[200];

	(void) user;
	switch (reason)
	{
		case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
			{
				unsigned char **p = (unsigned char **) in,
						   *end = (*p) + len;
				char		n[24];
				char		attempt[16];

				if (!d)
					return -1;
				snprintf(n, sizeof(n), "%zu", d->body_len);
				snprintf(attempt, sizeof(attempt), "%d", d->attempt);
				if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
												 (const unsigned char *) "application/json", 16, p, end) ||
					lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
												 (const unsigned char *) n, (int) strlen(n), p, end) ||
					lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_USER_AGENT,
												 (const unsigned char *) "pgcall-webhooks/" BRIDGE_VERSION,
												 (int) strlen("pgcall-webhooks/" BRIDGE_VERSION), p, end) ||
					lws_add_http_header_by_name(wsi, (const unsigned char *) "pgcall-signature:",
												(const unsigned char *) d->signature,
												(int) strlen(d->signature), p, end) ||
					lws_add_http_header_by_name(wsi, (const unsigned char *) "pgcall-delivery:",
												(const unsigned char *) d->delivery_id,
												(int) strlen(d->delivery_id), p, end) ||
					lws_add_http_header_by_name(wsi, (const unsigned char *) "pgcall-event:",
												(const unsigned char *) d->event_type,
												(int) strlen(d->event_type), p, end) ||
					lws_add_http_header_by_name(wsi, (const unsigned char *) "pgcall-attempt:",
												(const unsigned char *) attempt,
												(int) strlen(attempt), p, end))
					return -1;
				lws_client_http_body_pending(wsi, 1);
				lws_callback_on_writable(wsi);
				return 0;
			}

		case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
			{
				unsigned char buf[LWS_PRE + 4096];
				size_t		n;
				bool		last;

				if (!d)
					return -1;
				n = d->body_len - d->sent;
				if (n > sizeof(buf) - LWS_PRE)
					n = sizeof(buf) - LWS_PRE;
				last = d->sent + n == d->body_len;
				memcpy(buf + LWS_PRE, d->body + d->sent, n);
				if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int) n)
					return -1;
				d->sent += n;
				if (last)
					lws_client_http_body_pending(wsi, 0);
				else
					lws_callback_on_writable(wsi);
				return 0;
			}

		case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
			if (d)
				d->status = (int) lws_http_client_http_response(wsi);
			return 0;

		case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
			{
				char		buf[LWS_PRE + 2048];
				char	   *px = buf + LWS_PRE;
				int			lenx = (int) sizeof(buf) - LWS_PRE;

				if (!d)
					return -1;
				if (lws_http_client_read(wsi, &px, &lenx) < 0)
					return -1;
				return 0;
			}

		case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
			if (!d)
				return -1;
			d->received += len;
			if (d->received > d->response_max)
			{
				/* the status decides; the body is only read up to the cap */
				snprintf(msg, sizeof(msg), "response body longer than %zu bytes: not read further",
						 d->response_max);
				detach(d, wsi);
				finish(d, d->status >= 200 && d->status < 300 ? NULL : msg);
				return -1;
			}
			return 0;

		case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
			if (!d)
				return -1;
			detach(d, wsi);
			if (d->status >= 200 && d->status < 300)
				finish(d, NULL);
			else
			{
				snprintf(msg, sizeof(msg), "HTTP %d%s", d->status,
						 d->status >= 300 && d->status < 400 ? " (redirects are not followed)" : "");
				finish(d, msg);
			}
			return -1;

		case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
			if (d)
			{
				detach(d, wsi);
				snprintf(msg, sizeof(msg), "connection to %s failed: %s", d->addr,
						 in && len ? (const char *) in : "no reason given");
				/* in is not always terminated within len */
				if (in && len && len < 120)
					snprintf(msg, sizeof(msg), "connection to %s failed: %.*s", d->addr,
							 (int) len, (const char *) in);
				finish(d, msg);
			}
			return 0;

		case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
			if (d)
			{
				detach(d, wsi);
				if (d->status >= 200 && d->status < 300)
					finish(d, NULL);	/* acknowledged; the body was cut short */
				else if (d->status > 0)
				{
					snprintf(msg, sizeof(msg), "HTTP %d, then the connection closed", d->status);
					finish(d, msg);
				}
				else
					finish(d, "the connection closed before a response");
			}
			return 0;

		default:
			return 0;
	}
}

/* -------------------------------------------------------------- claims */

static char *
dup_field(PGresult *res, int row, int col)
{
	return strdup(PQgetvalue(res, row, col));
}

static void
claim_done(struct job *job)
{
	PGresult   *res = job->res[0];
	int			rows;
	int			asked = (int) (intptr_t) job->arg;

	claim_pending = false;
	if (job->fail_code || job->err || !res)
	{
		if (job->err)
		{
			metrics_inc(M_WEBHOOK_CLAIM_ERRORS);
			log_warn("webhooks: claiming deliveries failed: %s",
					 PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY));
		}
		return;
	}
	rows = PQntuples(res);
	if (job->res[1] && PQntuples(job->res[1]) == 1)
		enabled = PQgetvalue(job->res[1], 0, 0)[0] == 't';
	for (int r = 0; r < rows; r++)
	{
		struct delivery *d = calloc(1, sizeof(*d));

		if (!d)
			break;
		d->id = atoll(PQgetvalue(res, r, 0));
		d->attempt = atoi(PQgetvalue(res, r, 1));
		d->url = dup_field(res, r, 2);
		d->delivery_id = dup_field(res, r, 3);
		d->event_type = dup_field(res, r, 4);
		d->body = dup_field(res, r, 5);
		d->body_len = d->body ? strlen(d->body) : 0;
		d->signature = dup_field(res, r, 6);
		d->timeout_ms = atoi(PQgetvalue(res, r, 7));
		d->response_max = (size_t) atol(PQgetvalue(res, r, 8));
		d->allow_private = PQgetvalue(res, r, 9)[0] == 't';
		lws_dll2_add_tail(&d->list, &inflight);
		metrics_inc(M_WEBHOOK_ATTEMPTS);
		if (!d->url || !d->delivery_id || !d->event_type || !d->body || !d->signature)
		{
			finish(d, "out of memory");
			continue;
		}
		start(d);
	}
	/* a full batch: there may be more due right now */
	if (rows >= asked || claim_again)
	{
		claim_again = false;
		claim();
	}
}

static void
claim(void)
{
	char		bmax[16];
	const char *v[2] = {bridge_id, bmax};
	int			room = cfg->webhook_inflight - (int) inflight.count;
	struct job *job;

	if (cfg->webhook_inflight <= 0 || lifecycle_draining() || room <= 0)
		return;
	if (claim_pending)
	{
		claim_again = true;
		return;
	}
	if (!conn_up(sys))
		return;
	snprintf(bmax, sizeof(bmax), "%d", room);
	job = job_new(claim_done, NULL);
	if (!job || job_add(job, SQL_WEBHOOK_CLAIM, 2, v) || job_add(job, SQL_WEBHOOK_ENABLED, 0, NULL))
	{
		job_free(job);
		return;
	}
	job->arg = (void *) (intptr_t) room;
	if (conn_submit(sys, job))
	{
		job_free(job);
		return;
	}
	claim_pending = true;
}

static void
sul_kick_cb(lws_sorted_usec_list_t *sul)
{
	(void) sul;
	claim();
}

static void
sul_poll_cb(lws_sorted_usec_list_t *sul)
{
	report_flush();
	claim();
	lws_sul_schedule(ctx, 0, sul, sul_poll_cb, (lws_usec_t) cfg->webhook_poll_ms * 1000);
}

/*
 * Something committed (an event notification): claim soon, if any endpoint
 * is enabled.  Without one, each commit would cost the system connection a
 * round trip for nothing; a new endpoint is seen by the next poll.
 */
void
webhook_kick(void)
{
	if (cfg && cfg->webhook_inflight > 0 && enabled)
		lws_sul_schedule(ctx, 0, &sul_kick, sul_kick_cb, 1);
}

void
webhook_start(const struct config *config, struct lws_context *context, struct lws_vhost *vh,
			  const char *id, struct pgconn *system)
{
	cfg = config;
	ctx = context;
	vhost = vh;
	bridge_id = id;
	sys = system;
	if (cfg->webhook_inflight > 0)
		lws_sul_schedule(ctx, 0, &sul_poll, sul_poll_cb, 1);
}

int
webhook_inflight_count(void)
{
	return (int) inflight.count;
}

/* After lws_context_destroy: free what is left (leases run out in the database). */
void
webhook_stop(void)
{
	while (inflight.head)
	{
		struct delivery *d = lws_container_of(inflight.head, struct delivery, list);

		d->wsi = NULL;
		finish(d, "the bridge stopped");
	}
	/* lookups the resolver still holds are left to it: the process ends */
	lws_start_foreach_dll_safe(struct lws_dll2 *, p, p1, orphans.head)
	{
		struct lookup *l = lws_container_of(p, struct lookup, list);

		if (gai_error(&l->gai) != EAI_INPROGRESS)
		{
			lws_dll2_remove(&l->list);
			if (l->gai.ar_result)
				freeaddrinfo(l->gai.ar_result);
			free(l);
		}
	}
	lws_end_foreach_dll_safe(p, p1);
	free(report_buf);
	report_buf = NULL;
	report_len = report_cap = report_count = 0;
}
