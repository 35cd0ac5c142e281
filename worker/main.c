/*
 * main.c: the entry point.  It loads the options, creates the
 * libwebsockets context, hands every module what it needs through its init
 * function (options, context, the connections db.c owns, the callbacks
 * that carry news upward), runs the loop, and shuts down gracefully.  It
 * is the only file that sees struct bridge, and the only one that knows
 * every module.
 *
 * One thread, one libwebsockets poll loop.  SIGTERM and SIGINT are blocked
 * and read from a signalfd adopted into the loop, so shutdown runs as an
 * ordinary callback: stop taking work, send close 1001 to every socket,
 * wait (at most --shutdown-grace) for requests in flight and sockets to
 * finish, tell the database this bridge is gone, leave the loop, then
 * destroy the context and finish the database connections.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "db.h"
#include "fanout.h"
#include "http.h"
#include "http_routes.h"
#include "lifecycle.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "demo.h"
#include "dialect_http.h"
#include "request.h"
#include "session.h"
#include "sio_ws.h"
#include "statements.h"
#include "sweep.h"
#include "webhook.h"
#include "ws.h"

/* The server: what only the entry point holds. */
static struct bridge
{
	struct config cfg;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	char		id[37];
}			B;

static struct lws_protocols protocols[7];	/* and the terminator */
static lws_sorted_usec_list_t sul_grace;

/* ------------------------------------------------ what the modules report */

static void
sys_ready(struct pgconn *c)
{
	(void) c;
	sweep_sys_ready();
	session_presence_resync();
}

static void
sys_down(struct pgconn *c)
{
	(void) c;
	sweep_sys_down();
}

/* A commit with events may have written webhook deliveries too. */
static void
on_notify(struct pgconn *c, PGnotify *n)
{
	fanout_notify(c, n);
	webhook_kick();
}

static long long
gauge_pool_size(void)
{
	return B.cfg.pool_size;
}

static long long
gauge_pool_up(void)
{
	return pool_up_count();
}

static long long
gauge_pool_busy(void)
{
	return pool_busy_count();
}

static long long
gauge_pool_queue(void)
{
	return pool_queue_len();
}

static long long
gauge_listener_up(void)
{
	return fanout_live();
}

static long long
gauge_event_cursor(void)
{
	return (long long) fanout_cursor();
}

static long long
gauge_websockets(void)
{
	return session_count();
}

static long long
gauge_users(void)
{
	return session_user_count();
}

static long long
gauge_sio_polling(void)
{
	return sio_poll_count(false);
}

static long long
gauge_sio_waiting(void)
{
	return sio_poll_count(true);
}

static long long
gauge_http_in_flight(void)
{
	return http_inflight_count();
}

static long long
gauge_webhooks_in_flight(void)
{
	return webhook_inflight_count();
}

static void
metrics_sources(void)
{
	metrics_gauge_source(G_POOL_SIZE, gauge_pool_size);
	metrics_gauge_source(G_POOL_UP, gauge_pool_up);
	metrics_gauge_source(G_POOL_BUSY, gauge_pool_busy);
	metrics_gauge_source(G_POOL_QUEUE, gauge_pool_queue);
	metrics_gauge_source(G_LISTENER_UP, gauge_listener_up);
	metrics_gauge_source(G_EVENT_CURSOR, gauge_event_cursor);
	metrics_gauge_source(G_WEBSOCKETS, gauge_websockets);
	metrics_gauge_source(G_USERS, gauge_users);
	metrics_gauge_source(G_SIO_POLLING, gauge_sio_polling);
	metrics_gauge_source(G_SIO_POLLS_WAITING, gauge_sio_waiting);
	metrics_gauge_source(G_HTTP_IN_FLIGHT, gauge_http_in_flight);
	metrics_gauge_source(G_WEBHOOKS_IN_FLIGHT, gauge_webhooks_in_flight);
}

/* ------------------------------------------------------------ shutdown */

static void
unregistered(void)
{
	lifecycle_advance(STAGE_STOPPING);
}

/* lifecycle_work_done(): while draining, whether the last piece of work ended. */
static void
check_drained(void)
{
	if (!lifecycle_draining() || lifecycle_stopping())
		return;
	if (http_inflight_count() > 0 || session_count() > 0)
		return;
	sweep_unregister(unregistered);
}

