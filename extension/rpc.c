/*
 * rpc.c: pgcall.rpc(schema, fn, args, single), the dispatcher behind the
 * bridge's POST/GET /rpc/<fn> and WebSocket "call" messages.
 *
 * It resolves the function and its argument names from the catalog, the way
 * PostgREST does (named arguments taken from the keys of a JSON object, a
 * single unnamed json/jsonb parameter taking the whole object), and runs it
 * as the calling role, so EXECUTE grants and row-level security apply.  Names
 * reach the SQL text only as the catalog spells them, quoted; argument values
 * only as a parameter, through jsonb_to_record.
 *
 * What is reachable: only schemas named in pgcall.rpc_schemas (never
 * pg_catalog, information_schema or another pg_ schema), and in schema
 * pgcall only the functions listed in pgcall.api_function.  Trigger
 * functions, functions taking or returning pseudo-types, procedures,
 * aggregates and rpc itself never are.  A function outside that set answers
 * exactly like a function that does not exist, so the dispatcher is no
 * oracle for what else the database holds.
 *
 * Lifetime: one prepared plan per (schema, function, set of argument names,
 * single) is kept per backend in a hash table.  Any change to pg_proc, or to
 * pgcall.rpc_schemas, marks every entry stale; a stale entry is resolved and
 * planned again on its next use.  A function called through rpc may itself
 * change pg_proc and call rpc again with the same key, so a plan can go
 * stale while an outer call still executes it: each plan is reference
 * counted, and a replaced plan is freed only once nobody executes it.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "pgcall.h"

typedef enum RpcKind
{
	RPC_VOID,
	RPC_SCALAR,
	RPC_OBJECT,
	RPC_ARRAY
} RpcKind;

static const char *const rpc_kind_names[] = {"void", "scalar", "object", "array"};

/* Each name as "<length>:<name>", so no name can pose as two (or as none). */
#define RPC_KEY_MAX (2 * (NAMEDATALEN + 4) + 100 * (NAMEDATALEN + 4) + 4)

/*
 * A kept plan and how many calls are executing it.  A plan replaced while
 * in use is marked retired and freed by the last call that releases it.
 */
typedef struct RpcPlan
{
	SPIPlanPtr	plan;
	int			refs;
	bool		retired;
} RpcPlan;

typedef struct RpcEntry
{
	char		key[RPC_KEY_MAX];	/* hash key, see rpc() */
	bool		valid;
	Oid			funcoid;
	RpcKind		kind;
	bool		single;
	bool		retset;
	char		volatility;
	bool		own_api;		/* a function of schema pgcall */
	RpcPlan    *plan;
} RpcEntry;

static HTAB *rpc_cache = NULL;

/* pgcall.rpc_schemas: the schemas rpc may dispatch into. */
static char *rpc_schemas = NULL;

static void
rpc_invalidate_all(void)
{
	HASH_SEQ_STATUS status;
	RpcEntry   *entry;

	if (rpc_cache == NULL)
		return;
	hash_seq_init(&status, rpc_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
		entry->valid = false;
}

static void
rpc_proc_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	rpc_invalidate_all();
}

static void
rpc_plan_release(RpcPlan *p)
{
	Assert(p->refs > 0);
	if (--p->refs == 0 && p->retired)
	{
		SPI_freeplan(p->plan);
		pfree(p);
	}
}

/* Replace an entry's plan; the old one lives on while calls execute it. */
static void
rpc_plan_replace(RpcEntry *entry, SPIPlanPtr plan)
{
	RpcPlan    *p = MemoryContextAllocZero(TopMemoryContext, sizeof(RpcPlan));

	p->plan = plan;
	if (entry->plan)
	{
		if (entry->plan->refs > 0)
			entry->plan->retired = true;
		else
		{
			SPI_freeplan(entry->plan->plan);
			pfree(entry->plan);
		}
	}
	entry->plan = p;
}

static bool
is_system_schema(const char *name)
{
	return strcmp(name, "information_schema") == 0 || strncmp(name, "pg_", 3) == 0;
}

static bool
check_rpc_schemas(char **newval, void **extra, GucSource source)
{
	char	   *raw = pstrdup(*newval);
	List	   *names;
	ListCell   *lc;

	if (!SplitIdentifierString(raw, ',', &names))
	{
		GUC_check_errdetail("List syntax is invalid: give schema names separated by commas.");
		return false;
	}
	foreach(lc, names)
	{
		const char *name = lfirst(lc);

		if (is_system_schema(name))
		{
			GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
			GUC_check_errdetail("Schema \"%s\" holds PostgreSQL's own objects and can never be exposed.", name);
			GUC_check_errhint("List pgcall and the schemas of your own API functions.");
			return false;
		}
	}
	return true;
}

