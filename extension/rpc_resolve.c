/*
 * rpc_resolve.c: which function a /rpc/<fn> request calls, the way
 * PostgREST resolves it: the functions of the schema by that name, the one
 * whose parameters the request's keys name (the others defaulted), or the
 * one taking a single unnamed json/jsonb parameter; and, when none or more
 * than one fits, PostgREST's own errors, with its "Perhaps you meant"
 * hint from the same fuzzy match.  rpc.c calls pgcall_rpc_resolve.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "pgcall.h"
#include "rpc.h"

/*
 * Whether rpc may call this function at all: a plain function (not a
 * procedure, aggregate or window function) that neither takes nor returns a
 * pseudo-type (trigger, event_trigger, internal, cstring, handlers, the
 * polymorphic any* types) other than returning void or record.
 */
bool
pgcall_rpc_is_callable(Oid funcoid)
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
bool
pgcall_rpc_is_api_function(const char *fn)
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

/* Types a single unnamed parameter may have and still be called by "" . */
static bool
unnamed_callable_type(Oid type)
{
	return type == JSONOID || type == JSONBOID || type == TEXTOID ||
		type == XMLOID || type == BYTEAOID;
}

/*
 * What PostgREST's schema cache would make of a function: callable when all
 * its input parameters are named, or it has one unnamed parameter of a type
 * above; a single unnamed composite parameter (a computed field) is known,
 * for hints, but not callable; any other unnamed parameter hides it.
 */
static bool
describe_candidate(Oid oid, RpcCand *c)
{
	HeapTuple	tup;
	Oid		   *argtypes;
	char	  **argnames;
	char	   *argmodes;
	int			n;
	int			ndefaults;
	bool		unnamed = false;

	if (!pgcall_rpc_is_callable(oid))
		return false;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(oid));
	if (!HeapTupleIsValid(tup))
		return false;
	n = get_func_arg_info(tup, &argtypes, &argnames, &argmodes);
	ndefaults = ((Form_pg_proc) GETSTRUCT(tup))->pronargdefaults;
	ReleaseSysCache(tup);

	memset(c, 0, sizeof(*c));
	c->oid = oid;
	c->names = palloc0(sizeof(char *) * (n + 1));
	c->types = palloc0(sizeof(Oid) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		char		mode = argmodes ? argmodes[i] : PROARGMODE_IN;

		if (mode == PROARGMODE_OUT || mode == PROARGMODE_TABLE)
			continue;
		c->names[c->nin] = argnames && argnames[i] ? argnames[i] : "";
		c->types[c->nin] = argtypes[i];
		unnamed |= c->names[c->nin][0] == '\0';
		c->nin++;
	}
	c->nrequired = c->nin - ndefaults;
	if (!unnamed)
		c->in_cache = c->matchable = true;
	else if (c->nin == 1 && unnamed_callable_type(c->types[0]))
		c->in_cache = c->matchable = true;
	else if (c->nin == 1 && get_typtype(c->types[0]) == TYPTYPE_COMPOSITE)
		c->in_cache = true;
	return true;
}

/* Every function of schema.fn that rpc could call, described. */
static List *
load_candidates(const char *schema, const char *fn)
{
	List	   *names = list_make2(makeString(pstrdup(schema)), makeString(pstrdup(fn)));
	FuncCandidateList cands = FuncnameGetCandidates(names, -1, NIL, false, false, false, true);
	List	   *out = NIL;

	for (; cands; cands = cands->next)
	{
		RpcCand    *c = palloc(sizeof(RpcCand));

		if (describe_candidate(cands->oid, c))
			out = lappend(out, c);
	}
	return out;
}

/* Named arguments keys fit c: each is a parameter, each required one is given. */
static bool
candidate_matches(const RpcCand *c, List *keys)
{
	ListCell   *lc;

	if (!c->matchable)
		return false;
	foreach(lc, keys)
	{
		bool		found = false;

		for (int i = 0; i < c->nin && !found; i++)
			found = strcmp(c->names[i], lfirst(lc)) == 0;
		if (!found)
			return false;
	}
	for (int i = 0; i < c->nrequired; i++)
	{
		bool		given = false;

		foreach(lc, keys)
			given |= strcmp(c->names[i], lfirst(lc)) == 0;
		if (!given)
			return false;
	}
	return true;
}

