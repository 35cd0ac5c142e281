/*
 * listen.c: the bridge's own listening socket, and the first request head of
 * every plain-HTTP connection, read before libwebsockets sees it.
 *
 * libwebsockets 4.1 closes some malformed requests without a status, or
 * stalls on them (httphead.c lists them).  So the bridge accepts
 * connections itself and looks at each one's first request head (peeking,
 * up to HEAD_MAX_BYTES) on the event loop: accepted sockets wait in an
 * epoll set whose descriptor is adopted into the lws loop as a raw file, so
 * nothing blocks and lws never sees them.  When httphead_check() accepts the
 * head, the socket goes to lws with lws_adopt_socket_vhost(), untouched (the
 * head was only peeked at), and from there on it is an ordinary lws
 * connection: lws reads the head, any body and any pipelined request
 * behind it, and later requests on it are lws's to parse (http.c).  (Handing
 * lws the bytes already read with lws_adopt_socket_vhost_readbuf() instead
 * made 4.1.6 deliver BODY_COMPLETION twice for every POST.)  When the
 * check refuses the head, the client gets the status and a JSON error here,
 * the connection closes, and lws never hears of it.
 *
 * A connection whose head does not arrive within --header-timeout gets a
 * 408 when it sent something and is closed silently when it sent nothing.
 * After an error reply the socket is shut for writing and read (and
 * discarded) for LINGER_MS before it is closed, so that what the client
 * still sends does not reset the connection before it reads the reply.
 *
 * Waiting connections hold no lws header table, only a 16-byte record until
 * their first byte and then an 8 kB buffer.  Deadlines are the same for all,
 * so each list is in deadline order and one timer serves it.
 *
 * With TLS (--tls-cert) none of this runs: lws listens and reads itself.
 */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "httphead.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "request.h"

static const struct config *cfg;
static struct lws_context *ctx;
static struct lws_vhost *vhost;

#define LINGER_MS 2000			/* reading after an error reply */
#define ACCEPT_BURST 256		/* accepts per wake-up */
#define EVENTS 64

/* lws must hold whatever httphead_check() lets through */
_Static_assert(HEAD_MAX_PARTS + 3 < WSI_TOKEN_COUNT, "more parts than lws has fragments");

enum pend_state
{
	PEND_HEAD,					/* reading the first request head */
	PEND_LINGER					/* answered: reading until the client closes */
};

struct pending
{
	lws_dll2_t	link;			/* heads or lingering, in deadline order */
	int			fd;
	bool		dead;			/* freed once the current epoll batch is done */
	enum pend_state state;
	uint64_t	deadline;		/* usec, now_us() */
	size_t		len;
	char	   *buf;			/* HEAD_MAX_BYTES, from the first byte on */
};

static int	efd = -1;
static int	lfd = -1;				/* --port */
static int	dfd[MAX_DIALECTS];		/* each --dialect's port (0: none) */
static struct lws *ewsi;
static lws_dll2_owner_t heads,
			lingering,
			ready;				/* accepted heads, for adopt_cb() */
static lws_dll2_owner_t graveyard;	/* freed while an epoll batch is read */
static bool in_batch;
static lws_sorted_usec_list_t sul_adopt;
static lws_sorted_usec_list_t sul_sweep;
static uint64_t sweep_at;
static int	listen_marker[1 + MAX_DIALECTS];	/* epoll data of the listening sockets */

static void schedule_sweep(void);
static void pend_read(struct pending *p, bool hup);

/*
 * Close and forget a connection.  Its epoll registration goes first, by
 * name: the batch being handled may still hold an event that points at p,
 * so while a batch is read p only moves to the graveyard, and the batch's
 * loop skips it and frees it at the end.
 */
static void
pend_free(struct pending *p)
{
	lws_dll2_remove(&p->link);
	if (p->fd >= 0)
	{
		if (efd >= 0)
			epoll_ctl(efd, EPOLL_CTL_DEL, p->fd, NULL);
		close(p->fd);
		p->fd = -1;
	}
	free(p->buf);
	p->buf = NULL;
	if (in_batch)
	{
		p->dead = true;
		lws_dll2_add_tail(&p->link, &graveyard);
		return;
	}
	free(p);
}

/* Into a list whose members all wait the same time: the tail is the latest. */
static void
pend_wait(struct pending *p, lws_dll2_owner_t *list, uint64_t after_us)
{
	lws_dll2_remove(&p->link);
	p->deadline = now_us() + after_us;
	lws_dll2_add_tail(&p->link, list);
	schedule_sweep();
}