static void
assign_rpc_schemas(const char *newval, void *extra)
{
	rpc_invalidate_all();
}

void
pgcall_init_rpc(void)
{
	DefineCustomStringVariable("pgcall.rpc_schemas",
							   "Schemas whose functions pgcall.rpc (HTTP and WebSocket calls) may call.",
							   "In schema pgcall only the functions listed in pgcall.api_function are reachable.  "
							   "PostgreSQL's own schemas can never be listed.",
							   &rpc_schemas,
							   "pgcall",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   check_rpc_schemas, assign_rpc_schemas, NULL);
}

static bool
schema_is_exposed(const char *schema)
{
	char	   *raw;
	List	   *names;
	ListCell   *lc;

	if (rpc_schemas == NULL || is_system_schema(schema))
		return false;
	raw = pstrdup(rpc_schemas);
	if (!SplitIdentifierString(raw, ',', &names))
		return false;
	foreach(lc, names)
		if (strcmp(lfirst(lc), schema) == 0)
			return true;
	return false;
}

static void
rpc_cache_init(void)
{
	HASHCTL		ctl;

	ctl.keysize = RPC_KEY_MAX;
	ctl.entrysize = sizeof(RpcEntry);
	rpc_cache = hash_create("pgcall rpc plans", 64, &ctl, HASH_ELEM | HASH_STRINGS);
	CacheRegisterSyscacheCallback(PROCOID, rpc_proc_callback, (Datum) 0);
}

/*
 * Raise an error the bridge turns into PostgREST's own body and status:
 * SQLSTATE PGRST, the body as JSON in the message, {status, headers} in the
 * detail.
 */
static void
raise_pgrst(int status, const char *code, const char *message, const char *details,
			const char *hint)
{
	StringInfoData body;
	StringInfoData meta;

	initStringInfo(&body);
	appendStringInfoString(&body, "{\"code\":");
	escape_json(&body, code);
	appendStringInfoString(&body, ",\"message\":");
	escape_json(&body, message);
	appendStringInfoString(&body, ",\"details\":");
	if (details)
		escape_json(&body, details);
	else
		appendStringInfoString(&body, "null");
	appendStringInfoString(&body, ",\"hint\":");
	if (hint)
		escape_json(&body, hint);
	else
		appendStringInfoString(&body, "null");
	appendStringInfoChar(&body, '}');

	initStringInfo(&meta);
	appendStringInfo(&meta, "{\"status\":%d,\"headers\":{}}", status);

	ereport(ERROR,
			(errcode(MAKE_SQLSTATE('P', 'G', 'R', 'S', 'T')),
			 errmsg_internal("%s", body.data),
			 errdetail_internal("%s", meta.data)));
}

/* Top-level keys of a jsonb object, sorted (jsonb keeps them sorted). */
static List *
object_keys(Jsonb *args)
{
	List	   *keys = NIL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			depth = 0;

	it = JsonbIteratorInit(&args->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
			depth++;
		else if (tok == WJB_END_OBJECT || tok == WJB_END_ARRAY)
			depth--;
		else if (tok == WJB_KEY && depth == 1)
			keys = lappend(keys, pnstrdup(v.val.string.val, v.val.string.len));
	}
	return keys;
}

static char *
join_names(List *names, const char *sep)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, names)
		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) > 0 ? sep : "",
						 (char *) lfirst(lc));
	return buf.data;
}

/*
 * Whether rpc may call this function at all: a plain function (not a
 * procedure, aggregate or window function) that neither takes nor returns a
 * pseudo-type (trigger, event_trigger, internal, cstring, handlers, the
 * polymorphic any* types) other than returning void or record.
 */
static bool
is_callable_function(Oid funcoid)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcoid));
	Form_pg_proc proc;
	bool		ok;

	if (!HeapTupleIsValid(tup))
		return false;
	proc = (Form_pg_proc) GETSTRUCT(tup);
	ok = proc->prokind == PROKIND_FUNCTION;
	if (ok && get_typtype(proc->prorettype) == TYPTYPE_PSEUDO)
		ok = proc->prorettype == VOIDOID || proc->prorettype == RECORDOID;
	for (int i = 0; ok && i < proc->pronargs; i++)
		ok = get_typtype(proc->proargtypes.values[i]) != TYPTYPE_PSEUDO;
	ReleaseSysCache(tup);
	return ok;
}

