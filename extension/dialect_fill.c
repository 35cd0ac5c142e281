/*
 * dialect_fill.c: pgcall.dialect_fill(template, ctx), the template filler of
 * the dialects (sql/update/0.1.0--0.2.0/40-dialect-rest.sql says what it
 * does, with {"$if", "$then", "$else"} from 44-dialect-sio-fill-if.sql).
 * It was PL/pgSQL; a REST route that maps a list ({"$each", "$to"})
 * filled its template in more time than the function it called took, most
 * of it copying the context for every element and evaluating a jsonpath for
 * every member.  Here the context is never copied: the element of a $each
 * sits beside it, and a path of member and [index] steps is walked
 * directly.  A path that needs more (filters, wildcards, lax unwrapping of
 * an array or wrapping of a scalar) goes to jsonb_path_query_first(), as
 * before, over the context with the element merged in; so the results are
 * the PL/pgSQL version's, which test/pgtap/dialects_rest.sql compares.
 */
#include "postgres.h"

#include <ctype.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/jsonpath.h"

#include "pgcall.h"

typedef struct FillContext
{
	Jsonb	   *base;			/* the context */
	JsonbValue	item;			/* the current $each element, if has_item */
	bool		has_item;
	Jsonb	   *merged;			/* base || {"item": item}, made when a jsonpath needs it */
	Jsonb	   *empty;			/* {}: the vars of jsonb_path_query_first */
	bool		no_context;		/* ctx NULL: every path names nothing */
} FillContext;

static void fill_value(FillContext *fc, JsonbValue *tv, JsonbParseState **st, JsonbIteratorToken seq,
					   bool skip_missing);

static bool
is_path(const JsonbValue *v)
{
	return v->type == jbvString && v->val.string.len >= 2 && v->val.string.val[0] == '$' &&
		(v->val.string.val[1] == '.' || v->val.string.val[1] == '[');
}

/* The value a found Jsonb result stands for. */
static void
jsonb_to_value(Jsonb *j, JsonbValue *out)
{
	if (JB_ROOT_IS_SCALAR(j))
		JsonbExtractScalar(&j->root, out);
	else
	{
		out->type = jbvBinary;
		out->val.binary.data = &j->root;
		out->val.binary.len = VARSIZE(j) - VARHDRSZ;
	}
}

static Jsonb *
fill_context_jsonb(FillContext *fc)
{
	JsonbParseState *st = NULL;
	JsonbValue	k;
	JsonbValue *obj;

	if (!fc->has_item)
		return fc->base;
	if (fc->merged)
		return fc->merged;
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	k.type = jbvString;
	k.val.string.val = "item";
	k.val.string.len = 4;
	pushJsonbValue(&st, WJB_KEY, &k);
	pushJsonbValue(&st, WJB_VALUE, &fc->item);
	obj = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	fc->merged = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(fc->base),
													JsonbPGetDatum(JsonbValueToJsonb(obj))));
	return fc->merged;
}

