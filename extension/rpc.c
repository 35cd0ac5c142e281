/*
 * rpc.c: pgcall.rpc(schema, fn, args, single, query, prefer, accept, range),
 * the dispatcher behind the bridge's POST/GET /rpc/<fn> and WebSocket
 * "call" messages, and the same for psql users.
 *
 * It resolves the function and its argument names from the catalog
 * (rpc_resolve.c) the way PostgREST does (named arguments taken from the keys of a JSON object; a
 * single unnamed json, jsonb, text, xml or bytea parameter taken from the
 * key ""; a single unnamed json/jsonb parameter taking the whole object),
 * and runs it as the calling role, so EXECUTE grants and row-level security
 * apply.  PostgREST's query grammar (select, filters, order, limit, offset:
 * parsed by rpc_query.c) and the Prefer, Accept and Range headers are
 * applied around the call in the same statement.  Names reach the SQL text
 * only as the catalog spells them, quoted, after they were found there;
 * values only as parameters: the arguments as $1 (through
 * jsonb_to_record), filter values as elements of $2 (a text[], each cast to
 * its column's type), limit and offset as $3 and $4.
 *
 * What is reachable: only schemas named in pgcall.rpc_schemas (never
 * pg_catalog, information_schema or another pg_ schema), and in schema
 * pgcall only the functions listed in pgcall.api_function.  Trigger
 * functions, functions taking or returning pseudo-types, procedures,
 * aggregates and rpc itself never are.  A function outside that set answers
 * exactly like a function that does not exist (also in the "Perhaps you
 * meant" hint), so the dispatcher is no oracle for what else the database
 * holds.
 *
 * Lifetime: one prepared plan per request shape (schema, function, set of
 * argument names, and everything of the query that changes the SQL, values
 * excluded: rq_shape()) is kept per backend in a hash table keyed by a hash
 * of that text; the entry keeps the whole text and a request whose text
 * differs never runs the entry's plan.  Any change to pg_proc, or to
 * pgcall.rpc_schemas, marks every entry stale; a stale entry is resolved and
 * planned again on its next use.  A function called through rpc may itself
 * change pg_proc and call rpc again with the same key, so a plan can go
 * stale while an outer call still executes it: each plan is reference
 * counted, and a replaced plan is freed only once nobody executes it.
 *
 * Size: about 1,200 lines, over the ~800 the project aims at.  What is left
 * here is one pipeline around one cache entry (RpcEntry, RpcPlan): the
 * request's shape and its plan, the statement that calls the function
 * with the query applied, and the result as JSON or CSV.  Splitting the
 * statement builder off would export the cache's entry and plan
 * bookkeeping to a second file; resolution, which needs none of it, is in
 * rpc_resolve.c, and the query-string parser in rpc_query.c.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "common/hashfn.h"
#include "mb/pg_wchar.h"
#include "parser/parse_type.h"
#include "utils/guc.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "pgcall.h"
#include "rpc.h"
#include "rpc_query.h"

typedef enum RpcKind
{
	RPC_VOID,
	RPC_SCALAR,
	RPC_OBJECT,
	RPC_ARRAY,
	RPC_CSV
} RpcKind;

static const char *const rpc_kind_names[] = {"void", "scalar", "object", "array", "csv"};

/* At most this many plans are kept per backend; more empties the cache. */
#define RPC_CACHE_MAX 1024

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
	uint64		hash;			/* hash key: of fullkey */
	char	   *fullkey;		/* the request's shape, see rpc() */
	bool		valid;
	Oid			funcoid;
	RpcKind		kind;
	bool		single;
	bool		retset;
	char		volatility;
	bool		own_api;		/* a function of schema pgcall */
	bool		total;			/* the statement also counts all rows */
	bool		jsonb_value;	/* RPC_SCALAR: the statement gives the jsonb itself */
	int			csv_columns;	/* RPC_CSV: columns of the result */
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

/* An entry lets go of its plan: freed now, or by the last call executing it. */
static void
rpc_plan_drop(RpcPlan *p)
{
	if (p->refs > 0)
		p->retired = true;
	else
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
		rpc_plan_drop(entry->plan);
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

	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(RpcEntry);
	rpc_cache = hash_create("pgcall rpc plans", 64, &ctl, HASH_ELEM | HASH_BLOBS);
	CacheRegisterSyscacheCallback(PROCOID, rpc_proc_callback, (Datum) 0);
}

/*
 * Raise an error the bridge turns into PostgREST's own body and status:
 * SQLSTATE PGRST, the body as JSON in the message, {status, headers} in the
 * detail.
 */
