/*
 * rpc.h: what the parts of pgcall.rpc share: rpc.c (the entry point, the
 * plan cache, the statement), rpc_resolve.c (which function a request
 * calls) and rpc_query.c (PostgREST's query string and headers, rpc_query.h).
 */
#ifndef PGCALL_RPC_H
#define PGCALL_RPC_H

#include "nodes/pg_list.h"

/* How a candidate function takes its arguments. */
typedef struct RpcCand
{
	Oid			oid;
	int			nin;			/* input parameters */
	char	  **names;			/* "" for an unnamed one */
	Oid		   *types;
	int			nrequired;		/* the first nrequired have no default */
	bool		in_cache;		/* visible to PostgREST's schema cache (hints) */
	bool		matchable;		/* callable by named arguments */
} RpcCand;

typedef enum RpcCallMode
{
	CALL_NAMED,					/* by name, from $1 */
	CALL_WHOLE					/* the whole object as the one parameter */
} RpcCallMode;

/* An error the bridge answers as PostgREST would: its status and body. */
extern void pgcall_rpc_raise(int status, const char *code, const char *message,
							 const char *details, const char *hint) pg_attribute_noreturn();
extern char *pgcall_rpc_join_names(List *names, const char *sep);

extern bool pgcall_rpc_is_callable(Oid funcoid);
extern bool pgcall_rpc_is_api_function(const char *fn);
extern RpcCand *pgcall_rpc_resolve(const char *schema, const char *fn, List *keys,
								   RpcCallMode *mode);

#endif
