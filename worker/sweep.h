/*
 * sweep.h: the bridge's own timed work on the system connection (sweep.c):
 * its heartbeat (the registration that keeps its presence rows alive), the
 * maintenance sweeps (call_expire(), participant_disconnect_sweep(),
 * purge()), and its unregistration at shutdown.
 */
#ifndef PGCALL_SWEEP_H
#define PGCALL_SWEEP_H

#include <libwebsockets.h>

#include "config.h"
#include "db.h"

void		sweep_start(const struct config *cfg, struct lws_context *ctx, const char *bridge_id,
						struct pgconn *sys);
void		sweep_sys_ready(void);	/* the system connection is (back) up */
void		sweep_sys_down(void);

/* Tell the database this bridge is gone; done runs when it answered (or could not). */
void		sweep_unregister(void (*done) (void));
bool		sweep_unregistering(void);

#endif							/* PGCALL_SWEEP_H */