void
pgcall_rpc_raise(int status, const char *code, const char *message, const char *details,
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

char *
pgcall_rpc_join_names(List *names, const char *sep)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, names)
		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) > 0 ? sep : "",
						 (char *) lfirst(lc));
	return buf.data;
}

/* ------------------------------------------------------------ SQL */

/* What the statement knows of the function's result, to name columns. */
typedef struct RpcResult
{
	const char *schema;
	const char *fn;
	TupleDesc	tupdesc;		/* composite result: its columns */
	Oid			rowtype;		/* a named row type (computed fields), or 0 */
	const char *scalar_name;	/* SETOF scalar: the column's name */
	Oid			scalar_type;
} RpcResult;

/*
 * A column of the result as SQL, and its type: a column of the row, or a
 * computed field (a function of the schema taking the row type).  Unknown
 * names are refused before any SQL exists.
 */
static char *
column_sql(const RpcResult *r, const char *name, Oid *type)
{
	if (r->tupdesc)
	{
		for (int i = 0; i < r->tupdesc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(r->tupdesc, i);

			if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			{
				*type = att->atttypid;
				return psprintf("(_r).%s", quote_identifier(name));
			}
		}
	}
	else if (r->scalar_name && strcmp(r->scalar_name, name) == 0)
	{
		*type = r->scalar_type;
		return psprintf("(_r).%s", quote_identifier(name));
	}
	if (OidIsValid(r->rowtype) && (strcmp(r->schema, "pgcall") != 0 || pgcall_rpc_is_api_function(name)))
	{
		List	   *names = list_make2(makeString(pstrdup(r->schema)), makeString(pstrdup(name)));
		FuncCandidateList c = FuncnameGetCandidates(names, 1, NIL, false, false, false, true);

		for (; c; c = c->next)
			if (c->args[0] == r->rowtype && pgcall_rpc_is_callable(c->oid) &&
				!get_func_retset(c->oid))
			{
				*type = get_func_rettype(c->oid);
				return psprintf("%s(_r)", quote_qualified_identifier(r->schema, name));
			}
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column %s.%s does not exist", r->fn, name),
			 errhint("Name a column of the function's result.")));
	return NULL;
}

static char *
typed_value(int idx, Oid type)
{
	return psprintf("$2[%d]::%s", idx, format_type_extended(type, -1, FORMAT_TYPE_FORCE_QUALIFY));
}

static void
append_expr(StringInfo buf, const RpcResult *r, const RqExpr *e)
{
	Oid			type;
	char	   *col;
	const RqOpInfo *op;

	if (e->negate)
		appendStringInfoString(buf, "NOT ");
	appendStringInfoChar(buf, '(');
	if (e->kind != RQ_LEAF)
	{
		for (int i = 0; i < e->nchildren; i++)
		{
			if (i)
				appendStringInfoString(buf, e->kind == RQ_AND ? " AND " : " OR ");
			append_expr(buf, r, e->children[i]);
		}
		appendStringInfoChar(buf, ')');
		return;
	}
	col = column_sql(r, e->column, &type);
	op = rq_op_info(e->op);
	switch (op->form)
	{
		case RQ_FORM_COMPARE:
			appendStringInfo(buf, "%s %s %s", col, op->sql, typed_value(e->vidx, type));
			break;
		case RQ_FORM_PATTERN:
			appendStringInfo(buf, "%s %s $2[%d]", col, op->sql, e->vidx);
			break;
		case RQ_FORM_IN:
			if (e->nvalues == 0)
				appendStringInfoString(buf, "false");
			else
			{
				appendStringInfo(buf, "%s %s (", col, op->sql);
				for (int i = 0; i < e->nvalues; i++)
					appendStringInfo(buf, "%s%s", i ? ", " : "", typed_value(e->vidx + i, type));
				appendStringInfoChar(buf, ')');
			}
			break;
		case RQ_FORM_IS:
			{
				static const char *const words[] = {
					[RQ_IS_NULL] = "IS NULL", [RQ_IS_NOT_NULL] = "IS NOT NULL",
					[RQ_IS_TRUE] = "IS TRUE", [RQ_IS_FALSE] = "IS FALSE",
					[RQ_IS_UNKNOWN] = "IS UNKNOWN",
				};

				appendStringInfo(buf, "%s %s", col, words[e->is]);
				break;
			}
		case RQ_FORM_FTS:
			if (e->nvalues == 2)
				appendStringInfo(buf, "%s OPERATOR(pg_catalog.@@) pg_catalog.%s($2[%d]::pg_catalog.regconfig, $2[%d])",
								 col, op->sql, e->vidx, e->vidx + 1);
			else
				appendStringInfo(buf, "%s OPERATOR(pg_catalog.@@) pg_catalog.%s($2[%d])",
								 col, op->sql, e->vidx);
			break;
	}
	appendStringInfoChar(buf, ')');
}