/* Whether schema pgcall's function fn is part of the HTTP/WebSocket API. */
static bool
is_api_function(const char *fn)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1];

	values[0] = CStringGetTextDatum(fn);
	return pgcall_exec(pgcall_plan(&plan,
								   "SELECT 1 FROM pgcall.api_function WHERE name = $1",
								   1, types),
					   values, NULL, true, 1) == 1;
}

static void
raise_not_found(const char *schema, const char *fn, List *keys)
{
	char	   *args = join_names(keys, ", ");

	raise_pgrst(404, "PGRST202",
				psprintf("Could not find the function %s.%s(%s) in the schema cache",
						 schema, fn, args),
				psprintf("Searched for the function %s.%s with parameters %s or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.",
						 schema, fn, list_length(keys) > 0 ? args : "(none)"),
				NULL);
}

/*
 * Find the one function of schema.fn that takes exactly these named
 * arguments (others defaulted), or a single unnamed json/jsonb argument.
 * Sets *whole_object for the latter.
 */
static Oid
resolve_function(const char *schema, const char *fn, List *keys, bool *whole_object)
{
	List	   *names = list_make2(makeString(pstrdup(schema)), makeString(pstrdup(fn)));
	FuncCandidateList cands;
	Oid			found = InvalidOid;
	int			nfound = 0;

	*whole_object = false;
	if (!schema_is_exposed(schema))
		raise_pgrst(406, "PGRST106", psprintf("Invalid schema: %s", schema), NULL,
					psprintf("Only the following schemas are exposed: %s",
							 rpc_schemas ? rpc_schemas : ""));
	if (strcmp(schema, "pgcall") == 0 && !is_api_function(fn))
		raise_not_found(schema, fn, keys);

	if (list_length(keys) <= FUNC_MAX_ARGS)
	{
		cands = FuncnameGetCandidates(names, list_length(keys), keys,
									  false, true, false, true);
		for (; cands; cands = cands->next)
		{
			/*
			 * With defaults expanded, two overloads that match the same
			 * arguments come back as one candidate without an OID.
			 */
			if (!OidIsValid(cands->oid))
			{
				nfound += 2;
				continue;
			}
			if (!is_callable_function(cands->oid))
				continue;
			found = cands->oid;
			nfound++;
		}
	}
	if (nfound == 0)
	{
		cands = FuncnameGetCandidates(names, 1, NIL, false, false, false, true);
		for (; cands; cands = cands->next)
		{
			HeapTuple	tup;
			Oid		   *argtypes;
			char	  **argnames;
			char	   *argmodes;
			int			n;

			if (!is_callable_function(cands->oid) ||
				(cands->args[0] != JSONOID && cands->args[0] != JSONBOID))
				continue;
			tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(cands->oid));
			if (!HeapTupleIsValid(tup))
				continue;
			n = get_func_arg_info(tup, &argtypes, &argnames, &argmodes);
			ReleaseSysCache(tup);
			if (n == 1 && (argnames == NULL || argnames[0][0] == '\0'))
			{
				found = cands->oid;
				nfound++;
				*whole_object = true;
			}
		}
	}

	if (nfound == 0)
		raise_not_found(schema, fn, keys);
	if (nfound > 1)
		raise_pgrst(300, "PGRST203",
					psprintf("Could not choose the best candidate function between several overloads of %s.%s",
							 schema, fn),
					NULL,
					"Try renaming the parameters or the function itself in the database so function overloading can be resolved");
	return found;
}