static int
cmp_cstring(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/* "schema.fn(a => integer, b => text)", as PostgREST lists overloads. */
static char *
signature_of(const char *schema, const char *fn, const RpcCand *c)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s.%s(", schema, fn);
	for (int i = 0; i < c->nin; i++)
		appendStringInfo(&buf, "%s%s => %s", i ? ", " : "", c->names[i],
						 format_type_be(c->types[i]));
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

static int
cmp_signature(const ListCell *a, const ListCell *b)
{
	const char *sa = lfirst(a);
	const char *sb = lfirst(b);
	int			na = 0,
				nb = 0;

	/* fewer parameters first, then by text */
	for (const char *p = sa; *p; p++)
		na += *p == '>';
	for (const char *p = sb; *p; p++)
		nb += *p == '>';
	if (na != nb)
		return na < nb ? -1 : 1;
	return strcmp(sa, sb);
}

/* --- the fuzzy match behind PostgREST's "Perhaps you meant" hint --- */

/* Lower case, only letters, digits, spaces and commas (as Data.FuzzySet). */
static char *
fuzzy_normalize(const char *s)
{
	char	   *d = palloc(strlen(s) + 1);
	char	   *o = d;

	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == ' ' || *p == ',' ||
			*p >= 0x80)
			*o++ = (char) *p;
		else if (*p >= 'A' && *p <= 'Z')
			*o++ = (char) (*p - 'A' + 'a');
	*o = '\0';
	return d;
}

/* Cosine similarity of the n-gram counts of "-a-" and "-b-". */
static double
fuzzy_cosine(const char *a, const char *b, int n)
{
	char	   *pa = psprintf("-%s-", a);
	char	   *pb = psprintf("-%s-", b);
	int			la,
				lb;
	double		dot = 0,
				na = 0,
				nb = 0;

	while ((int) strlen(pa) < n)
		pa = psprintf("%s-", pa);
	while ((int) strlen(pb) < n)
		pb = psprintf("%s-", pb);
	la = strlen(pa) - n + 1;
	lb = strlen(pb) - n + 1;
	/* counts by brute force: names are short */
	for (int i = 0; i < la; i++)
	{
		int			ca = 0,
					cb = 0;
		bool		first = true;

		for (int j = 0; j < i && first; j++)
			first = memcmp(pa + i, pa + j, n) != 0;
		if (!first)
			continue;
		for (int j = 0; j < la; j++)
			ca += memcmp(pa + i, pa + j, n) == 0;
		for (int j = 0; j < lb; j++)
			cb += memcmp(pa + i, pb + j, n) == 0;
		dot += (double) ca * cb;
		na += (double) ca * ca;
	}
	for (int i = 0; i < lb; i++)
	{
		int			cb = 0;
		bool		first = true;

		for (int j = 0; j < i && first; j++)
			first = memcmp(pb + i, pb + j, n) != 0;
		if (!first)
			continue;
		for (int j = 0; j < lb; j++)
			cb += memcmp(pb + i, pb + j, n) == 0;
		nb += (double) cb * cb;
	}
	return na > 0 && nb > 0 ? dot / (sqrt(na) * sqrt(nb)) : 0;
}

static int
levenshtein_of(const char *a, const char *b)
{
	int			la = strlen(a),
				lb = strlen(b);
	int		   *prev = palloc(sizeof(int) * (lb + 1));
	int		   *cur = palloc(sizeof(int) * (lb + 1));

	for (int j = 0; j <= lb; j++)
		prev[j] = j;
	for (int i = 1; i <= la; i++)
	{
		int		   *t;

		cur[0] = i;
		for (int j = 1; j <= lb; j++)
		{
			int			v = prev[j - 1] + (a[i - 1] != b[j - 1]);

			v = Min(v, prev[j] + 1);
			cur[j] = Min(v, cur[j - 1] + 1);
		}
		t = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

/*
 * The best match for query among items, or NULL: n-grams of 3, else 2,
 * score the items; the best 50 are scored again by edit distance; a score
 * under 0.33 is no match.  This is the algorithm of Data.FuzzySet, which
 * PostgREST uses, so the hints agree.
 */
static const char *
fuzzy_best(const char *query, List *items)
{
	char	   *q = fuzzy_normalize(query);

	if (!q[0])
		return NULL;
	for (int n = 3; n >= 2; n--)
	{
		const char *best = NULL;
		double		best_score = 0.33;
		ListCell   *lc;
		int			ncand = list_length(items);
		double	   *cos = palloc0(sizeof(double) * (ncand + 1));
		int			i = 0;
		double		cut;

		foreach(lc, items)
		{
			char	   *it = fuzzy_normalize(lfirst(lc));

			cos[i++] = it[0] ? fuzzy_cosine(q, it, n) : 0;
		}
		/* the 50th best cosine score bounds the candidates */
		{
			double	   *sorted = palloc(sizeof(double) * (ncand + 1));

			memcpy(sorted, cos, sizeof(double) * ncand);
			for (int a = 0; a < ncand; a++)
				for (int b = a + 1; b < ncand; b++)
					if (sorted[b] > sorted[a])
					{
						double		t = sorted[a];

						sorted[a] = sorted[b];
						sorted[b] = t;
					}
			cut = ncand > 50 ? sorted[49] : 0;
		}
		i = 0;
		foreach(lc, items)
		{
			char	   *it = fuzzy_normalize(lfirst(lc));
			double		score;
			int			maxlen;

			if (cos[i++] <= 0 || cos[i - 1] < cut)
				continue;
			maxlen = Max(strlen(it), strlen(q));
			score = 1.0 - (double) levenshtein_of(q, it) / maxlen;
			if (score >= best_score && (best == NULL || score > best_score))
			{
				best = lfirst(lc);
				best_score = score;
			}
		}
		if (best)
			return best;
	}
	return NULL;
}

/* Every function of the schema an HTTP client may know of, by name. */
static List *
schema_function_names(const char *schema)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1];
	List	   *out = NIL;
	uint64		n;
	bool		own = strcmp(schema, "pgcall") == 0;

	values[0] = CStringGetTextDatum(schema);
	n = pgcall_exec(pgcall_plan(&plan,
								"SELECT p.oid, p.proname::text FROM pg_catalog.pg_proc p"
								" JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
								" WHERE n.nspname = $1 ORDER BY p.proname, p.oid",
								1, types),
					values, NULL, true, 0);
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		Oid			oid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1, &isnull));
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		RpcCand		c;

		if (!describe_candidate(oid, &c) || !c.in_cache)
			continue;
		if (list_length(out) > 0 && strcmp(llast(out), name) == 0)
			continue;
		out = lappend(out, name);
	}
	if (own)
	{
		List	   *api = NIL;
		ListCell   *lc;

		foreach(lc, out)
			if (pgcall_rpc_is_api_function(lfirst(lc)))
				api = lappend(api, lfirst(lc));
		out = api;
	}
	return out;
}