/* The select list; *scalar_default when a SETOF scalar is selected whole. */
static char *
select_sql(const RpcResult *r, const RqQuery *q, bool *scalar_default)
{
	StringInfoData buf;
	bool		star_only = true;

	for (int i = 0; i < q->nselect; i++)
		star_only &= q->select[i].column == NULL;
	*scalar_default = r->scalar_name != NULL && star_only;
	initStringInfo(&buf);
	if (star_only)
	{
		appendStringInfoString(&buf, "(_r).*");
		return buf.data;
	}
	for (int i = 0; i < q->nselect; i++)
	{
		const RqSelect *s = &q->select[i];
		Oid			type;

		if (i)
			appendStringInfoString(&buf, ", ");
		if (!s->column)
		{
			appendStringInfoString(&buf, "(_r).*");
			continue;
		}
		appendStringInfoString(&buf, column_sql(r, s->column, &type));
		if (s->cast)
		{
			Oid			cast_type;
			int32		typmod;

			parseTypeString(s->cast, &cast_type, &typmod, false);
			appendStringInfo(&buf, "::%s",
							 format_type_extended(cast_type, typmod,
												  FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
		}
		appendStringInfo(&buf, " AS %s", quote_identifier(s->alias ? s->alias : s->column));
	}
	return buf.data;
}

static char *
order_sql(const RpcResult *r, const RqQuery *q)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < q->norder; i++)
	{
		Oid			type;

		appendStringInfo(&buf, "%s%s%s%s", i ? ", " : " ORDER BY ",
						 column_sql(r, q->order[i].column, &type),
						 q->order[i].desc ? " DESC" : "",
						 q->order[i].nulls == 1 ? " NULLS FIRST" : q->order[i].nulls == 2 ? " NULLS LAST" : "");
	}
	return buf.data;
}

static void
refuse_query(const char *schema, const char *fn, const char *what)
{
	pgcall_rpc_raise(400, "PGRST100",
				psprintf("\"failed to parse %s\": %s.%s does not return rows", what, schema, fn),
				"select, filters, order, limit, offset and text/csv apply to functions that return rows (a composite type or a set).",
				"In a query string select, order, limit, offset, or and and are PostgREST's own parameters, also on GET: pass arguments with these names in a POST body.");
}

/*
 * Build and prepare the statement that calls the function with the given
 * keys and applies the query around it.  Parameters: $1 the arguments
 * (jsonb), $2 the filter values (text[]), $3 limit (bigint, NULL for all),
 * $4 offset (bigint).
 */
