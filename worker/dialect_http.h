/*
 * dialect_http.h: the --dialect ports (dialect_http.c): which dialect a
 * connection's port serves, and a REST request of that dialect, answered
 * by pgcall.dialect_http().
 */
#ifndef PGCALL_DIALECT_HTTP_H
#define PGCALL_DIALECT_HTTP_H

#include <stdbool.h>

#include <libwebsockets.h>

#include "config.h"
#include "db.h"
#include "request.h"

void		dialect_http_init(const struct config *cfg);

/* The dialect of the port this connection came to, or NULL for --port. */
const char *dialect_of(struct lws *wsi);

/* The Socket.IO dialect of this connection: its port's, else --socketio-dialect. */
const char *dialect_sio_of(struct lws *wsi);

/* The identity step of /rpc, then pgcall.dialect_http(); NULL when out of memory. */
struct job *dialect_http_job(job_done_fn done, void *owner, const char *dialect,
							 const struct identity *id, const char *headers_json,
							 const char *method, const char *path, const char *query,
							 const char *body);

/* Its answer: the dialect's status and body, or a PostgREST error when it failed outright. */
void		dialect_http_reply(struct reply *r, const struct job *job, bool authenticated);

#endif							/* PGCALL_DIALECT_HTTP_H */