/*
 * The reply to a refused head: status line, JSON error, Connection: close.
 * It is small and the socket is fresh, so one send() takes it whole.
 */
static void
pend_answer(struct pending *p, const struct head_error *e)
{
	static const struct
	{
		int			status;
		const char *text;
	}			reasons[] = {
		{400, "Bad Request"}, {408, "Request Timeout"}, {414, "URI Too Long"},
		{431, "Request Header Fields Too Large"}, {501, "Not Implemented"},
		{505, "HTTP Version Not Supported"},
	};
	const char *reason = "Error";
	struct reply r = {0};
	struct jbuf b;
	char	   *msg;
	size_t		mlen;

	for (size_t i = 0; i < LWS_ARRAY_SIZE(reasons); i++)
		if (reasons[i].status == e->status)
			reason = reasons[i].text;
	reply_error(&r, e->status, e->code, e->message, NULL, e->hint);
	jb_init(&b);
	jb_printf(&b, "HTTP/1.1 %d %s\r\nserver: pgcall-bridge\r\n"
			  "content-type: application/json; charset=utf-8\r\n"
			  "content-length: %zu\r\nconnection: close\r\n\r\n",
			  e->status, reason, r.body ? r.len : 0);
	if (r.body)
		jb_put(&b, r.body, r.len);
	msg = jb_take(&b, &mlen);
	if (msg && send(p->fd, msg, mlen, MSG_NOSIGNAL | MSG_DONTWAIT) > 0 &&
		e->status >= 100 && e->status < 600)
		metrics_http_status(e->status);
	free(msg);
	reply_clear(&r);
	shutdown(p->fd, SHUT_WR);
	p->state = PEND_LINGER;
	free(p->buf);
	p->buf = NULL;
	p->len = 0;
	pend_wait(p, &lingering, LINGER_MS * 1000);
	pend_read(p, false);		/* what was only peeked at goes now */
}

/*
 * The head is acceptable: lws takes the socket, and reads the head itself
 * (it was only peeked at), less the empty lines before it, which lws 4.1
 * would take for a request of its own.
 */
static void
adopt_cb(lws_sorted_usec_list_t *sul)
{
	(void) sul;
	while (ready.head)
	{
		struct pending *p = lws_container_of(ready.head, struct pending, link);
		int			fd = p->fd;

		p->fd = -1;
		pend_free(p);
		/* lws closes the socket itself when it fails */
		lws_adopt_socket_vhost(vhost, fd);
	}
}

static void
pend_hand_over(struct pending *p, size_t skip)
{
	char		sink[64];

	epoll_ctl(efd, EPOLL_CTL_DEL, p->fd, NULL);
	while (skip > 0)
	{
		ssize_t		n = read(p->fd, sink, skip < sizeof(sink) ? skip : sizeof(sink));

		if (n <= 0)
		{
			pend_free(p);
			return;
		}
		skip -= (size_t) n;
	}
	/* adopted outside any callback of the epoll descriptor's */
	lws_dll2_remove(&p->link);
	lws_dll2_add_tail(&p->link, &ready);
	lws_sul_schedule(ctx, 0, &sul_adopt, adopt_cb, 1);
}

/*
 * Look at what the socket holds.  The head is peeked at, not read: lws
 * reads it from the socket as if nothing had happened, so a connection that
 * passes is exactly what it was (the socket is edge-triggered, so data that
 * stays unread does not wake the loop again).  After an error reply, what
 * comes is read and dropped.
 */
