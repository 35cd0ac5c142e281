/*
 * spi_util.c: prepared SPI plans kept for the life of the backend, and
 * small conveniences around them.
 *
 * Every statement pgcall runs through SPI is schema-qualified and prepared
 * once per backend under a pinned search_path (the calling functions carry
 * SET search_path), so a caller's search_path can neither change what runs
 * nor which operators a plan binds.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "commands/extension.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/builtins.h"

#include "pgcall.h"

/* OID of pgcall's own schema, once checked; forgotten on any schema change. */
static Oid	schema_oid = InvalidOid;
static bool schema_callback = false;

static void
schema_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	schema_oid = InvalidOid;
}

/*
 * The schema named pgcall, provided it is the one CREATE EXTENSION pgcall
 * created (a member of the extension).  The C code finds its tables and
 * sequences in it by name; a schema of that name that belongs to someone
 * else (renamed into place, say) must never be where it looks.
 */
Oid
pgcall_schema(void)
{
	Oid			nspid;
	Oid			extid;

	if (OidIsValid(schema_oid))
		return schema_oid;
	if (!schema_callback)
	{
		CacheRegisterSyscacheCallback(NAMESPACEOID, schema_changed, (Datum) 0);
		schema_callback = true;
	}
	nspid = get_namespace_oid("pgcall", true);
	extid = get_extension_oid("pgcall", true);
	if (!OidIsValid(nspid) || !OidIsValid(extid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the pgcall extension is not installed in this database"),
				 errhint("Run CREATE EXTENSION pgcall.")));
	if (getExtensionOfObject(NamespaceRelationId, nspid) != extid)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("schema \"pgcall\" is not the schema of the pgcall extension"),
				 errdetail("Someone renamed or created a schema named pgcall that CREATE EXTENSION pgcall did not create."),
				 errhint("A superuser must find out who did it, then drop that schema or rename it back.")));
	schema_oid = nspid;
	return nspid;
}

/*
 * The relations' OIDs as looked up, by name, forgotten when any relation
 * is created, renamed or dropped (the syscache of relations by name says
 * so) or any schema changes: a call looks up a dozen of them, each a hash
 * of the whole name.
 */
#define RELID_CACHE_SIZE 32

typedef struct RelidCacheEntry
{
	NameData	name;
	Oid			relid;
} RelidCacheEntry;

static RelidCacheEntry relid_cache[RELID_CACHE_SIZE];
static int	relid_cache_used = 0;
static bool relid_callback = false;

static void
relids_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	relid_cache_used = 0;
}

/* OID of the relation pgcall.<name>; raises if it is missing. */
Oid
pgcall_relid(const char *name)
{
	Oid			relid;

	for (int i = 0; i < relid_cache_used; i++)
		if (strcmp(NameStr(relid_cache[i].name), name) == 0)
			return relid_cache[i].relid;
	if (!relid_callback)
	{
		CacheRegisterSyscacheCallback(RELNAMENSP, relids_changed, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, relids_changed, (Datum) 0);
		relid_callback = true;
	}
	relid = get_relname_relid(name, pgcall_schema());
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("relation pgcall.%s is missing", name),
				 errhint("Reinstall the extension: DROP EXTENSION pgcall; CREATE EXTENSION pgcall.")));
	if (relid_cache_used < RELID_CACHE_SIZE)
	{
		namestrcpy(&relid_cache[relid_cache_used].name, name);
		relid_cache[relid_cache_used++].relid = relid;
	}
	return relid;
}

/*
 * Prepare sql on first use and keep it.  *plan caches the result; callers
 * keep one static SPIPlanPtr per statement.
 *
 * The plan is generic: these statements look rows up by key, so a plan per
 * parameter set would only spend the planning time again on every call.
 */
SPIPlanPtr
pgcall_plan(SPIPlanPtr *plan, const char *sql, int nargs, const Oid *argtypes)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	p;

		(void) pgcall_schema();	/* the pgcall.* names below are ours */
		p = SPI_prepare_cursor(sql, nargs, (Oid *) argtypes, CURSOR_OPT_GENERIC_PLAN);

		if (p == NULL)
			elog(ERROR, "could not prepare \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "could not keep the plan of \"%s\"", sql);
		*plan = p;
	}
	return *plan;
}

/* Execute a kept plan; raise on SPI failure.  Returns SPI_processed. */
uint64
pgcall_exec(SPIPlanPtr plan, const Datum *values, const char *nulls, bool read_only,
			long count)
{
	int			rc = SPI_execute_plan(plan, (Datum *) values, nulls, read_only, count);

	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/* Column col (1-based) of result row row as a C string, NULL if null. */
char *
pgcall_getstr(uint64 row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/* Column col of result row row as a Datum; *isnull says whether it is null. */
Datum
pgcall_getdatum(uint64 row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

/*
 * Pin search_path to pg_catalog, pg_temp, as SET search_path on a function
 * does, unless it is that already: returns the GUC nest level to give
 * pgcall_unpin_search_path, or -1 when nothing was set.  An error in
 * between is undone by the (sub)transaction's abort.
 */
int
pgcall_pin_search_path(void)
{
	int			level;

	if (namespace_search_path != NULL && strcmp(namespace_search_path, PGCALL_SEARCH_PATH) == 0)
		return -1;
	level = NewGUCNestLevel();
	(void) set_config_option("search_path", PGCALL_SEARCH_PATH, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

void
pgcall_unpin_search_path(int level)
{
	if (level >= 0)
		AtEOXact_GUC(true, level);
}

/*
 * Run as the owner of relid with search_path pinned, the way a SECURITY
 * DEFINER function with SET search_path runs.  For work that happens
 * outside any pgcall function (the commit-time event flush), whose user and
 * search_path are whatever the session had.  An error in between is undone
 * by the transaction abort.
 */
void
pgcall_enter_owner(PgcallOwner *ctx, Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&ctx->save_userid, &ctx->save_sec_context);
	SetUserIdAndSecContext(owner, ctx->save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	ctx->nestlevel = pgcall_pin_search_path();
}

void
pgcall_leave_owner(PgcallOwner *ctx)
{
	pgcall_unpin_search_path(ctx->nestlevel);
	SetUserIdAndSecContext(ctx->save_userid, ctx->save_sec_context);
}