static void
sul_grace_cb(lws_sorted_usec_list_t *sul)
{
	(void) sul;
	if (lifecycle_stopping())
		return;
	if (http_inflight_count() || session_count())
		log_warn("shutdown grace ended with %d requests in flight and %d sockets open",
				 http_inflight_count(), session_count());
	if (!sweep_unregistering())
		sweep_unregister(unregistered);
	else
		lifecycle_advance(STAGE_STOPPING);	/* the database did not answer either */
}

static void
shutdown_begin(void)
{
	if (lifecycle_draining())
	{
		log_warn("second signal: stopping now");
		lifecycle_advance(STAGE_STOPPING);
		return;
	}
	lifecycle_advance(STAGE_DRAINING);
	log_info("shutting down: %d requests in flight, %d sockets", http_inflight_count(),
			 session_count());
	session_close_all();
	lws_sul_schedule(B.ctx, 0, &sul_grace, sul_grace_cb,
					 (lws_usec_t) B.cfg.shutdown_grace_ms * 1000 + 1);
	check_drained();
}

static int
signal_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct signalfd_siginfo si;

	(void) user;
	(void) in;
	(void) len;
	if (reason != LWS_CALLBACK_RAW_RX_FILE)
		return 0;
	while (read(lws_get_socket_fd(wsi), &si, sizeof(si)) == (ssize_t) sizeof(si))
	{
		log_info("received %s", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
		shutdown_begin();
	}
	return 0;
}

