/*
 * db.h: the database layer (db.c).  Connections are db.c's own: a pool
 * for requests, one listener for events and one system connection for the
 * bridge's own work, each a state machine over non-blocking libpq on the
 * event loop.  Callers build a struct job of pipelined statements, submit
 * it, and get it back through its done callback; a connection tells its
 * user about itself through the callbacks given to conn_set_callbacks().
 * Nothing here knows a transport.
 */
#ifndef PGCALL_DB_H
#define PGCALL_DB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>
#include <libwebsockets.h>

#include "config.h"
#include "statements.h"

#define JOB_MAX_STMT 4
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

struct pgconn;					/* db.c's */

typedef void (*conn_event_fn) (struct pgconn *c);
typedef void (*conn_notify_fn) (struct pgconn *c, PGnotify *n);

void		db_init(const struct config *cfg, struct lws_context *ctx, struct lws_vhost *vh,
					const char *bridge_id);
void		db_start(void);
void		db_stop(void);
struct pgconn *db_listener(void);	/* LISTENs for events */
struct pgconn *db_system(void);	/* the bridge's own work, as --bridge-role */
void		conn_set_callbacks(struct pgconn *c, conn_event_fn on_ready, conn_event_fn on_down,
							   conn_notify_fn on_notify);
int			pool_submit(struct job *job);	/* 0, or an HTTP status on refusal */
int			conn_submit(struct pgconn *c, struct job *job);
bool		conn_up(const struct pgconn *c);
int			pool_up_count(void);
int			pool_busy_count(void);
int			pool_queue_len(void);
int			db_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason,
						   void *user, void *in, size_t len);

#endif							/* PGCALL_DB_H */
