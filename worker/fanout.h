/*
 * fanout.h: database events to their recipients (fanout.c).  The event
 * cursor, the last event id fetched, is this module's.  It hands each
 * (recipient, event) pair to the deliver callback main.c gives it, and
 * knows nothing of sockets.
 */
#ifndef PGCALL_FANOUT_H
#define PGCALL_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "db.h"

typedef void (*fanout_deliver_fn) (const char *user_id, int64_t id, const char *payload,
								   size_t len);

void		fanout_init(const struct config *cfg, struct lws_context *ctx, struct pgconn *listener,
						fanout_deliver_fn deliver);
void		fanout_listener_ready(struct pgconn *c);
void		fanout_listener_down(struct pgconn *c);
void		fanout_notify(struct pgconn *c, PGnotify *n);
int64_t		fanout_cursor(void);	/* highest event id fetched */
bool		fanout_live(void);		/* LISTENing, cursor known */

#endif							/* PGCALL_FANOUT_H */