/* jsonb_path_query_first(context, path): false when it finds nothing. */
static bool
eval_jsonpath(FillContext *fc, const char *path, int len, JsonbValue *out)
{
	LOCAL_FCINFO(fcinfo, 4);
	char	   *text = pnstrdup(path, len);
	Datum		jp = DirectFunctionCall1(jsonpath_in, CStringGetDatum(text));
	Datum		r;

	if (!fc->empty)
		fc->empty = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	InitFunctionCallInfoData(*fcinfo, NULL, 4, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = JsonbPGetDatum(fill_context_jsonb(fc));
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = jp;
	fcinfo->args[1].isnull = false;
	fcinfo->args[2].value = JsonbPGetDatum(fc->empty);
	fcinfo->args[2].isnull = false;
	fcinfo->args[3].value = BoolGetDatum(false);
	fcinfo->args[3].isnull = false;
	r = jsonb_path_query_first(fcinfo);
	pfree(text);
	if (fcinfo->isnull)
		return false;
	jsonb_to_value(DatumGetJsonbP(r), out);
	return true;
}

/*
 * The value path names in the context: $ then .member and [index] steps,
 * walked directly while every step meets an object (member) or an array
 * (index).  Anything else is jsonb_path_query_first's: a step of another
 * kind, a member of a non-object, an index into a non-array (lax unwrapping
 * and wrapping).  A member or an index that is not there names nothing only
 * if the rest of the path is such steps too: the scan goes on without
 * walking, since a predicate, filter or method after it still makes a value
 * ($.nope == 1 is false).
 */
static bool
eval_path(FillContext *fc, const char *path, int len, JsonbValue *out)
{
	JsonbValue	cur;
	JsonbValue *next = NULL;
	int			i = 1;
	bool		at_root = true;
	bool		missing = false;

	if (fc->no_context)
		return false;
	cur.type = jbvBinary;
	cur.val.binary.data = &fc->base->root;
	cur.val.binary.len = VARSIZE(fc->base) - VARHDRSZ;
	while (i < len)
	{
		if (path[i] == '.')
		{
			int			start = ++i;

			while (i < len && (isalnum((unsigned char) path[i]) || path[i] == '_'))
				i++;
			if (i == start || isdigit((unsigned char) path[start]) || (i < len && path[i] != '.' && path[i] != '['))
				return eval_jsonpath(fc, path, len, out);
			if (missing)
				continue;
			if (at_root && fc->has_item && i - start == 4 && memcmp(path + start, "item", 4) == 0)
				next = &fc->item;
			else
			{
				if (cur.type != jbvBinary || !JsonContainerIsObject(cur.val.binary.data))
					return eval_jsonpath(fc, path, len, out);
				next = getKeyJsonValueFromContainer(cur.val.binary.data, path + start, i - start, NULL);
			}
		}
		else if (path[i] == '[')
		{
			long		n = 0;
			int			start = ++i;

			while (i < len && isdigit((unsigned char) path[i]) && i - start < 6)
				n = n * 10 + (path[i++] - '0');
			if (i == start || i >= len || path[i] != ']')
				return eval_jsonpath(fc, path, len, out);
			i++;
			if (missing)
				continue;
			if (cur.type != jbvBinary || !JsonContainerIsArray(cur.val.binary.data) ||
				JsonContainerIsScalar(cur.val.binary.data))
				return eval_jsonpath(fc, path, len, out);
			next = getIthJsonbValueFromContainer(cur.val.binary.data, (uint32) n);
		}
		else
			return eval_jsonpath(fc, path, len, out);
		at_root = false;
		if (next)
			cur = *next;
		else
			missing = true;
	}
	if (at_root)
		return eval_jsonpath(fc, path, len, out);
	if (missing)
		return false;
	*out = cur;
	return true;
}

/* {"$each": <path>, "$to": <template>}: the template once per element. */
static void
fill_each(FillContext *fc, JsonbValue *each, JsonbValue *to, JsonbParseState **st, JsonbIteratorToken seq)
{
	JsonbValue	list;
	bool		found = false;
	JsonbValue	saved_item = fc->item;
	bool		saved_has = fc->has_item;
	Jsonb	   *saved_merged = fc->merged;

	if (each->type == jbvString && !fc->no_context)
		found = eval_jsonpath(fc, each->val.string.val, each->val.string.len, &list);
	pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
	if (found && list.type == jbvBinary && JsonContainerIsArray(list.val.binary.data) &&
		!JsonContainerIsScalar(list.val.binary.data))
	{
		JsonbIterator *it = JsonbIteratorInit(list.val.binary.data);
		JsonbValue	e;
		JsonbIteratorToken t;

		while ((t = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		{
			if (t != WJB_ELEM)
				continue;
			fc->item = e;
			fc->has_item = true;
			fc->merged = NULL;
			fill_value(fc, to, st, WJB_ELEM, false);
		}
	}
	pushJsonbValue(st, WJB_END_ARRAY, NULL);
	fc->item = saved_item;
	fc->has_item = saved_has;
	fc->merged = saved_merged;
	(void) seq;
}

/*
 * {"$if": <path>, "$then": <template>, "$else": <template>}: $then when the
 * path (any jsonpath, a predicate included) names a value other than null
 * and false, else $else, else null.
 */
static void
fill_if(FillContext *fc, JsonbValue *cond, JsonbValue *then, JsonbValue *otherwise,
		JsonbParseState **st, JsonbIteratorToken seq)
{
	JsonbValue	r;
	bool		holds = false;

	if (cond->type == jbvString && !fc->no_context &&
		eval_jsonpath(fc, cond->val.string.val, cond->val.string.len, &r))
		holds = r.type != jbvNull && !(r.type == jbvBool && !r.val.boolean);
	if (holds)
		fill_value(fc, then, st, seq, false);
	else if (otherwise)
		fill_value(fc, otherwise, st, seq, false);
	else
	{
		r.type = jbvNull;
		pushJsonbValue(st, seq, &r);
	}
}

/*
 * Push the filled-in template tv as seq (WJB_VALUE or WJB_ELEM); an object
 * member whose path names nothing (skip_missing) is left out by the caller,
 * which has not pushed its key yet.
 */
static void
fill_value(FillContext *fc, JsonbValue *tv, JsonbParseState **st, JsonbIteratorToken seq, bool skip_missing)
{
	JsonbValue	v;

	check_stack_depth();
	if (is_path(tv))
	{
		if (!eval_path(fc, tv->val.string.val, tv->val.string.len, &v))
		{
			if (skip_missing)
				return;
			v.type = jbvNull;
		}
		pushJsonbValue(st, seq, &v);
		return;
	}
	if (tv->type != jbvBinary)
	{
		pushJsonbValue(st, seq, tv);
		return;
	}
	if (JsonContainerIsObject(tv->val.binary.data))
	{
		JsonbValue *cond = getKeyJsonValueFromContainer(tv->val.binary.data, "$if", 3, NULL);
		JsonbValue *then = cond ? getKeyJsonValueFromContainer(tv->val.binary.data, "$then", 5, NULL) : NULL;
		JsonbValue *each = getKeyJsonValueFromContainer(tv->val.binary.data, "$each", 5, NULL);
		JsonbValue *to = each ? getKeyJsonValueFromContainer(tv->val.binary.data, "$to", 3, NULL) : NULL;
		JsonbIterator *it;
		JsonbValue	k;
		JsonbIteratorToken t;

		if (cond && then)
		{
			fill_if(fc, cond, then, getKeyJsonValueFromContainer(tv->val.binary.data, "$else", 5, NULL),
					st, seq);
			return;
		}
		if (each && to)
		{
			fill_each(fc, each, to, st, seq);
			return;
		}
		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		it = JsonbIteratorInit(tv->val.binary.data);
		while ((t = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			if (t != WJB_KEY)
				continue;
			t = JsonbIteratorNext(&it, &v, true);
			Assert(t == WJB_VALUE);
			if (is_path(&v))
			{
				JsonbValue	r;

				if (!eval_path(fc, v.val.string.val, v.val.string.len, &r))
					continue;
				pushJsonbValue(st, WJB_KEY, &k);
				pushJsonbValue(st, WJB_VALUE, &r);
			}
			else
			{
				pushJsonbValue(st, WJB_KEY, &k);
				fill_value(fc, &v, st, WJB_VALUE, false);
			}
		}
		pushJsonbValue(st, WJB_END_OBJECT, NULL);
		return;
	}
	if (JsonContainerIsArray(tv->val.binary.data) && !JsonContainerIsScalar(tv->val.binary.data))
	{
		JsonbIterator *it = JsonbIteratorInit(tv->val.binary.data);
		JsonbIteratorToken t;

		pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
		while ((t = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
			if (t == WJB_ELEM)
				fill_value(fc, &v, st, WJB_ELEM, false);
		pushJsonbValue(st, WJB_END_ARRAY, NULL);
		return;
	}
	pushJsonbValue(st, seq, tv);
}

PG_FUNCTION_INFO_V1(pgcall_dialect_fill);

Datum
pgcall_dialect_fill(PG_FUNCTION_ARGS)
{
	Jsonb	   *template;
	FillContext fc = {0};
	JsonbValue	tv;
	JsonbParseState *st = NULL;
	JsonbValue *res;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	template = PG_GETARG_JSONB_P(0);
	fc.no_context = PG_ARGISNULL(1);
	fc.base = fc.no_context
		? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("null")))
		: PG_GETARG_JSONB_P(1);
	jsonb_to_value(template, &tv);
	if (tv.type != jbvBinary)
	{
		JsonbValue	v;

		/* a scalar: a path is its value (null when it names nothing), anything else itself */
		if (!is_path(&tv))
			PG_RETURN_JSONB_P(template);
		if (!eval_path(&fc, tv.val.string.val, tv.val.string.len, &v))
			v.type = jbvNull;
		PG_RETURN_JSONB_P(JsonbValueToJsonb(&v));
	}
	/* a container: filled in through a one-element array, then taken out of it */
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	fill_value(&fc, &tv, &st, WJB_ELEM, false);
	res = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	Assert(res->type == jbvArray && res->val.array.nElems == 1);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(&res->val.array.elems[0]));
}