static void
pend_read(struct pending *p, bool hup)
{
	struct head_error e;
	enum head_result res;
	size_t		skip = 0,
				head_len = 0,
				before = p->len;
	ssize_t		n;

	if (p->state == PEND_LINGER)
	{
		char		sink[4096];

		while ((n = read(p->fd, sink, sizeof(sink))) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			pend_free(p);
		return;
	}
	if (!p->buf && !(p->buf = malloc(HEAD_MAX_BYTES)))
	{
		pend_free(p);
		return;
	}
	do
		n = recv(p->fd, p->buf, HEAD_MAX_BYTES, MSG_PEEK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
	{
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			pend_free(p);		/* reset by the client */
		return;
	}
	if (n == 0)
	{
		pend_free(p);			/* connected and left, or left with nothing said */
		return;
	}
	p->len = (size_t) n;
	/* a new line, a full buffer or the client's end: time to look */
	if (!hup && p->len < HEAD_MAX_BYTES && (p->len <= before ||
											!memchr(p->buf + before, '\n', p->len - before)))
	{
		/* ... or bytes that cannot start a request line */
		if (before > 0 || httphead_check(p->buf, p->len, false, &skip, &head_len, &e) != HEAD_BAD)
			return;
	}
	res = httphead_check(p->buf, p->len, hup, &skip, &head_len, &e);
	if (res == HEAD_OK)
		pend_hand_over(p, skip);
	else if (res == HEAD_BAD)
		pend_answer(p, &e);
}

static void
on_accept(int lsock)
{
	for (int i = 0; i < ACCEPT_BURST; i++)
	{
		int			fd = accept4(lsock, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev;
		struct pending *p;
		int			one = 1;

		if (fd < 0)
		{
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				log_warn("cannot accept a connection: %s", strerror(errno));
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		p = calloc(1, sizeof(*p));
		if (!p)
		{
			close(fd);
			continue;
		}
		p->fd = fd;
		p->state = PEND_HEAD;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
		ev.data.ptr = p;
		if (epoll_ctl(efd, EPOLL_CTL_ADD, fd, &ev) != 0)
		{
			pend_free(p);
			continue;
		}
		pend_wait(p, &heads, (uint64_t) cfg->header_timeout_s * 1000000);
		/* the request often came with the connection */
		pend_read(p, false);
	}
}

static void
sweep_cb(lws_sorted_usec_list_t *sul)
{
	uint64_t	now = now_us();

	(void) sul;
	sweep_at = 0;
	while (heads.head)
	{
		struct pending *p = lws_container_of(heads.head, struct pending, link);
		struct head_error e = {408, "PGRST408", "The request headers did not arrive in time",
		"Send complete request headers within the header timeout."};
		size_t		skip,
					head_len;

		if (p->deadline > now)
			break;
		if (p->len == 0)
		{
			pend_free(p);		/* idle: closed without a word, as lws did */
			continue;
		}
		/* what arrived may already be wrong: say that rather than 408 */
		if (httphead_check(p->buf, p->len, false, &skip, &head_len, &e) == HEAD_OK)
			pend_hand_over(p, skip);
		else
			pend_answer(p, &e);
	}
	while (lingering.head)
	{
		struct pending *p = lws_container_of(lingering.head, struct pending, link);

		if (p->deadline > now)
			break;
		pend_free(p);
	}
	schedule_sweep();
}

static void
schedule_sweep(void)
{
	uint64_t	at = 0;

	if (heads.head)
		at = lws_container_of(heads.head, struct pending, link)->deadline;
	if (lingering.head)
	{
		uint64_t	l = lws_container_of(lingering.head, struct pending, link)->deadline;

		if (!at || l < at)
			at = l;
	}
	if (!at || at == sweep_at || !ctx)
		return;
	sweep_at = at;
	lws_sul_schedule(ctx, 0, &sul_sweep, sweep_cb,
					 (lws_usec_t) (at > now_us() ? at - now_us() : 0) + 1);
}

int
listen_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
				   void *in, size_t len)
{
	struct epoll_event ev[EVENTS];
	int			n;

	(void) user;
	(void) in;
	(void) len;
	switch (reason)
	{
		case LWS_CALLBACK_RAW_RX_FILE:
			if (wsi != ewsi)
				return 0;
			n = epoll_wait(efd, ev, EVENTS, 0);
			in_batch = true;
			for (int i = 0; i < n; i++)
			{
				struct pending *p = ev[i].data.ptr;

				if ((int *) ev[i].data.ptr >= listen_marker &&
					(int *) ev[i].data.ptr < listen_marker + 1 + MAX_DIALECTS)
					on_accept(*(int *) ev[i].data.ptr);
				else if (!p->dead)
					pend_read(p, (ev[i].events & (EPOLLRDHUP | EPOLLHUP)) != 0);
			}
			in_batch = false;
			while (graveyard.head)
			{
				struct pending *p = lws_container_of(graveyard.head, struct pending, link);

				lws_dll2_remove(&p->link);
				free(p);
			}
			return 0;
		case LWS_CALLBACK_RAW_CLOSE_FILE:
			if (wsi == ewsi)
			{
				ewsi = NULL;
				efd = -1;		/* lws closed it */
			}
			return 0;
		default:
			return 0;
	}
}

/* ------------------------------------------------------------- binding */

/*
 * The address --listen names, as lws bound it before: "*", "::" or "" all
 * addresses (IPv6 and IPv4), "0.0.0.0" all IPv4 ones, a literal address
 * that one, or an interface name its first IPv4 address (else its IPv6
 * one).
 */
static int
listen_addr(const char *listen, int port, struct sockaddr_storage *ss, socklen_t *sl,
			bool *dual)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;
	struct ifaddrs *ifs,
			   *best = NULL;

	memset(ss, 0, sizeof(*ss));
	*dual = false;
	if (!listen[0] || !strcmp(listen, "*") || !strcmp(listen, "::"))
	{
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons((uint16_t) port);
		*sl = sizeof(*s6);
		*dual = true;
		return 0;
	}
	if (inet_pton(AF_INET, listen, &s4->sin_addr) == 1)
	{
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t) port);
		*sl = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, listen, &s6->sin6_addr) == 1)
	{
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t) port);
		*sl = sizeof(*s6);
		return 0;
	}
	if (getifaddrs(&ifs) != 0)
		return -1;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next)
		if (i->ifa_addr && !strcmp(i->ifa_name, listen) &&
			(i->ifa_addr->sa_family == AF_INET ||
			 (i->ifa_addr->sa_family == AF_INET6 && !best)))
		{
			best = i;
			if (i->ifa_addr->sa_family == AF_INET)
				break;
		}
	if (best)
	{
		*sl = best->ifa_addr->sa_family == AF_INET ? sizeof(*s4) : sizeof(*s6);
		memcpy(ss, best->ifa_addr, *sl);
		if (best->ifa_addr->sa_family == AF_INET)
			s4->sin_port = htons((uint16_t) port);
		else
			s6->sin6_port = htons((uint16_t) port);
	}
	freeifaddrs(ifs);
	return best ? 0 : -1;
}