static void
prepare_call(RpcEntry *entry, const char *schema, const RpcCand *cand, RpcCallMode mode,
			 List *keys, bool single, const RqQuery *q)
{
	HeapTuple	tup;
	Form_pg_proc proc;
	StringInfoData coldefs;
	StringInfoData callargs;
	StringInfoData sql;
	char	   *fname;
	TypeFuncClass tfc;
	Oid			rettype;
	TupleDesc	tupdesc = NULL;
	Oid			paramtypes[4] = {JSONBOID, TEXTARRAYOID, INT8OID, INT8OID};
	SPIPlanPtr	plan;
	char	   *from;
	bool		rows_result;
	RpcResult	res = {0};
	bool		want_total = q->count || q->max_affected >= 0;

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(cand->oid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", cand->oid);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	fname = quote_qualified_identifier(schema, NameStr(proc->proname));
	tfc = get_func_result_type(cand->oid, &rettype, &tupdesc);

	initStringInfo(&coldefs);
	initStringInfo(&callargs);
	if (mode == CALL_WHOLE)
		appendStringInfo(&callargs, "$1::%s",
						 format_type_extended(cand->types[0], -1, FORMAT_TYPE_FORCE_QUALIFY));
	else
	{
		for (int i = 0; i < cand->nin; i++)
		{
			const char *type = format_type_extended(cand->types[i], -1, FORMAT_TYPE_FORCE_QUALIFY);
			ListCell   *lc;
			bool		given = false;

			foreach(lc, keys)
				given |= strcmp(lfirst(lc), cand->names[i]) == 0;
			if (!given)
				continue;
			if (cand->names[i][0] == '\0')
			{
				/* the single unnamed parameter: the value of key "" */
				if (cand->types[i] == JSONBOID || cand->types[i] == JSONOID)
					appendStringInfo(&callargs, "($1 OPERATOR(pg_catalog.->) '')::%s", type);
				else
					appendStringInfo(&callargs, "($1 OPERATOR(pg_catalog.->>) '')::%s", type);
				continue;
			}
			appendStringInfo(&coldefs, "%s%s %s", coldefs.len ? ", " : "",
							 quote_identifier(cand->names[i]), type);
			appendStringInfo(&callargs, "%s%s => _a.%s", callargs.len ? ", " : "",
							 quote_identifier(cand->names[i]), quote_identifier(cand->names[i]));
		}
	}

	res.schema = schema;
	res.fn = NameStr(proc->proname);
	rows_result = proc->proretset || tfc == TYPEFUNC_COMPOSITE;
	if (tfc == TYPEFUNC_COMPOSITE)
	{
		res.tupdesc = tupdesc;
		if (get_typtype(rettype) == TYPTYPE_COMPOSITE && OidIsValid(get_typ_typrelid(rettype)))
			res.rowtype = rettype;
	}
	else if (proc->proretset && tfc == TYPEFUNC_SCALAR)
	{
		res.scalar_name = NameStr(proc->proname);
		res.scalar_type = rettype;
	}

	/* the call, as a row source named _r */
	if (res.scalar_name)
		from = psprintf("(SELECT _s AS %s FROM %s(%s) AS _s) AS _r",
						quote_identifier(res.scalar_name), fname, callargs.data);
	else
		from = psprintf("%s(%s) AS _r", fname, callargs.data);
	if (coldefs.len > 0)
		from = psprintf("pg_catalog.jsonb_to_record($1) AS _a(%s) CROSS JOIN LATERAL %s",
						coldefs.data, from);

	initStringInfo(&sql);
	entry->total = false;
	entry->jsonb_value = false;
	entry->csv_columns = 0;
	if (tfc == TYPEFUNC_RECORD)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function %s returns record without a column definition and cannot be called by name", fname),
				 errhint("Give the function OUT parameters or a RETURNS TABLE clause.")));
	if (!rows_result)
	{
		if (!rq_is_plain(q))
			refuse_query(schema, res.fn, q->where ? "filter" : q->norder ? "order" :
						 q->nselect ? "select" : "limit");
		if (q->media == RQ_MEDIA_CSV)
			pgcall_rpc_raise(406, "PGRST107", "None of these media types are available: text/csv",
						NULL, NULL);
		if (proc->prorettype == VOIDOID)
		{
			entry->kind = RPC_VOID;
			appendStringInfo(&sql, "SELECT %s(%s)%s", fname, callargs.data,
							 coldefs.len ? psprintf(" FROM pg_catalog.jsonb_to_record($1) AS _a(%s)",
													coldefs.data) : "");
		}
		else
		{
			/* a jsonb is written out below, as text pgcall may have already */
			entry->kind = RPC_SCALAR;
			entry->jsonb_value = proc->prorettype == JSONBOID;
			appendStringInfo(&sql, entry->jsonb_value ? "SELECT %s(%s)%s" : "SELECT pg_catalog.to_json(%s(%s))::text%s",
							 fname, callargs.data,
							 coldefs.len ? psprintf(" FROM pg_catalog.jsonb_to_record($1) AS _a(%s)",
													coldefs.data) : "");
		}
	}
	else if (rq_is_plain(q) && q->media != RQ_MEDIA_CSV && !want_total)
	{
		/*
		 * No query: the function's rows as they come, without the subquery
		 * the query needs (the common case, and the fastest).
		 */
		char	   *plain = psprintf("%s%s(%s) AS _r",
									 coldefs.len ? psprintf("pg_catalog.jsonb_to_record($1) AS _a(%s) CROSS JOIN LATERAL ",
															coldefs.data) : "",
									 fname, callargs.data);

		if (single || q->media == RQ_MEDIA_OBJECT || !proc->proretset)
		{
			entry->kind = RPC_OBJECT;
			appendStringInfo(&sql, "SELECT pg_catalog.to_json(_r)::text, pg_catalog.count(*) OVER () FROM %s LIMIT 2",
							 plain);
		}
		else
		{
			entry->kind = RPC_ARRAY;
			appendStringInfo(&sql, "SELECT COALESCE(pg_catalog.json_agg(_r)::text, '[]'), pg_catalog.count(*) FROM %s",
							 plain);
		}
	}
	else
	{
		bool		scalar_default;
		char	   *sel = select_sql(&res, q, &scalar_default);
		StringInfoData where;
		char	   *order = order_sql(&res, q);
		char	   *inner;
		const char *total = "";

		initStringInfo(&where);
		if (q->where)
		{
			appendStringInfoString(&where, " WHERE ");
			append_expr(&where, &res, q->where);
		}
		if (want_total)
		{
			/* the filtered rows once, counted whole and paged */
			appendStringInfo(&sql, "WITH _w AS (SELECT _r FROM %s%s) ", from, where.data);
			inner = psprintf("SELECT %s FROM _w%s LIMIT $3 OFFSET $4", sel, order);
			total = ", (SELECT pg_catalog.count(*) FROM _w)";
			entry->total = true;
		}
		else
			inner = psprintf("SELECT %s FROM %s%s%s LIMIT $3 OFFSET $4", sel, from, where.data, order);

		if (q->media == RQ_MEDIA_CSV)
		{
			entry->kind = RPC_CSV;
			appendStringInfo(&sql, "SELECT _p.*%s FROM (%s) AS _p", total, inner);
		}
		else if (single || q->media == RQ_MEDIA_OBJECT || !proc->proretset)
		{
			entry->kind = RPC_OBJECT;
			appendStringInfo(&sql, "SELECT pg_catalog.to_json(%s)::text, pg_catalog.count(*) OVER ()%s FROM (%s) AS _p LIMIT 2",
							 scalar_default ? psprintf("_p.%s", quote_identifier(res.scalar_name)) : "_p",
							 total, inner);
		}
		else
		{
			entry->kind = RPC_ARRAY;
			appendStringInfo(&sql, "SELECT COALESCE(pg_catalog.json_agg(%s)::text, '[]'), pg_catalog.count(*)%s FROM (%s) AS _p",
							 scalar_default ? psprintf("_p.%s", quote_identifier(res.scalar_name)) : "_p",
							 total, inner);
		}
	}
	entry->retset = proc->proretset;
	entry->volatility = proc->provolatile;
	entry->own_api = strcmp(schema, "pgcall") == 0;
	ReleaseSysCache(tup);

	plan = SPI_prepare_cursor(sql.data, 4, paramtypes, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql.data, SPI_result_code_string(SPI_result));
	if (entry->kind == RPC_CSV)
	{
		/* the columns the result will have, from the plan */
		List	   *plans = SPI_plan_get_plan_sources(plan);
		CachedPlanSource *ps = plans ? linitial(plans) : NULL;

		entry->csv_columns = ps && ps->resultDesc ? ps->resultDesc->natts - (entry->total ? 1 : 0) : 0;
	}
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep the plan for %s", fname);
	rpc_plan_replace(entry, plan);
	entry->funcoid = cand->oid;
	entry->single = single || q->media == RQ_MEDIA_OBJECT;
	entry->valid = true;
}

