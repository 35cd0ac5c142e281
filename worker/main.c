/*
 * main.c: start-up, the event loop, timers (heartbeat, ring-timeout sweep)
 * and graceful shutdown of pgcall-bridge.
 *
 * One thread, one libwebsockets poll loop.  SIGTERM and SIGINT are blocked
 * and read from a signalfd adopted into the loop, so shutdown runs as an
 * ordinary callback: stop taking work, send close 1001 to every socket,
 * wait (at most --shutdown-grace) for requests in flight and sockets to
 * finish, tell the database this bridge is gone, leave the loop, then
 * destroy the context and finish the database connections.
 */
#include "bridge.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

struct bridge B;

extern const size_t http_req_size;
extern const size_t session_size;
void		config_random_uuid(char out[37]);

static struct lws_protocols protocols[7];	/* and the terminator */
static lws_sorted_usec_list_t sul_heartbeat,
			sul_grace;
static bool heartbeat_pending,
			unregistering;

uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int64_t
now_unix(void)
{
	return (int64_t) time(NULL);
}

/* -------------------------------------------------------------- timers */

static void
heartbeat_done(struct job *job)
{
	heartbeat_pending = false;
	if (job->err)
	{
		B.m.heartbeat_errors++;
		log_warn("heartbeat failed: %s", PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY));
	}
}

static void
heartbeat(void)
{
	const char *v[1] = {B.id};
	struct job *job;

	/* after the unregister, a heartbeat would register the bridge again */
	if (heartbeat_pending || unregistering || !conn_up(&B.sys) || B.stop)
		return;
	job = job_new(heartbeat_done, NULL);
	if (!job || job_add(job, SQL_HEARTBEAT, 1, v) || conn_submit(&B.sys, job))
	{
		job_free(job);
		return;
	}
	heartbeat_pending = true;
}

static void
sul_heartbeat_cb(lws_sorted_usec_list_t *sul)
{
	heartbeat();
	lws_sul_schedule(B.ctx, 0, sul, sul_heartbeat_cb, (lws_usec_t) B.cfg.heartbeat_ms * 1000);
}

/*
 * Sweeps: database maintenance the bridge runs on a timer on its system
 * connection, one at a time each (call_expire() and
 * participant_disconnect_sweep() every second, purge() every
 * few minutes).  A failure is logged once per distinct message, not on every
 * run; a purge that says more rows are due runs again at once.
 */
struct sweep
{
	lws_sorted_usec_list_t sul;
	const char *name;
	enum sql_id sql;
	const int  *interval_ms;
	const char *param;			/* the one parameter, or NULL */
	bool		pending;
	bool		again;			/* run again at once: the last run left work */
	uint64_t   *runs;
	uint64_t   *errors;
	char		last_error[160];
};

static char purge_batch[16];

static struct sweep sweep_expire = {.name = "call_expire()", .sql = SQL_EXPIRE,
	.interval_ms = &B.cfg.expire_ms, .runs = &B.m.expire_runs, .errors = &B.m.expire_errors};
/* participants whose sockets all went away: on call_expire()'s period */
static struct sweep sweep_disconnect = {.name = "participant_disconnect_sweep()",
	.sql = SQL_DISCONNECT, .interval_ms = &B.cfg.expire_ms,
	.runs = &B.m.disconnect_runs, .errors = &B.m.disconnect_errors};
static struct sweep sweep_purge = {.name = "purge()", .sql = SQL_PURGE,
	.interval_ms = &B.cfg.purge_ms, .param = purge_batch,
	.runs = &B.m.purge_runs, .errors = &B.m.purge_errors};

static void
sweep_done(struct job *job)
{
	struct sweep *sw = job->arg;

	sw->pending = false;
	sw->again = false;
	if (job->fail_code)
		return;
	(*sw->runs)++;
	if (job->err)
	{
		const char *msg = PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY);

		(*sw->errors)++;
		if (msg && strncmp(msg, sw->last_error, sizeof(sw->last_error) - 1) != 0)
		{
			log_warn("%s failed: %s", sw->name, msg);
			snprintf(sw->last_error, sizeof(sw->last_error), "%s", msg);
		}
		return;
	}
	sw->last_error[0] = '\0';
	/* purge() answers whether more rows are due */
	if (job->res[0] && PQntuples(job->res[0]) == 1 && PQnfields(job->res[0]) == 1 &&
		strcmp(PQgetvalue(job->res[0], 0, 0), "t") == 0)
		sw->again = true;
}

static void
sweep_cb(lws_sorted_usec_list_t *sul)
{
	struct sweep *sw = lws_container_of(sul, struct sweep, sul);
	struct job *job;

	if (!sw->pending && conn_up(&B.sys) && !B.stop)
	{
		job = job_new(sweep_done, NULL);
		if (job)
			job->arg = sw;
		if (!job || job_add(job, sw->sql, sw->param ? 1 : 0, &sw->param) || conn_submit(&B.sys, job))
			job_free(job);
		else
			sw->pending = true;
	}
	lws_sul_schedule(B.ctx, 0, sul, sweep_cb,
					 sw->again ? 1000 : (lws_usec_t) *sw->interval_ms * 1000);
}

