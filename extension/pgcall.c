/*
 * pgcall.c: module entry point.
 *
 * _PG_init runs once per backend when the library is first loaded; each
 * area registers what it needs (parameters, cache callbacks) here.
 */
#include "postgres.h"

#include "fmgr.h"

#include "agora.h"
#include "pgcall.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	/* Before pgcall_init_gucs reserves the pgcall. prefix. */
	pgcall_init_agora();
	pgcall_init_rpc();
	pgcall_init_bridge();
	pgcall_init_webhook_gucs();
	pgcall_init_event_order();
	pgcall_init_gucs();
	pgcall_init_secrets();
	pgcall_init_events();
}