/* Forget every plan nobody executes; the cache starts again. */
static void
rpc_cache_trim(void)
{
	HASH_SEQ_STATUS status;
	RpcEntry   *entry;

	hash_seq_init(&status, rpc_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->plan)
			rpc_plan_drop(entry->plan);
		if (entry->fullkey)
			pfree(entry->fullkey);
		hash_search(rpc_cache, &entry->hash, HASH_REMOVE, NULL);
	}
}

/*
 * Resolve and prepare a new or stale entry; a new entry that fails is
 * removed again so the cache holds no half-built entries.
 */
static void
plan_entry_build(RpcEntry *entry, const char *schema, const char *fn, List *keys, bool single,
				 const RqQuery *q)
{
	RpcCallMode mode;
	RpcCand    *cand;

	if (!schema_is_exposed(schema))
		pgcall_rpc_raise(406, "PGRST106", psprintf("Invalid schema: %s", schema), NULL,
						 psprintf("Only the following schemas are exposed: %s",
								  rpc_schemas ? rpc_schemas : ""));
	cand = pgcall_rpc_resolve(schema, fn, keys, &mode);
	prepare_call(entry, schema, cand, mode, keys, single, q);
}

static void
plan_entry(RpcEntry *entry, const char *schema, const char *fn, List *keys, int single,
		   const RqQuery *q)
{
	PG_TRY();
	{
		plan_entry_build(entry, schema, fn, keys, single != 0, q);
	}
	PG_CATCH();
	{
		if (entry->plan == NULL)
		{
			uint64		hash = entry->hash;

			if (entry->fullkey)
				pfree(entry->fullkey);
			hash_search(rpc_cache, &hash, HASH_REMOVE, NULL);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* Execute a plan, holding a reference to it meanwhile. */
static int
rpc_execute(RpcPlan *plan, Datum *values, const char *nulls)
{
	volatile int rc = 0;

	plan->refs++;
	PG_TRY();
	{
		rc = SPI_execute_plan(plan->plan, values, nulls, false, 0);
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

/* One CSV field: quoted when it holds a separator, a quote or a line break. */
static void
csv_field(StringInfo buf, const char *v)
{
	if (v == NULL)
		return;
	if (strpbrk(v, ",\"\r\n") == NULL)
	{
		appendStringInfoString(buf, v);
		return;
	}
	appendStringInfoChar(buf, '"');
	for (const char *p = v; *p; p++)
	{
		if (*p == '"')
			appendStringInfoChar(buf, '"');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '"');
}

/* The rows of SPI_tuptable as CSV: a header line, then one line a row. */
/*
 * The jsonb the statement gave (RPC_SCALAR, jsonb_value) as text: the text
 * pgcall wrote it from where pgcall_jsonb_text still has it, else as
 * jsonb_out writes it (what to_json gives for a jsonb); NULL for null.
 */
static char *
rpc_jsonb_text(void)
{
	bool		isnull;
	Datum		d;
	Jsonb	   *jb;
	const char *text;

	if (SPI_processed == 0)
		return NULL;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return NULL;
	jb = DatumGetJsonbP(d);
	text = pgcall_jsonb_text(jb);
	return text ? (char *) text : JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

static char *
rows_to_csv(int ncolumns)
{
	StringInfoData buf;
	TupleDesc	td = SPI_tuptable->tupdesc;

	initStringInfo(&buf);
	for (int c = 0; c < ncolumns; c++)
	{
		if (c)
			appendStringInfoChar(&buf, ',');
		csv_field(&buf, NameStr(TupleDescAttr(td, c)->attname));
	}
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		appendStringInfoChar(&buf, '\n');
		for (int c = 0; c < ncolumns; c++)
		{
			if (c)
				appendStringInfoChar(&buf, ',');
			csv_field(&buf, SPI_getvalue(SPI_tuptable->vals[r], td, c + 1));
		}
	}
	return buf.data;
}

/* The request's arguments taken from the query string (GET), as jsonb. */
static Jsonb *
args_from_query(const RqQuery *q)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < q->nargs; i++)
	{
		if (i)
			appendStringInfoChar(&buf, ',');
		escape_json(&buf, q->args[i].name);
		appendStringInfoChar(&buf, ':');
		escape_json(&buf, q->args[i].value);
	}
	appendStringInfoChar(&buf, '}');
	return pgcall_jsonb_from_text(buf.data);
}

/* A request the parser refused, as PostgREST answers it. */
static void
raise_query_error(const RqError *err, const char *schema, const char *fn)
{
	switch (err->kind)
	{
		case RQ_ERR_EMBED:
			pgcall_rpc_raise(400, "PGRST200",
						psprintf("Could not find a relationship between '%s' and '%s' in the schema cache",
								 fn, err->embed),
						psprintf("Searched for a foreign key relationship between '%s' and '%s' in the schema '%s', but no matches were found.",
								 fn, err->embed, schema),
						"pgcall does not embed resources: select the columns of the function's result, or join inside the function.");
			break;
		case RQ_ERR_AGGREGATE:
			pgcall_rpc_raise(400, "PGRST123", err->message, NULL, NULL);
			break;
		case RQ_ERR_RANGE:
			pgcall_rpc_raise(416, "PGRST103", err->message, err->details, NULL);
			break;
		case RQ_ERR_PREFER:
			pgcall_rpc_raise(400, "PGRST122", err->message, err->details, NULL);
			break;
		case RQ_ERR_MEDIA:
			pgcall_rpc_raise(406, "PGRST107", err->message, NULL, NULL);
			break;
		default:
			pgcall_rpc_raise(400, "PGRST100", err->message, err->details[0] ? err->details : NULL, NULL);
	}
}

static void
rq_free_callback(void *arg)
{
	rq_free((RqQuery *) arg);
}

static char *
text_arg_or_null(FunctionCallInfo fcinfo, int n)
{
	if (PG_NARGS() <= n || PG_ARGISNULL(n))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

PG_FUNCTION_INFO_V1(pgcall_rpc);

/*
 * rpc(schema text, fn text, args jsonb, single boolean, query text,
 *     prefer text, accept text, range text)
 *   RETURNS (kind text, body text, rows bigint, content_range text)
 *
 * args NULL takes the arguments from the query string, as GET does.
 */
Datum
pgcall_rpc(PG_FUNCTION_ARGS)
{
	const char *schema;
	const char *fn;
	Jsonb	   *args;
	bool		single = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);
	char	   *query = text_arg_or_null(fcinfo, 4);
	char	   *prefer = text_arg_or_null(fcinfo, 5);
	char	   *accept = text_arg_or_null(fcinfo, 6);
	char	   *range = text_arg_or_null(fcinfo, 7);
	RqQuery    *q;
	RqError		qerr;
	MemoryContextCallback *cb;
	char	   *shape;
	List	   *keys;
	ListCell   *lc;
	StringInfoData keybuf;
	uint64		hash;
	RpcEntry   *entry;
	bool		found;
	RpcKind		kind;
	bool		want_single;
	bool		retset;
	bool		has_total;
	int			csv_columns;
	bool		jsonb_value;
	RpcPlan    *plan;
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	int			rc;
	TupleDesc	tupdesc;
	Datum		result[4];
	bool		rnulls[4] = {false, false, false, false};
	int64		rows = 0;
	int64		total = -1;
	char	   *body = NULL;
	char	   *content_range = NULL;
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	int			nestlevel;
	char	   *path;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schema and function name must not be null")));
	schema = text_to_cstring(PG_GETARG_TEXT_PP(0));
	fn = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strlen(schema) >= NAMEDATALEN || strlen(fn) >= NAMEDATALEN)
		pgcall_rpc_raise(404, "PGRST202",
					psprintf("Could not find the function %s.%s in the schema cache", schema, fn),
					"The schema or function name is longer than PostgreSQL allows.", NULL);

	/*
	 * The query grammar and headers, parsed once, before anything runs.  The
	 * parser's arena goes with this call's memory, also on error.
	 */
	q = palloc0(sizeof(RqQuery));
	cb = palloc0(sizeof(MemoryContextCallback));
	cb->func = rq_free_callback;
	cb->arg = q;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	if (!rq_parse(q, query, prefer, accept, range, PG_ARGISNULL(2), &qerr))
		raise_query_error(&qerr, schema, fn);
	shape = rq_shape(q);
	if (!shape)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	for (int i = 0; i < q->nvalues; i++)
		pg_verifymbstr(q->values[i], strlen(q->values[i]), false);
	if (PG_ARGISNULL(2))
		args = args_from_query(q);
	else
		args = PG_GETARG_JSONB_P(2);
	if (q->nvalues > 0)
	{
		Datum	   *elems = palloc(sizeof(Datum) * q->nvalues);

		for (int i = 0; i < q->nvalues; i++)
			elems[i] = CStringGetTextDatum(q->values[i]);
		values[1] = PointerGetDatum(construct_array(elems, q->nvalues, TEXTOID, -1, false,
													TYPALIGN_INT));
	}
	else
		nulls[1] = 'n';
	values[2] = Int64GetDatum(q->limit);
	nulls[2] = q->limit < 0 ? 'n' : ' ';
	values[3] = Int64GetDatum(q->offset);

	if (!JB_ROOT_IS_OBJECT(args) || JB_ROOT_IS_SCALAR(args))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("function arguments must be a JSON object"),
				 errdetail("Pass named arguments as {\"name\": value, ...}.")));

	keys = object_keys(args);

	/*
	 * The key spells every name with its length, so names holding commas,
	 * slashes or parentheses cannot make two argument lists look alike; an
	 * argument named "" is "0:", never nothing.  The shape adds everything of
	 * the query that changes the SQL.
	 */
	initStringInfo(&keybuf);
	appendStringInfo(&keybuf, "%d:%s%d:%s#%d", (int) strlen(schema), schema, (int) strlen(fn), fn,
					 list_length(keys));
	foreach(lc, keys)
		appendStringInfo(&keybuf, "%d:%s", (int) strlen(lfirst(lc)), (char *) lfirst(lc));
	appendStringInfo(&keybuf, "/%d/%s", single ? 1 : 0, shape);
	free(shape);
	if (list_length(keys) > FUNC_MAX_ARGS)
		pgcall_rpc_raise(404, "PGRST202",
					psprintf("Could not find the function %s.%s in the schema cache", schema, fn),
					"Too many or too long argument names: a function has at most 100 parameters, each named in at most 63 bytes.",
					NULL);
	foreach(lc, keys)
		if (strlen(lfirst(lc)) >= NAMEDATALEN)
			pgcall_rpc_raise(404, "PGRST202",
						psprintf("Could not find the function %s.%s in the schema cache", schema, fn),
						"Too many or too long argument names: a function has at most 100 parameters, each named in at most 63 bytes.",
						NULL);
	hash = hash_bytes_extended((const unsigned char *) keybuf.data, keybuf.len, 0);

	/* the function runs with its schema first on the search_path, as in PostgREST */
	nestlevel = NewGUCNestLevel();
	path = strcmp(schema, "public") == 0 ? pstrdup("public")
		: psprintf("%s, public", quote_identifier(schema));
	(void) set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	if (rpc_cache == NULL)
		rpc_cache_init();
	entry = hash_search(rpc_cache, &hash, HASH_FIND, NULL);
	if (entry == NULL && hash_get_num_entries(rpc_cache) >= RPC_CACHE_MAX)
		rpc_cache_trim();
	entry = hash_search(rpc_cache, &hash, HASH_ENTER, &found);
	if (!found)
	{
		entry->valid = false;
		entry->plan = NULL;
		entry->fullkey = MemoryContextStrdup(TopMemoryContext, keybuf.data);
	}
	else if (strcmp(entry->fullkey, keybuf.data) != 0)
	{
		/* another request with the same hash: it never shares this plan */
		pfree(entry->fullkey);
		entry->fullkey = MemoryContextStrdup(TopMemoryContext, keybuf.data);
		entry->valid = false;
	}

	SPI_connect();
	if (!entry->valid)
		plan_entry(entry, schema, fn, keys, single, q);

	/*
	 * What this call needs of the entry, copied: the function called below
	 * may replan the same entry (see the file header).
	 */
	kind = entry->kind;
	want_single = entry->single;
	retset = entry->retset;
	has_total = entry->total;
	csv_columns = entry->csv_columns;
	jsonb_value = entry->jsonb_value;
	plan = entry->plan;

	if (XactReadOnly && entry->own_api && entry->volatility == PROVOLATILE_VOLATILE)
		pgcall_rpc_raise(405, "PGRST101",
					psprintf("Function %s.%s changes data and cannot be called with GET", schema, fn),
					"GET and HEAD requests run in a read-only transaction.",
					psprintf("Call it with POST /rpc/%s and the arguments as a JSON object.", fn));

	/* Prefer: tx=rollback: the call runs in a subtransaction undone after */
	if (q->rollback)
	{
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(caller);
	}

	values[0] = JsonbPGetDatum(args);
	pgcall_jsonb_remember(jsonb_value);
	rc = rpc_execute(plan, values, nulls);
	pgcall_jsonb_remember(false);
	if (rc < 0)
		elog(ERROR, "executing %s.%s failed: %s", schema, fn, SPI_result_code_string(rc));

	if (kind == RPC_CSV)
	{
		body = MemoryContextStrdup(caller, rows_to_csv(csv_columns));
		rows = SPI_processed;
		if (has_total)
			total = SPI_processed > 0
				? DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											  csv_columns + 1, &rnulls[2]))
				: 0;
	}
	else if (kind != RPC_VOID)
	{
		char	   *value;

		rows = kind == RPC_SCALAR ? 1 : 0;
		if (kind == RPC_OBJECT || kind == RPC_ARRAY)
			rows = SPI_processed > 0
				? DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											  2, &rnulls[2]))
				: 0;
		if (want_single && retset && rows != 1)
			pgcall_rpc_raise(406, "PGRST116",
						"Cannot coerce the result to a single JSON object",
						psprintf("The result contains " INT64_FORMAT " rows", rows), NULL);
		if (jsonb_value)
			value = rpc_jsonb_text();
		else
			value = SPI_processed > 0
				? SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)
				: NULL;
		body = MemoryContextStrdup(caller, value ? value : "null");
		if (has_total)
			total = SPI_processed > 0
				? DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											  3, &rnulls[2]))
				: 0;
		else if (kind == RPC_SCALAR)
			total = 1;
		if (kind == RPC_OBJECT && !retset)
			rows = Min(rows, 1);
	}
	rnulls[2] = false;
	if (q->count && total < 0)
		total = rows;

	if (q->max_affected >= 0 && (total >= 0 ? total : rows) > q->max_affected)
		pgcall_rpc_raise(400, "PGRST124", "Query result exceeds max-affected preference constraint",
					psprintf("The query affects " INT64_FORMAT " rows", total >= 0 ? total : rows),
					NULL);

	if (q->rollback)
	{
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
	}
	SPI_finish();
	AtEOXact_GUC(true, nestlevel);

	if (kind != RPC_VOID)
	{
		char		tot[32];

		if (q->count)
			snprintf(tot, sizeof(tot), INT64_FORMAT, total);
		else
			strcpy(tot, "*");
		if (rows > 0)
			content_range = psprintf(INT64_FORMAT "-" INT64_FORMAT "/%s",
									 (int64) q->offset, (int64) q->offset + rows - 1, tot);
		else
			content_range = psprintf("*/%s", tot);
	}

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "rpc must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	result[0] = CStringGetTextDatum(rpc_kind_names[kind]);
	if (body)
		result[1] = CStringGetTextDatum(body);
	else
		rnulls[1] = true;
	result[2] = Int64GetDatum(q->count ? total : rows);
	if (tupdesc->natts > 3)
	{
		if (content_range)
			result[3] = CStringGetTextDatum(content_range);
		else
			rnulls[3] = true;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, result, rnulls)));
}