static int
watch_signals(void)
{
	sigset_t	mask;
	int			fd;
	lws_adopt_desc_t ad;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
		(fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return -1;
	memset(&ad, 0, sizeof(ad));
	ad.vh = B.vh;
	ad.type = LWS_ADOPT_RAW_FILE_DESC;
	ad.fd.filefd = fd;
	ad.vh_prot_name = "signal";
	if (!lws_adopt_descriptor_vhost_via_info(&ad))
	{
		close(fd);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- startup */

/*
 * Every client costs a descriptor: take the hard limit, and return the
 * number we may use.
 */
static rlim_t
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max)
	{
		rlim_t		soft = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			rl.rlim_cur = soft;
	}
	return rl.rlim_cur;
}

/*
 * libwebsockets gives each connection a header table (an "ah", about 9 kB,
 * allocated on demand) from accept until its request headers are complete,
 * and a connection that finds the pool empty waits, unserved, until one is
 * freed.  With the default pool of 256, that many idle or slowloris sockets
 * stalled every new request until the holders timed out.  So the pool is as
 * large as the descriptors allow: every connection that exists gets its
 * table, idle holders are cut after --header-timeout seconds, and memory is
 * bounded by the descriptor limit (9 kB each at most).
 */
static unsigned short
header_pool_size(rlim_t fds)
{
	if (fds > 65535)
		return 65535;
	return fds < 256 ? 256 : (unsigned short) fds;
}

/*
 * Where to bind.  On this IPv6-enabled lws build an IPv4 address given as
 * iface binds every address unless IPv6 is disabled (docs/libwebsockets.md §4), so IPv4
 * literals get LWS_SERVER_OPTION_DISABLE_IPV6.
 */
static const char *
bind_iface(const char *listen, uint64_t *options)
{
	struct in_addr a4;

	if (!strcmp(listen, "*") || !strcmp(listen, "::") || !listen[0])
		return NULL;
	if (!strcmp(listen, "0.0.0.0"))
	{
		*options |= LWS_SERVER_OPTION_DISABLE_IPV6;
		return NULL;
	}
	if (inet_pton(AF_INET, listen, &a4) == 1)
		*options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	return listen;
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	static const struct lws_protocol_vhost_options pvo_default = {NULL, NULL, "default", "1"};
	static const struct lws_protocol_vhost_options pvo = {NULL, &pvo_default, "pgcall", ""};
	static lws_retry_bo_t retry;
	uint64_t	options = 0;
	rlim_t		fds;

	signal(SIGPIPE, SIG_IGN);
	if (config_load(&B.cfg, argc, argv))
		return 2;
	if (B.cfg.print_sql)
	{
		statements_print(stdout);
		return 0;
	}
	log_init(B.cfg.log_level);
	if (B.cfg.bridge_id)
		snprintf(B.id, sizeof(B.id), "%s", B.cfg.bridge_id);
	else
		config_random_uuid(B.id);
	srand((unsigned) now_us());
	fds = raise_fd_limit();

	protocols[0] = (struct lws_protocols)
	{
		"http", http_protocol_cb, http_req_size, 0, 0, NULL, 0
	};
	/* small receive buffer: messages are reassembled, and it is per socket */
	protocols[1] = (struct lws_protocols)
	{
		"pgcall", ws_protocol_cb, session_size, 1024, 0, NULL, 0
	};
	protocols[2] = (struct lws_protocols)
	{
		"pg", db_protocol_cb, 0, 0, 0, NULL, 0
	};
	protocols[3] = (struct lws_protocols)
	{
		"signal", signal_cb, 0, 0, 0, NULL, 0
	};
	protocols[4] = (struct lws_protocols)
	{
		"listen", listen_protocol_cb, 0, 0, 0, NULL, 0
	};
	protocols[5] = (struct lws_protocols)
	{
		"webhook", webhook_protocol_cb, 0, 0, 0, NULL, 0
	};

	retry.secs_since_valid_ping = (uint16_t) B.cfg.ws_ping_s;
	retry.secs_since_valid_hangup = (uint16_t) B.cfg.ws_timeout_s;

	memset(&info, 0, sizeof(info));
	/* TLS always initialized: webhook deliveries may go to https URLs */
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8 |
		LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.count_threads = 1;
	info.max_http_header_pool = header_pool_size(fds);
	/* twice what a request may send (http.c's 431), so those get an answer */
	info.max_http_header_data = 16384;
	info.timeout_secs = 10;
	info.timeout_secs_ah_idle = (unsigned int) B.cfg.header_timeout_s;
	info.keepalive_timeout = B.cfg.http_keepalive_s;
	info.server_string = "pgcall-bridge";
	B.ctx = lws_create_context(&info);
	if (!B.ctx)
	{
		log_error("cannot create the libwebsockets context");
		return 1;
	}

	info.vhost_name = "pgcall";
	if (B.cfg.tls_cert)
	{
		/* lws listens and reads TLS connections itself (listen.c) */
		info.port = B.cfg.port;
		info.iface = bind_iface(B.cfg.listen, &options);
		info.options |= options;
	}
	else
		info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = protocols;
	info.pvo = &pvo;
	info.retry_and_idle_policy = &retry;
	if (B.cfg.tls_cert)
	{
		info.ssl_cert_filepath = B.cfg.tls_cert;
		info.ssl_private_key_filepath = B.cfg.tls_key;
		info.alpn = "http/1.1";
	}
	B.vh = lws_create_vhost(B.ctx, &info);
	if (!B.vh || (!B.cfg.tls_cert && listen_start(&B.cfg, B.ctx, B.vh) != 0))
	{
		log_error("cannot listen on %s port %d", B.cfg.listen, B.cfg.port);
		lws_context_destroy(B.ctx);
		return 1;
	}
	if (watch_signals())
	{
		log_error("cannot watch signals");
		lws_context_destroy(B.ctx);
		return 1;
	}

	lifecycle_on_work_done(check_drained);
	db_init(&B.cfg, B.ctx, B.vh, B.id);
	request_init(&B.cfg);
	dialect_http_init(&B.cfg);
	fanout_init(&B.cfg, B.ctx, db_listener(), session_deliver_event);
	session_init(&B.cfg, B.ctx, B.id, db_system());
	ws_init(&B.cfg, B.id);
	sio_ws_init(&B.cfg, B.ctx, http_sio_answer);
	http_init(&B.cfg, B.ctx, B.id, db_system());
	demo_init(&B.cfg);
	metrics_sources();
	conn_set_callbacks(db_listener(), fanout_listener_ready, fanout_listener_down, on_notify);
	conn_set_callbacks(db_system(), sys_ready, sys_down, NULL);
	db_start();
	sweep_start(&B.cfg, B.ctx, B.id, db_system());
	webhook_start(&B.cfg, B.ctx, B.vh, B.id, db_system());

	log_info("pgcall-bridge %s listening on %s://%s%s%s:%d (bridge %s, pool %d, schema %s, "
			 "%llu descriptors)", BRIDGE_VERSION, B.cfg.tls_cert ? "http" "s" : "http",
			 strchr(B.cfg.listen, ':') ? "[" : "", B.cfg.listen,
			 strchr(B.cfg.listen, ':') ? "]" : "", B.cfg.port, B.id, B.cfg.pool_size,
			 B.cfg.schemas[0], (unsigned long long) fds);

	while (!lifecycle_stopping() && lws_service(B.ctx, 0) >= 0)
		;

	lifecycle_advance(STAGE_DESTROYING);
	lws_context_destroy(B.ctx);
	listen_stop();
	webhook_stop();
	db_stop();
	memset(B.cfg.jwt_secret, 0, B.cfg.jwt_secret_len);
	free(B.cfg.jwt_secret);
	log_info("stopped");
	return 0;
}
