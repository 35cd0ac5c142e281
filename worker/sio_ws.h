/*
 * sio_ws.h: Socket.IO at /socket.io/ (sio_ws.c), over a WebSocket (ws.c
 * hands over its sessions) or HTTP long-polling (http.c hands over the
 * requests).  A long-poll request is http.c's struct http_req, opaque here;
 * sio_ws.c answers it through the callback main.c gives sio_ws_init().
 */
#ifndef PGCALL_SIO_WS_H
#define PGCALL_SIO_WS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "request.h"
#include "session.h"

struct http_req;
typedef void (*sio_http_answer_fn) (struct http_req *r, int status, const char *content_type,
									char *body, size_t len);

void		sio_ws_init(const struct config *cfg, struct lws_context *ctx, sio_http_answer_fn answer);

/* the WebSocket transport (ws.c) */
bool		sio_path_is(const char *uri);
int			sio_confirm_upgrade(struct lws *wsi, struct reply *r);
void		sio_established(struct session *s);
void		sio_on_message(struct session *s, const char *msg, size_t len);

/* session.c's hooks (session_set_sio_hooks) */
void		sio_deliver(struct session *s, const char *payload, size_t len);
void		sio_closed(struct session *s);
void		sio_poll_wake(struct session *s);

/* Engine.IO's HTTP long-polling, http.c's side of it */
void		sio_poll_request(struct http_req *r, struct lws *wsi, bool get,
							 const char *body, size_t len);
void		sio_poll_abandon(struct http_req *r);
int			sio_poll_count(bool waiting);	/* long-polling sessions, or their waiting GETs */

/* CORS on the long-polling transport: a preflight's refusal (0: accepted), and the headers */
int			sio_preflight(struct lws *wsi, const char **message, const char **hint);
int			sio_cors_headers(struct lws *wsi, bool preflight, unsigned char **p, unsigned char *end);

#endif							/* PGCALL_SIO_WS_H */
