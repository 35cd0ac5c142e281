/*
 * config.h: the bridge's options (config.c).  main.c loads them once; every
 * other module is handed a const pointer by its init function and never
 * changes them.
 */
#ifndef PGCALL_CONFIG_H
#define PGCALL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define BRIDGE_VERSION "0.2.0"

#define MAX_DIALECTS 8

/* A --dialect NAME=PORT: a seed's REST routes and Socket.IO on a port of its own. */
struct dialect_port
{
	const char *name;
	int			port;
};

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
	struct dialect_port dialects[MAX_DIALECTS];
	int			ndialects;
	int			sio_ping_ms;
	int			sio_ping_timeout_ms;
	int			sio_connect_timeout_ms;
	const char *tls_cert;
	const char *tls_key;
	const char *bridge_id;		/* uuid; random when not given */
	int			webhook_inflight;	/* deliveries open at once; 0 = none */
	int			webhook_poll_ms;	/* claim at least this often */
	int			log_level;		/* 0 error .. 3 debug */
	bool		print_sql;		/* --print-sql: print the statements and exit */
};

int			config_load(struct config *cfg, int argc, char **argv);
void		config_usage(FILE *out);
void		config_random_uuid(char out[37]);

#endif							/* PGCALL_CONFIG_H */
