/*
 * http.h: the HTTP protocol (http.c): /rpc/<fn>, /health, /metrics, static
 * files, the demo sign-in, Socket.IO's long-polling and the hand-off of
 * WebSocket upgrades.  main.c registers its lws callback with a
 * per-transaction struct of http_req_size bytes.
 */
#ifndef PGCALL_HTTP_H
#define PGCALL_HTTP_H

#include <stddef.h>

#include <libwebsockets.h>

#include "config.h"
#include "db.h"

struct http_req;

extern const size_t http_req_size;

void		http_init(const struct config *cfg, struct lws_context *ctx, const char *bridge_id,
					  struct pgconn *sys);
int			http_inflight_count(void);	/* requests SIGTERM waits for */
int			http_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason,
							 void *user, void *in, size_t len);

#endif							/* PGCALL_HTTP_H */