static void
sweep_start(struct sweep *sw)
{
	if (*sw->interval_ms > 0)
		lws_sul_schedule(B.ctx, 0, &sw->sul, sweep_cb, (lws_usec_t) *sw->interval_ms * 1000);
}

static void
sys_ready(struct pgconn *c)
{
	(void) c;
	heartbeat_pending = false;
	sweep_expire.pending = sweep_disconnect.pending = sweep_purge.pending = false;
	heartbeat();
	ws_presence_resync();
}

static void
sys_down(struct pgconn *c)
{
	(void) c;
	heartbeat_pending = false;
	sweep_expire.pending = sweep_disconnect.pending = sweep_purge.pending = false;
}

/* A commit with events may have written webhook deliveries too. */
static void
on_notify(struct pgconn *c, PGnotify *n)
{
	events_notify(c, n);
	webhook_kick();
}

/* ------------------------------------------------------------ shutdown */

static void
unregister_done(struct job *job)
{
	if (job->err)
		log_warn("unregistering the bridge failed: %s",
				 PQresultErrorField(job->err, PG_DIAG_MESSAGE_PRIMARY));
	B.stop = true;
}

static void
unregister(void)
{
	const char *v[1] = {B.id};
	struct job *job;

	if (unregistering)
		return;
	unregistering = true;
	job = job_new(unregister_done, NULL);
	if (!job || job_add(job, SQL_UNREGISTER, 1, v) || conn_submit(&B.sys, job))
	{
		job_free(job);
		B.stop = true;
	}
}

void
bridge_check_drained(void)
{
	if (!B.draining || B.stop || B.destroying)
		return;
	if (B.http_inflight > 0 || ws_session_count() > 0)
		return;
	unregister();
}

static void
sul_grace_cb(lws_sorted_usec_list_t *sul)
{
	(void) sul;
	if (B.stop)
		return;
	if (B.http_inflight || ws_session_count())
		log_warn("shutdown grace ended with %d requests in flight and %d sockets open",
				 B.http_inflight, ws_session_count());
	if (!unregistering)
		unregister();
	else
		B.stop = true;			/* the database did not answer either */
}

void
bridge_shutdown_begin(void)
{
	if (B.draining)
	{
		log_warn("second signal: stopping now");
		B.stop = true;
		return;
	}
	B.draining = true;
	log_info("shutting down: %d requests in flight, %d sockets", B.http_inflight,
			 ws_session_count());
	ws_close_all();
	lws_sul_schedule(B.ctx, 0, &sul_grace, sul_grace_cb,
					 (lws_usec_t) B.cfg.shutdown_grace_ms * 1000 + 1);
	bridge_check_drained();
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
		bridge_shutdown_begin();
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
	log_init(B.cfg.log_level);
	if (B.cfg.bridge_id)
		snprintf(B.id, sizeof(B.id), "%s", B.cfg.bridge_id);
	else
		config_random_uuid(B.id);
	srand((unsigned) now_us());
	fds = raise_fd_limit();
	B.started_us = now_us();

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
	if (!B.vh || (!B.cfg.tls_cert && listen_start() != 0))
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

	db_init();
	events_init();
	B.listener.on_ready = events_listener_ready;
	B.listener.on_down = events_listener_down;
	B.listener.on_notify = on_notify;
	B.sys.on_ready = sys_ready;
	B.sys.on_down = sys_down;
	db_start();
	lws_sul_schedule(B.ctx, 0, &sul_heartbeat, sul_heartbeat_cb, (lws_usec_t) B.cfg.heartbeat_ms * 1000);
	snprintf(purge_batch, sizeof(purge_batch), "%d", B.cfg.purge_batch);
	sweep_start(&sweep_expire);
	sweep_start(&sweep_disconnect);
	sweep_start(&sweep_purge);
	webhook_start();

	log_info("pgcall-bridge %s listening on %s://%s%s%s:%d (bridge %s, pool %d, schema %s, "
			 "%llu descriptors)", BRIDGE_VERSION, B.cfg.tls_cert ? "http" "s" : "http",
			 strchr(B.cfg.listen, ':') ? "[" : "", B.cfg.listen,
			 strchr(B.cfg.listen, ':') ? "]" : "", B.cfg.port, B.id, B.cfg.pool_size,
			 B.cfg.schemas[0], (unsigned long long) fds);

	while (!B.stop && lws_service(B.ctx, 0) >= 0)
		;

	B.stop = true;
	B.destroying = true;
	lws_context_destroy(B.ctx);
	listen_stop();
	webhook_stop();
	db_stop();
	memset(B.cfg.jwt_secret, 0, B.cfg.jwt_secret_len);
	free(B.cfg.jwt_secret);
	log_info("stopped");
	return 0;
}