/* Build and prepare the statement that calls funcoid with the given keys. */
static void
prepare_call(RpcEntry *entry, const char *schema, Oid funcoid, List *keys,
			 bool whole_object, bool single)
{
	HeapTuple	tup;
	Form_pg_proc proc;
	Oid		   *argtypes;
	char	  **argnames;
	char	   *argmodes;
	int			nargs;
	StringInfoData coldefs;
	StringInfoData callargs;
	StringInfoData sql;
	char	   *fname;
	TypeFuncClass tfc;
	Oid			rettype;
	Oid			paramtypes[1] = {JSONBOID};
	SPIPlanPtr	plan;
	const char *from;

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", funcoid);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	nargs = get_func_arg_info(tup, &argtypes, &argnames, &argmodes);
	fname = quote_qualified_identifier(schema, NameStr(proc->proname));
	tfc = get_func_result_type(funcoid, &rettype, NULL);

	initStringInfo(&coldefs);
	initStringInfo(&callargs);
	if (whole_object)
		appendStringInfo(&callargs, "$1::%s",
						 format_type_extended(argtypes[0], -1, FORMAT_TYPE_FORCE_QUALIFY));
	else
	{
		for (int i = 0; i < nargs; i++)
		{
			char		mode = argmodes ? argmodes[i] : PROARGMODE_IN;
			const char *qname;
			ListCell   *lc;
			bool		given = false;

			if (mode == PROARGMODE_OUT || mode == PROARGMODE_TABLE || argnames == NULL)
				continue;
			foreach(lc, keys)
				if (strcmp(lfirst(lc), argnames[i]) == 0)
					given = true;
			if (!given)
				continue;
			qname = quote_identifier(argnames[i]);
			appendStringInfo(&coldefs, "%s%s %s", coldefs.len ? ", " : "", qname,
							 format_type_extended(argtypes[i], -1, FORMAT_TYPE_FORCE_QUALIFY));
			appendStringInfo(&callargs, "%s%s => _a.%s", callargs.len ? ", " : "",
							 qname, qname);
		}
	}
	from = coldefs.len > 0
		? psprintf(" FROM pg_catalog.jsonb_to_record($1) AS _a(%s)", coldefs.data)
		: "";

	initStringInfo(&sql);
	if (proc->proretset)
	{
		entry->kind = single ? RPC_OBJECT : RPC_ARRAY;
		if (single)
			appendStringInfo(&sql, "SELECT pg_catalog.to_json(_r)::text%s%s %s(%s) AS _r LIMIT 2",
							 from, coldefs.len ? " CROSS JOIN LATERAL" : " FROM",
							 fname, callargs.data);
		else
			appendStringInfo(&sql,
							 "SELECT COALESCE(pg_catalog.json_agg(_r)::text, '[]'), pg_catalog.count(*)%s%s %s(%s) AS _r",
							 from, coldefs.len ? " CROSS JOIN LATERAL" : " FROM",
							 fname, callargs.data);
	}
	else if (proc->prorettype == VOIDOID)
	{
		entry->kind = RPC_VOID;
		appendStringInfo(&sql, "SELECT %s(%s)%s", fname, callargs.data, from);
	}
	else if (tfc == TYPEFUNC_COMPOSITE)
	{
		entry->kind = RPC_OBJECT;
		appendStringInfo(&sql, "SELECT pg_catalog.to_json(_r)::text%s%s %s(%s) AS _r",
						 from, coldefs.len ? " CROSS JOIN LATERAL" : " FROM",
						 fname, callargs.data);
	}
	else if (tfc == TYPEFUNC_RECORD)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function %s returns record without a column definition and cannot be called by name", fname),
				 errhint("Give the function OUT parameters or a RETURNS TABLE clause.")));
	else
	{
		entry->kind = RPC_SCALAR;
		appendStringInfo(&sql, "SELECT pg_catalog.to_json(%s(%s))::text%s",
						 fname, callargs.data, from);
	}
	entry->retset = proc->proretset;
	entry->volatility = proc->provolatile;
	entry->own_api = strcmp(schema, "pgcall") == 0;
	ReleaseSysCache(tup);

	plan = SPI_prepare_cursor(sql.data, (coldefs.len > 0 || whole_object) ? 1 : 0, paramtypes,
							  CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql.data, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep the plan for %s", fname);
	rpc_plan_replace(entry, plan);
	entry->funcoid = funcoid;
	entry->single = single;
	entry->valid = true;
}

/*
 * Resolve and prepare a new or stale entry; a new entry that fails is
 * removed again so the cache holds no half-built entries.
 */
