/*
 * lifecycle.h: where the process is in its life (lifecycle.c), the one
 * piece of run state every layer may read.  Only main.c moves it on, and
 * the stages only go forward: serving, draining (SIGTERM seen: take no new
 * work), stopping (leave the loop), destroying (lws_context_destroy runs).
 *
 * A module that finishes a piece of work while draining calls
 * lifecycle_work_done(); main.c's callback decides whether everything is
 * done.  That is how the transports report upward without calling main.c.
 */
#ifndef PGCALL_LIFECYCLE_H
#define PGCALL_LIFECYCLE_H

#include <stdbool.h>

enum lifecycle_stage
{
	STAGE_SERVING, STAGE_DRAINING, STAGE_STOPPING, STAGE_DESTROYING
};

void		lifecycle_advance(enum lifecycle_stage to);	/* main.c only */
void		lifecycle_on_work_done(void (*fn) (void));	/* main.c only */
bool		lifecycle_draining(void);	/* draining or later */
bool		lifecycle_stopping(void);	/* stopping or later */
bool		lifecycle_destroying(void);
void		lifecycle_work_done(void);

#endif							/* PGCALL_LIFECYCLE_H */
