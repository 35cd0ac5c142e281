/*
 * ws.h: pgcall's WebSocket protocol at /ws (ws.c).  http.c hands it the
 * upgrade; main.c registers its lws callback with a per-session struct of
 * session_size bytes (struct session, session.h).
 */
#ifndef PGCALL_WS_H
#define PGCALL_WS_H

#include <stddef.h>

#include <libwebsockets.h>

#include "config.h"

extern const size_t session_size;

void		ws_init(const struct config *cfg, const char *bridge_id);
int			ws_confirm_upgrade(struct lws *wsi, const char *in);
int			ws_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason,
						   void *user, void *in, size_t len);

#endif							/* PGCALL_WS_H */
