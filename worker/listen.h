/*
 * listen.h: the listening socket and each connection's first request head
 * (listen.c), before libwebsockets reads it.
 */
#ifndef PGCALL_LISTEN_H
#define PGCALL_LISTEN_H

#include <libwebsockets.h>

#include "config.h"

int			listen_start(const struct config *cfg, struct lws_context *ctx, struct lws_vhost *vh);
void		listen_stop(void);
int			listen_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason,
							   void *user, void *in, size_t len);

#endif							/* PGCALL_LISTEN_H */