/* A listening socket on --listen and port, or -1. */
static int
listen_socket(int port)
{
	struct sockaddr_storage ss;
	socklen_t	sl;
	bool		dual;
	int			one = 1,
				zero = 0;
	int			fd;

	if (listen_addr(cfg->listen, port, &ss, &sl, &dual) != 0)
	{
		log_error("cannot listen on %s: no such address or interface", cfg->listen);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && dual)
	{
		/* no IPv6 here: all IPv4 addresses then */
		struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;

		memset(&ss, 0, sizeof(ss));
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t) port);
		sl = sizeof(*s4);
		dual = false;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (dual)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *) &ss, sl) != 0 || listen(fd, SOMAXCONN) != 0)
	{
		log_error("cannot listen on port %d: %s", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Listen on --listen/--port, and on the port of each --dialect, and start
 * waiting for connections; 0 on success.  The vhost must have been created
 * without a port of its own.  Connections from every port are alike from
 * here on; http.c asks dialect_of() which port one came to.
 */
int
listen_start(const struct config *config, struct lws_context *context, struct lws_vhost *vh)
{
	struct epoll_event ev;
	lws_adopt_desc_t ad;

	cfg = config;
	ctx = context;
	vhost = vh;
	if ((lfd = listen_socket(cfg->port)) < 0)
		return -1;
	for (int i = 0; i < cfg->ndialects; i++)
		if ((dfd[i] = listen_socket(cfg->dialects[i].port)) < 0)
			return -1;
	efd = epoll_create1(EPOLL_CLOEXEC);
	if (efd < 0)
		return -1;
	for (int i = 0; i <= cfg->ndialects; i++)
	{
		listen_marker[i] = i == 0 ? lfd : dfd[i - 1];
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &listen_marker[i];
		if (epoll_ctl(efd, EPOLL_CTL_ADD, listen_marker[i], &ev) != 0)
			return -1;
	}
	memset(&ad, 0, sizeof(ad));
	ad.vh = vhost;
	ad.type = LWS_ADOPT_RAW_FILE_DESC;
	ad.fd.filefd = efd;
	ad.vh_prot_name = "listen";
	ewsi = lws_adopt_descriptor_vhost_via_info(&ad);
	if (!ewsi)
	{
		close(efd);
		efd = -1;
		return -1;
	}
	return 0;
}

/* After lws_context_destroy(): close what lws never owned. */
void
listen_stop(void)
{
	while (heads.head)
		pend_free(lws_container_of(heads.head, struct pending, link));
	while (lingering.head)
		pend_free(lws_container_of(lingering.head, struct pending, link));
	while (ready.head)
		pend_free(lws_container_of(ready.head, struct pending, link));
	if (lfd >= 0)
		close(lfd);
	lfd = -1;
	for (int i = 0; i < MAX_DIALECTS; i++)
	{
		if (dfd[i] > 0)
			close(dfd[i]);
		dfd[i] = 0;
	}
}