/* "(a, b)": names sorted, as PostgREST compares parameter lists. */
static char *
param_list_text(List *names)
{
	List	   *sorted = list_copy(names);

	list_sort(sorted, cmp_cstring);
	return psprintf("(%s)", pgcall_rpc_join_names(sorted, ", "));
}

static void
raise_not_found(const char *schema, const char *fn, List *keys, List *cands)
{
	List	   *sorted = list_copy(keys);
	char	   *args;
	const char *hint = NULL;
	ListCell   *lc;
	List	   *known = NIL;

	list_sort(sorted, cmp_cstring);
	args = pgcall_rpc_join_names(sorted, ", ");

	/*
	 * The hint: another parameter list of this function, or else another
	 * function of the schema, whichever is closest (as PostgREST).
	 */
	foreach(lc, cands)
	{
		RpcCand    *c = lfirst(lc);
		List	   *pn = NIL;

		if (!c->in_cache)
			continue;
		for (int i = 0; i < c->nin; i++)
			pn = lappend(pn, c->names[i]);
		known = lappend(known, param_list_text(pn));
	}
	if (known != NIL)
	{
		const char *best = fuzzy_best(param_list_text(keys), known);

		if (best)
			hint = psprintf("Perhaps you meant to call the function %s.%s%s", schema, fn, best);
	}
	else
	{
		const char *best = fuzzy_best(fn, schema_function_names(schema));

		if (best)
			hint = psprintf("Perhaps you meant to call the function %s.%s", schema, best);
	}

	if (list_length(keys) == 0)
		pgcall_rpc_raise(404, "PGRST202",
					psprintf("Could not find the function %s.%s without parameters in the schema cache",
							 schema, fn),
					psprintf("Searched for the function %s.%s without parameters or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.",
							 schema, fn),
					hint);
	pgcall_rpc_raise(404, "PGRST202",
				psprintf("Could not find the function %s.%s(%s) in the schema cache", schema, fn, args),
				psprintf("Searched for the function %s.%s with parameter%s %s or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.",
						 schema, fn, list_length(keys) > 1 ? "s" : "", args),
				hint);
}

/*
 * Find the one function of schema.fn that takes exactly these named
 * arguments (others defaulted), or else the one with a single unnamed
 * json/jsonb parameter, which gets the whole object.
 */
RpcCand *
pgcall_rpc_resolve(const char *schema, const char *fn, List *keys, RpcCallMode *mode)
{
	List	   *cands;
	List	   *found = NIL;
	ListCell   *lc;

	*mode = CALL_NAMED;
	if (strcmp(schema, "pgcall") == 0 && !pgcall_rpc_is_api_function(fn))
		raise_not_found(schema, fn, keys, NIL);

	cands = load_candidates(schema, fn);
	foreach(lc, cands)
		if (candidate_matches(lfirst(lc), keys))
			found = lappend(found, lfirst(lc));
	if (found == NIL)
	{
		foreach(lc, cands)
		{
			RpcCand    *c = lfirst(lc);

			if (c->matchable && c->nin == 1 && c->names[0][0] == '\0' &&
				(c->types[0] == JSONOID || c->types[0] == JSONBOID))
			{
				found = lappend(found, c);
				*mode = CALL_WHOLE;
			}
		}
	}
	if (found == NIL)
		raise_not_found(schema, fn, keys, cands);
	if (list_length(found) > 1)
	{
		List	   *sigs = NIL;

		foreach(lc, found)
			sigs = lappend(sigs, signature_of(schema, fn, lfirst(lc)));
		list_sort(sigs, cmp_signature);
		pgcall_rpc_raise(300, "PGRST203",
					psprintf("Could not choose the best candidate function between: %s",
							 pgcall_rpc_join_names(sigs, ", ")),
					NULL,
					"Try renaming the parameters or the function itself in the database so function overloading can be resolved");
	}
	return linitial(found);
}

