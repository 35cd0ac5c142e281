/*
 * lifecycle.c: the process's stage (see lifecycle.h).  One loop thread:
 * nothing is locked.
 */
#include "lifecycle.h"

#include <stddef.h>

static enum lifecycle_stage stage = STAGE_SERVING;
static void (*work_done_fn) (void);

void
lifecycle_advance(enum lifecycle_stage to)
{
	if (to > stage)
		stage = to;
}

void
lifecycle_on_work_done(void (*fn) (void))
{
	work_done_fn = fn;
}

bool
lifecycle_draining(void)
{
	return stage >= STAGE_DRAINING;
}

bool
lifecycle_stopping(void)
{
	return stage >= STAGE_STOPPING;
}

bool
lifecycle_destroying(void)
{
	return stage >= STAGE_DESTROYING;
}

/* A request or socket ended: while draining, main.c checks whether all did. */
void
lifecycle_work_done(void)
{
	if (stage == STAGE_DRAINING && work_done_fn)
		work_done_fn();
}
