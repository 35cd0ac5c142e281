/*
 * bridge.h: what the modules of pgcall-bridge share.
 *
 * pgcall-bridge is one thread running one libwebsockets event loop.  Every
 * callback, timer and database result runs on that thread, one at a time, so
 * nothing here is locked.  Server-wide state lives in the single struct
 * bridge B; per-connection state lives in the per-session structs that
 * libwebsockets allocates for each protocol (http.c, ws.c) and in struct
 * pgconn for each database connection (db.c).
 *
 * Lifetimes to keep in mind:
 *  - a struct job outlives the request that made it when the client goes
 *    away: its owner pointer is cleared and the result is dropped on arrival;
 *  - a struct pgconn lives as long as the process; its PGconn and its watcher
 *    wsi come and go with reconnects.
 */
#ifndef PGCALL_BRIDGE_H
#define PGCALL_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <libwebsockets.h>

#include "wire.h"

#define BRIDGE_VERSION "0.2.0"

/* ------------------------------------------------------------------ config */

struct config
{
	const char *listen;			/* address or interface to bind */
	int			port;
	const char *db;				/* libpq conninfo or URI */
	char	   *jwt_secret;		/* HS256 key, never logged */
	size_t		jwt_secret_len;
	const char *jwt_aud;		/* required audience, or NULL */
	int			jwt_allow_no_exp;	/* accept tokens without exp (0/1) */
	const char *schemas[8];		/* exposed schemas, first is the default */
	int			nschemas;
	const char *anon_role;		/* role for requests without a JWT; "" = none */
	const char *bridge_role;	/* role of the system connections */
	int			pool_size;
	int			pool_queue;		/* queued requests before 503 */
	int			request_timeout_ms; /* from body complete to response */
	int			statement_timeout_ms;
	int			connect_timeout_ms;
	size_t		max_body;		/* HTTP request body */
	size_t		max_message;	/* WebSocket message from a client */
	size_t		send_queue;		/* bytes queued per socket before it is dropped */
	int			ws_ping_s;
	int			ws_timeout_s;
	int			ws_calls;		/* calls in flight per socket */
	int			heartbeat_ms;
	int			expire_ms;		/* call_expire() period; 0 = off */
	int			purge_ms;		/* pgcall.purge() period; 0 = off */
	int			purge_batch;	/* rows per purge() run */
	int			event_batch;
	int			shutdown_grace_ms;
	int			http_keepalive_s;
	int			header_timeout_s;	/* from accept to complete request headers */
	const char *web_root;		/* static files for "/", or NULL */
	const char *demo_users;		/* comma-separated demo users, or NULL: no /demo */
	const char *demo_admins;	/* comma-separated demo administrators, or NULL */
	const char *sio_dialect;	/* Socket.IO dialect at /socket.io/, or NULL */
	int			sio_ping_ms;
	int			sio_ping_timeout_ms;
	int			sio_connect_timeout_ms;
	const char *tls_cert;
	const char *tls_key;
	const char *bridge_id;		/* uuid; random when not given */
	int			webhook_inflight;	/* deliveries open at once; 0 = none */
	int			webhook_poll_ms;	/* claim at least this often */
	int			log_level;		/* 0 error .. 3 debug */
};

int			config_load(struct config *cfg, int argc, char **argv);
void		config_usage(FILE *out);

/* --------------------------------------------------------------------- log */

enum
{
	LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG
};

void		log_init(int level);
void		logmsg(int level, const char *fmt,...) __attribute__((format(printf, 2, 3)));

#define log_error(...) logmsg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) logmsg(LOG_WARN, __VA_ARGS__)
#define log_info(...) logmsg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) logmsg(LOG_DEBUG, __VA_ARGS__)

/* ---------------------------------------------------------------- database */

/* Every statement the bridge sends; the text is in db.c. */
enum sql_id
{
	SQL_IDENTITY,				/* role, claims, headers, method, path, timeout */
	SQL_IDENTITY_RO,			/* the same, read-only transaction */
	SQL_RPC,					/* schema, function, args object, single, query, prefer, accept, range */
	SQL_WS_RPC,					/* schema, whole client message */
	SQL_WS_AUTH,				/* current user id under the socket's identity */
	SQL_EVENTS,					/* after id, max rows */
	SQL_EVENTS_SINCE,			/* after id, max rows, as the user */
	SQL_HORIZON,
	SQL_HEARTBEAT,				/* bridge id */
	SQL_PRESENCE,				/* bridge id, user id, connections */
	SQL_UNREGISTER,				/* bridge id */
	SQL_EXPIRE,
	SQL_DISCONNECT,
	SQL_PURGE,					/* max rows */
	SQL_HEALTH,
	SQL_SET_ROLE,				/* role (system connections) */
	SQL_LISTEN,
	SQL_RESET_CHECK,			/* first statement of the session reset (db.c) */
	SQL_WEBHOOK_CLAIM,			/* bridge id, max deliveries */
	SQL_WEBHOOK_REPORT,			/* bridge id, results (JSON array) */
	SQL_WEBHOOK_ENABLED,
	SQL_SIO_CONNECT,			/* dialect, namespace: user id and outbound rules */
	SQL_SIO_CALL,				/* dialect, event, payload: what to send back */
	SQL__COUNT
};