static void
plan_entry(RpcEntry *entry, const char *key, const char *schema, const char *fn,
		   List *keys, bool single)
{
	PG_TRY();
	{
		bool		whole_object;
		Oid			funcoid = resolve_function(schema, fn, keys, &whole_object);

		prepare_call(entry, schema, funcoid, keys, whole_object, single);
	}
	PG_CATCH();
	{
		if (entry->plan == NULL)
			hash_search(rpc_cache, key, HASH_REMOVE, NULL);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* Execute a plan, holding a reference to it meanwhile. */
static int
rpc_execute(RpcPlan *plan, Datum *values)
{
	volatile int rc = 0;

	plan->refs++;
	PG_TRY();
	{
		rc = SPI_execute_plan(plan->plan, values, NULL, false, 0);
	}
	PG_CATCH();
	{
		rpc_plan_release(plan);
		PG_RE_THROW();
	}
	PG_END_TRY();
	rpc_plan_release(plan);
	return rc;
}

PG_FUNCTION_INFO_V1(rpc);

/*
 * rpc(schema text, fn text, args jsonb, single boolean)
 *   RETURNS (kind text, body text, rows bigint)
 */
Datum
rpc(PG_FUNCTION_ARGS)
{
	const char *schema;
	const char *fn;
	Jsonb	   *args;
	bool		single = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);
	List	   *keys;
	ListCell   *lc;
	StringInfoData keybuf;
	char		key[RPC_KEY_MAX];
	RpcEntry   *entry;
	bool		found;
	RpcKind		kind;
	bool		want_single;
	bool		retset;
	RpcPlan    *plan;
	Datum		values[1];
	int			rc;
	TupleDesc	tupdesc;
	Datum		result[3];
	bool		nulls[3] = {false, false, false};
	int64		rows = 0;
	char	   *body = NULL;
	MemoryContext caller = CurrentMemoryContext;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schema and function name must not be null")));
	schema = text_to_cstring(PG_GETARG_TEXT_PP(0));
	fn = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (PG_ARGISNULL(2))
		args = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	else
		args = PG_GETARG_JSONB_P(2);
	if (!JB_ROOT_IS_OBJECT(args) || JB_ROOT_IS_SCALAR(args))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("function arguments must be a JSON object"),
				 errdetail("Pass named arguments as {\"name\": value, ...}.")));
	if (strlen(schema) >= NAMEDATALEN || strlen(fn) >= NAMEDATALEN)
		raise_pgrst(404, "PGRST202",
					psprintf("Could not find the function %s.%s in the schema cache", schema, fn),
					"The schema or function name is longer than PostgreSQL allows.", NULL);

	keys = object_keys(args);

	/*
	 * The key spells every name with its length, so names holding commas,
	 * slashes or parentheses cannot make two argument lists look alike.
	 */
	initStringInfo(&keybuf);
	appendStringInfo(&keybuf, "%d:%s%d:%s", (int) strlen(schema), schema, (int) strlen(fn), fn);
	foreach(lc, keys)
		appendStringInfo(&keybuf, "%d:%s", (int) strlen(lfirst(lc)), (char *) lfirst(lc));
	appendStringInfoString(&keybuf, single ? "/1" : "/0");
	if (list_length(keys) > FUNC_MAX_ARGS || keybuf.len >= RPC_KEY_MAX)
		raise_pgrst(404, "PGRST202",
					psprintf("Could not find the function %s.%s in the schema cache", schema, fn),
					"Too many or too long argument names: a function has at most 100 parameters, each named in at most 63 bytes.",
					NULL);
	memset(key, 0, sizeof(key));
	memcpy(key, keybuf.data, keybuf.len);

	if (rpc_cache == NULL)
		rpc_cache_init();
	entry = hash_search(rpc_cache, key, HASH_ENTER, &found);
	if (!found)
	{
		entry->valid = false;
		entry->plan = NULL;
	}

	SPI_connect();
	if (!entry->valid)
		plan_entry(entry, key, schema, fn, keys, single);

	/*
	 * What this call needs of the entry, copied: the function called below
	 * may replan the same entry (see the file header).
	 */
	kind = entry->kind;
	want_single = entry->single;
	retset = entry->retset;
	plan = entry->plan;

	if (XactReadOnly && entry->own_api && entry->volatility == PROVOLATILE_VOLATILE)
		raise_pgrst(405, "PGRST101",
					psprintf("Function %s.%s changes data and cannot be called with GET", schema, fn),
					"GET and HEAD requests run in a read-only transaction.",
					psprintf("Call it with POST /rpc/%s and the arguments as a JSON object.", fn));

	values[0] = JsonbPGetDatum(args);
	rc = rpc_execute(plan, values);
	if (rc < 0)
		elog(ERROR, "executing %s.%s failed: %s", schema, fn, SPI_result_code_string(rc));

	if (kind != RPC_VOID)
	{
		char	   *value;

		if (want_single && retset && SPI_processed != 1)
			raise_pgrst(406, "PGRST116",
						"JSON object requested, multiple (or no) rows returned",
						psprintf("The result contains %s rows", SPI_processed == 0 ? "0" : "more than 1"),
						NULL);
		value = SPI_processed > 0
			? SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)
			: NULL;
		body = MemoryContextStrdup(caller, value ? value : "null");
		rows = 1;
		if (kind == RPC_ARRAY)
			rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											   2, &nulls[2]));
	}
	SPI_finish();

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "rpc must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	result[0] = CStringGetTextDatum(rpc_kind_names[kind]);
	if (body)
		result[1] = CStringGetTextDatum(body);
	else
		nulls[1] = true;
	result[2] = Int64GetDatum(rows);
	nulls[2] = false;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, result, nulls)));
}
