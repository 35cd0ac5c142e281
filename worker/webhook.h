/*
 * webhook.h: delivering pgcall.webhook_delivery rows (webhook.c) on the
 * system connection: claim, POST, report.
 */
#ifndef PGCALL_WEBHOOK_H
#define PGCALL_WEBHOOK_H

#include <libwebsockets.h>

#include "config.h"
#include "db.h"

void		webhook_start(const struct config *cfg, struct lws_context *ctx, struct lws_vhost *vh,
						  const char *bridge_id, struct pgconn *sys);
void		webhook_kick(void);	/* something committed: claim soon */
void		webhook_stop(void);
int			webhook_inflight_count(void);
int			webhook_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason,
								void *user, void *in, size_t len);

#endif							/* PGCALL_WEBHOOK_H */