#define JOB_MAX_STMT 4
#define SLOT_RESET (-1)			/* a result slot of the session reset (db.c) */
#define JOB_MAX_PARAMS 8

struct job;
typedef void (*job_done_fn) (struct job *job);

struct job
{
	lws_dll2_t	list;			/* queue membership */
	lws_dll2_t	owner_link;		/* the requester's list of its jobs */
	job_done_fn done;
	void	   *owner;			/* NULL once the requester went away */
	void	   *arg;
	bool		free_arg;		/* job_free() frees arg */
	int			nstmt;
	enum sql_id stmt[JOB_MAX_STMT];
	int			nparams[JOB_MAX_STMT];
	char	   *params[JOB_MAX_STMT][JOB_MAX_PARAMS];

	/* filled in by db.c */
	PGresult   *res[JOB_MAX_STMT];	/* result of each statement */
	PGresult   *err;			/* first error, or NULL */
	int			err_stmt;		/* statement index of err */
	const char *fail_code;		/* SQLSTATE when the job never ran (08006...) */
	const char *fail_msg;
	uint64_t	t_queued;		/* usec */
	uint64_t	t_started;
	struct pgconn *conn;		/* while running */
	bool		queued;
	bool		running;
	bool		per_socket;		/* at most one per socket: not held to --pool-queue */
	bool		reset_after;	/* runs untrusted code: reset the session afterwards */
};

struct job *job_new(job_done_fn done, void *owner);
int			job_add(struct job *job, enum sql_id id, int nparams, const char *const *values);
void		job_free(struct job *job);
void		job_orphan(struct job *job);	/* owner went away */
bool		job_ok(const struct job *job);
const char *job_sqlstate(const struct job *job);

enum conn_kind
{
	CONN_POOL, CONN_LISTENER, CONN_SYSTEM
};

enum conn_state
{
	CONN_DOWN,					/* waiting to (re)connect */
	CONN_CONNECTING,			/* PQconnectPoll in progress */
	CONN_SETUP,					/* running its setup job */
	CONN_IDLE,
	CONN_BUSY
};

struct pgconn
{
	enum conn_kind kind;
	enum conn_state state;
	int			index;
	PGconn	   *pg;
	struct lws *wsi;			/* watcher of a dup of PQsocket */
	uint64_t	ino;			/* inode of the watched socket */
	PostgresPollingStatusType poll;
	struct job *job;			/* running job */
	struct job *setup;
	int			slot;			/* result slot being read */
	int			nslots;
	int8_t		slot_stmt[JOB_MAX_STMT * 2 + 8];	/* statement index, or SLOT_RESET */
	bool		slot_prepare[JOB_MAX_STMT * 2 + 8];
	uint32_t	prepared;		/* bit per enum sql_id */
	uint32_t	preparing;
	int			attempt;		/* reconnect attempts since last success */
	bool		in_writeable;
	bool		ever_up;
	bool		resetting;		/* the job is done; its reset segment is running */
	bool		reset_failed;	/* the session must be replaced after this job */
	bool		discard_needed; /* the reset found leftovers: DISCARD ALL next */
	bool		discarding;
	lws_sorted_usec_list_t sul_retry;
	lws_sorted_usec_list_t sul_write;
	lws_sorted_usec_list_t sul_timeout;
	lws_dll2_owner_t queue;		/* listener and system connections queue here */
	void		(*on_ready) (struct pgconn *c);
	void		(*on_down) (struct pgconn *c);
	void		(*on_notify) (struct pgconn *c, PGnotify *n);
};

void		db_init(void);
void		db_print_sql(FILE *out);
void		db_start(void);
void		db_stop(void);
int			pool_submit(struct job *job);	/* 0, or an HTTP status on refusal */
int			conn_submit(struct pgconn *c, struct job *job);
bool		conn_up(const struct pgconn *c);
int			pool_up_count(void);
int			pool_busy_count(void);
int			pool_queue_len(void);
int			db_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason,
						   void *user, void *in, size_t len);

/* --------------------------------------------------------------- requests */

/* What one request (HTTP or WebSocket call) runs as. */
struct identity
{
	char	   *role;
	char	   *claims;			/* decoded JWT payload, "" when anonymous */
	char	   *sub;			/* NULL when anonymous or no sub claim */
	int64_t		exp;			/* 0 when none */
	bool		authenticated;
};

void		identity_clear(struct identity *id);

/* request.c: database results and errors into HTTP terms */
struct reply
{
	int			status;
	char	   *body;			/* malloc'd; NULL for none */
	size_t		len;
	const char *content_type;
	char		content_range[64];
	char	   *extra_headers;	/* "name: value\r\n"... from PGRST errors */
	bool		www_authenticate;
	int			retry_after;	/* 429: seconds the database said to wait, 0 unknown */
};

void		reply_clear(struct reply *r);
void		reply_error(struct reply *r, int status, const char *code,
						const char *message, const char *details, const char *hint);
void		reply_from_job(struct reply *r, const struct job *job, int rpc_stmt,
						   bool authenticated, bool single, bool count_exact);
int			identity_from_bearer(struct identity *id, const char *token, size_t len,
								 struct reply *err);
const char *schema_pick(const char *profile);

/* ---------------------------------------------------------------- sessions */

int			http_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason,
							 void *user, void *in, size_t len);
char	   *http_headers_json(struct lws *wsi);
int			http_write_now(struct lws *wsi, int status, const struct reply *r, bool token_seen);
void		http_closed_early(struct lws *wsi);
int			ws_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason,
						   void *user, void *in, size_t len);
int			ws_confirm_upgrade(struct lws *wsi, const char *in);
bool		wire_received(struct lws *wsi, uint64_t *n);	/* kernel's byte count, ws.c */
void		ws_deliver_event(const char *user_id, int64_t id, const char *payload, size_t len);
void		ws_close_all(void);
void		ws_presence_resync(void);
int			ws_session_count(void);
int			ws_user_count(void);
int			sio_poll_count(bool waiting);	/* long-polling sessions, or their waiting GETs */
int			static_serve(struct lws *wsi, const char *path);

/* listen.c: the listening socket and each connection's first request head */
int			listen_start(void);
void		listen_stop(void);
int			listen_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason,
							   void *user, void *in, size_t len);

/* demo.c: POST /demo/token, GET /demo/users and /demo/admins, only with
 * --demo-users or --demo-admins */
bool		demo_enabled(void);
void		demo_token(struct reply *r, const char *body, size_t len);
void		demo_users(struct reply *r, bool admins);

/* fanout.c */
void		events_init(void);
void		events_listener_ready(struct pgconn *c);
void		events_listener_down(struct pgconn *c);
void		events_notify(struct pgconn *c, PGnotify *n);
int64_t		events_cursor(void);
bool		events_live(void);

/* webhook.c: delivering pgcall.webhook_delivery */
int			webhook_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason,
								void *user, void *in, size_t len);
void		webhook_start(void);
void		webhook_kick(void);
void		webhook_stop(void);
int			webhook_inflight_count(void);

/* --------------------------------------------------------------- metrics */

#define HIST_BUCKETS 14
extern const double hist_bounds[HIST_BUCKETS];

struct histogram
{
	uint64_t	bucket[HIST_BUCKETS + 1];
	uint64_t	count;
	double		sum;
};

struct metrics
{
	uint64_t	http_by_status[600];
	struct histogram http_latency;
	struct histogram pool_wait;
	uint64_t	pool_rejected;
	uint64_t	ws_accepted;
	uint64_t	ws_refused;
	uint64_t	ws_closed_slow;
	uint64_t	ws_closed_too_big;
	uint64_t	ws_closed_auth;
	uint64_t	ws_messages_in;
	uint64_t	ws_messages_out;
	uint64_t	ws_calls_ok;
	uint64_t	ws_calls_error;
	uint64_t	events_fetched;
	uint64_t	events_delivered;
	uint64_t	events_unrouted;
	uint64_t	events_resumed;
	uint64_t	events_fetch_errors;
	uint64_t	listener_reconnects;
	uint64_t	db_reconnects;
	uint64_t	expire_runs;
	uint64_t	expire_errors;
	uint64_t	disconnect_runs;
	uint64_t	disconnect_errors;
	uint64_t	purge_runs;
	uint64_t	purge_errors;
	uint64_t	heartbeat_errors;
	uint64_t	presence_updates;
	uint64_t	webhook_attempts;
	uint64_t	webhooks_delivered;
	uint64_t	webhooks_failed;
	uint64_t	webhook_claim_errors;
	uint64_t	webhook_report_errors;
};

void		hist_observe(struct histogram *h, double seconds);
char	   *metrics_render(size_t *len);

/* ------------------------------------------------------------------ server */

struct bridge
{
	struct config cfg;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	char		id[37];
	struct pgconn *pool;
	struct pgconn listener;
	struct pgconn sys;
	struct metrics m;
	int			http_inflight;	/* requests between submit and reply */
	bool		draining;		/* SIGTERM seen */
	bool		extension_mismatch_logged;	/* http.c: warned once per mismatch */
	bool		stop;			/* leave the loop */
	bool		destroying;		/* lws_context_destroy is running */
	uint64_t	started_us;
};

extern struct bridge B;

uint64_t	now_us(void);
int64_t		now_unix(void);
void		bridge_shutdown_begin(void);
void		bridge_check_drained(void);

#endif							/* PGCALL_BRIDGE_H */
