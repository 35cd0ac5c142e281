/*
 * rpc_query.c: parse PostgREST's query grammar for /rpc calls (see
 * rpc_query.h): select (aliases, casts), horizontal filters (eq, neq, gt,
 * gte, lt, lte, like, ilike, match, imatch, in, is, isdistinct, cs, cd, ov,
 * sl, sr, nxr, nxl, adj, fts, plfts, phfts, wfts, each negated with not.),
 * or=(...) and and=(...) trees, order with nullsfirst/nullslast, limit,
 * offset; the Range, Prefer and Accept headers.
 *
 * What pgcall does not offer is refused with PostgREST's own error rather
 * than ignored: embedded resources (select=...,users(...), users.order=...)
 * with PGRST200, aggregates (count(), col.sum()) with PGRST123, JSON paths
 * and the any/all operator modifiers with PGRST100.
 *
 * Every allocation goes through the query's arena, freed at once by
 * rq_free(); malloc failing is reported as a parse error.
 *
 * Size: about 1,350 lines, over the ~800 the project aims at, on purpose:
 * one recursive-descent parser over one Parser state and one arena, with no
 * PostgreSQL in it, which the fuzzer (test/fuzz/fuzz_rpc_query.c) compiles
 * as the single file it is.  Its parts (values and names, filters and
 * their trees, select and order, the parameters, the headers, the shape)
 * all share the parser's error and allocation helpers; split, those would
 * become an exported interface of a parser whose one public interface is
 * rpc_query.h.
 */
#include "rpc_query.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct ArenaBlock
{
	struct ArenaBlock *next;
	/* the allocation follows, suitably aligned */
	max_align_t data[];
} ArenaBlock;

typedef struct Parser
{
	RqQuery    *q;
	RqError    *err;
	int			depth;
} Parser;

/* Every filter operator, by RqOp: the one table of their names and SQL. */
static const RqOpInfo ops[] = {
	[RQ_EQ] = {"eq", RQ_FORM_COMPARE, "="},
	[RQ_NEQ] = {"neq", RQ_FORM_COMPARE, "<>"},
	[RQ_GT] = {"gt", RQ_FORM_COMPARE, ">"},
	[RQ_GTE] = {"gte", RQ_FORM_COMPARE, ">="},
	[RQ_LT] = {"lt", RQ_FORM_COMPARE, "<"},
	[RQ_LTE] = {"lte", RQ_FORM_COMPARE, "<="},
	[RQ_LIKE] = {"like", RQ_FORM_PATTERN, "OPERATOR(pg_catalog.~~)"},
	[RQ_ILIKE] = {"ilike", RQ_FORM_PATTERN, "OPERATOR(pg_catalog.~~*)"},
	[RQ_MATCH] = {"match", RQ_FORM_PATTERN, "OPERATOR(pg_catalog.~)"},
	[RQ_IMATCH] = {"imatch", RQ_FORM_PATTERN, "OPERATOR(pg_catalog.~*)"},
	[RQ_IN] = {"in", RQ_FORM_IN, "IN"},
	[RQ_IS] = {"is", RQ_FORM_IS, "IS"},
	[RQ_ISDISTINCT] = {"isdistinct", RQ_FORM_COMPARE, "IS DISTINCT FROM"},
	[RQ_CS] = {"cs", RQ_FORM_COMPARE, "@>"},
	[RQ_CD] = {"cd", RQ_FORM_COMPARE, "<@"},
	[RQ_OV] = {"ov", RQ_FORM_COMPARE, "&&"},
	[RQ_SL] = {"sl", RQ_FORM_COMPARE, "<<"},
	[RQ_SR] = {"sr", RQ_FORM_COMPARE, ">>"},
	[RQ_NXR] = {"nxr", RQ_FORM_COMPARE, "&<"},
	[RQ_NXL] = {"nxl", RQ_FORM_COMPARE, "&>"},
	[RQ_ADJ] = {"adj", RQ_FORM_COMPARE, "-|-"},
	[RQ_FTS] = {"fts", RQ_FORM_FTS, "to_tsquery"},
	[RQ_PLFTS] = {"plfts", RQ_FORM_FTS, "plainto_tsquery"},
	[RQ_PHFTS] = {"phfts", RQ_FORM_FTS, "phraseto_tsquery"},
	[RQ_WFTS] = {"wfts", RQ_FORM_FTS, "websearch_to_tsquery"},
};

_Static_assert(sizeof(ops) / sizeof(ops[0]) == RQ_WFTS + 1, "ops covers RqOp");

static const char *const aggregates[] = {"count", "sum", "avg", "max", "min"};

const RqOpInfo *
rq_op_info(RqOp op)
{
	return &ops[op];
}

const char *
rq_op_name(RqOp op)
{
	return ops[op].name;
}

/* ------------------------------------------------------------ memory */

static void *
rq_alloc(RqQuery *q, size_t size)
{
	ArenaBlock *b = malloc(sizeof(ArenaBlock) + size + 1);

	if (!b)
		return NULL;
	b->next = q->arena;
	q->arena = b;
	memset(b->data, 0, size + 1);
	return b->data;
}

static char *
rq_strndup(RqQuery *q, const char *s, size_t n)
{
	char	   *d = rq_alloc(q, n + 1);

	if (d)
	{
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

void
rq_free(RqQuery *q)
{
	ArenaBlock *b = q->arena;

	while (b)
	{
		ArenaBlock *next = b->next;

		free(b);
		b = next;
	}
	q->arena = NULL;
}

/* ------------------------------------------------------------ errors */

static bool fail(Parser *p, RqErrKind kind, const char *details, const char *fmt, ...)
			__attribute__((format(printf, 4, 5)));

static bool
fail(Parser *p, RqErrKind kind, const char *details, const char *fmt, ...)
{
	va_list		ap;

	if (p->err->kind != RQ_OK)
		return false;			/* the first error stands */
	p->err->kind = kind;
	va_start(ap, fmt);
	vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
	va_end(ap);
	snprintf(p->err->details, sizeof(p->err->details), "%s", details ? details : "");
	return false;
}

static bool
oom(Parser *p)
{
	return fail(p, RQ_ERR_PARSE, "The server ran out of memory.", "could not parse the request");
}

/* ------------------------------------------------------------ text */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Well-formed UTF-8 without overlong forms or surrogates. */
static bool
utf8_valid(const unsigned char *s)
{
	while (*s)
	{
		int			n;
		uint32_t	cp;

		if (*s < 0x80)
		{
			s++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0)
			n = 1, cp = *s & 0x1f;
		else if ((*s & 0xf0) == 0xe0)
			n = 2, cp = *s & 0x0f;
		else if ((*s & 0xf8) == 0xf0)
			n = 3, cp = *s & 0x07;
		else
			return false;
		s++;
		for (int i = 0; i < n; i++, s++)
		{
			if ((*s & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*s & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
			cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

/* Decode one percent-encoded query component ('+' is a space). */
static char *
url_decode(Parser *p, const char *s, size_t n)
{
	char	   *d = rq_alloc(p->q, n + 1);
	size_t		j = 0;

	if (!d)
		return oom(p), NULL;
	for (size_t i = 0; i < n; i++)
	{
		if (s[i] == '+')
			d[j++] = ' ';
		else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0)
		{
			d[j++] = (char) (hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		}
		else
			d[j++] = s[i];
	}
	d[j] = '\0';
	if (strlen(d) != j)
		return fail(p, RQ_ERR_PARSE, "Query parameters cannot contain %00.",
					"the query string contains a NUL byte"), NULL;
	if (!utf8_valid((const unsigned char *) d))
		return fail(p, RQ_ERR_PARSE, "Query parameters are percent-encoded UTF-8.",
					"the query string is not valid UTF-8"), NULL;
	return d;
}

static char *
trim(char *s)
{
	char	   *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/*
 * Split s at top-level commas: not inside double quotes (where a backslash
 * escapes the next character) nor inside parentheses.  Returns the number
 * of pieces, written into the allocated *out, or -1.
 */
static int
split_top(Parser *p, char *s, char ***out)
{
	int			n = 1,
				k = 0,
				depth = 0;
	bool		quoted = false;
	char	  **v;
	char	   *start = s;

	for (char *c = s; *c; c++)
		if (*c == ',')
			n++;
	v = rq_alloc(p->q, sizeof(char *) * (size_t) n);
	if (!v)
		return oom(p), -1;
	for (char *c = s;; c++)
	{
		if (*c == '\0' || (*c == ',' && !quoted && depth == 0))
		{
			bool		end = *c == '\0';

			*c = '\0';
			v[k++] = start;
			start = c + 1;
			if (end)
				break;
			continue;
		}
		if (quoted && *c == '\\' && c[1])
			c++;
		else if (*c == '"')
			quoted = !quoted;
		else if (!quoted && *c == '(')
			depth++;
		else if (!quoted && *c == ')')
			depth--;
	}
	*out = v;
	return k;
}

/* "text" with \" and \\ escapes, or s as it is. */
static char *
unquote(Parser *p, char *s)
{
	size_t		n = strlen(s);
	char	   *d;
	size_t		j = 0;

	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return s;
	d = rq_alloc(p->q, n);
	if (!d)
		return oom(p), NULL;
	for (size_t i = 1; i + 1 < n; i++)
	{
		if (s[i] == '\\' && i + 2 < n)
			i++;
		d[j++] = s[i];
	}
	d[j] = '\0';
	return d;
}

/* A column name: not empty, short enough, no JSON path, no embedding. */
static bool
check_name(Parser *p, const char *what, const char *name)
{
	if (!name[0])
		return fail(p, RQ_ERR_PARSE, "Name every column.", "\"failed to parse %s\": empty name", what);
	if (strlen(name) > RQ_MAX_NAME)
		return fail(p, RQ_ERR_PARSE, "Names are at most 63 bytes long.",
					"\"failed to parse %s\": a name is too long", what);
	for (const unsigned char *c = (const unsigned char *) name; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return fail(p, RQ_ERR_PARSE, "Names cannot contain control characters.",
						"\"failed to parse %s\": a name contains a control character", what);
	if (strstr(name, "->"))
		return fail(p, RQ_ERR_PARSE, "pgcall does not offer JSON paths (->, ->>) on function results.",
					"\"failed to parse %s\": JSON paths are not supported", what);
	return true;
}

/* A name as written in select or order: "quoted" or plain. */
static char *
parse_name(Parser *p, const char *what, char *s)
{
	s = unquote(p, trim(s));
	if (!s || !check_name(p, what, s))
		return NULL;
	return s;
}

static bool
add_value(Parser *p, char *v, int *idx)
{
	RqQuery    *q = p->q;

	if (q->nvalues >= RQ_MAX_VALUES)
		return fail(p, RQ_ERR_PARSE, "A request binds at most 1024 values.",
					"\"failed to parse filter\": too many values");
	if (q->nvalues % 64 == 0)
	{
		char	  **nv = rq_alloc(q, sizeof(char *) * (size_t) (q->nvalues + 64));

		if (!nv)
			return oom(p);
		if (q->nvalues)
			memcpy(nv, q->values, sizeof(char *) * (size_t) q->nvalues);
		q->values = nv;
	}
	q->values[q->nvalues++] = v;
	*idx = q->nvalues;
	return true;
}

static RqExpr *
new_node(Parser *p, RqNodeKind kind)
{
	RqExpr	   *e;

	if (++p->q->nodes > RQ_MAX_NODES)
		return fail(p, RQ_ERR_PARSE, "A request has at most 512 filter conditions.",
					"\"failed to parse logic tree\": too many conditions"), NULL;
	e = rq_alloc(p->q, sizeof(RqExpr));
	if (!e)
		return oom(p), NULL;
	e->kind = kind;
	return e;
}

/*
 * An operator expression: [not.]op[(modifier)].value.  Returns NULL
 * without an error when s is not one (the caller decides); in_tree marks a
 * value inside or=(...), which may be double-quoted.
 */
static RqExpr *
parse_opexpr(Parser *p, const char *column, char *s, bool in_tree, bool *is_filter)
{
	bool		negate = false;
	char	   *dot;
	char	   *opname;
	char	   *mod = NULL;
	char	   *value;
	RqExpr	   *e;
	int			found = -1;

	*is_filter = false;
	if (strncmp(s, "not.", 4) == 0)
	{
		negate = true;
		s += 4;
	}
	dot = strchr(s, '.');
	if (!dot)
		return NULL;
	opname = s;
	*dot = '\0';
	value = dot + 1;
	if ((mod = strchr(opname, '(')) != NULL)
	{
		size_t		ml = strlen(mod);

		if (ml < 2 || mod[ml - 1] != ')')
		{
			*dot = '.';
			return NULL;
		}
		*mod++ = '\0';
		mod[ml - 2] = '\0';
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(opname, ops[i].name) == 0)
			found = (int) i;
	if (found < 0)
	{
		if (mod)
			mod[-1] = '(';
		*dot = '.';
		return NULL;
	}
	*is_filter = true;
	if (!check_name(p, "filter", column))
		return NULL;
	e = new_node(p, RQ_LEAF);
	if (!e)
		return NULL;
	e->negate = negate;
	e->column = rq_strndup(p->q, column, strlen(column));
	if (!e->column)
		return oom(p), NULL;
	e->op = (RqOp) found;
	if (mod && ops[found].form != RQ_FORM_FTS)
		return fail(p, RQ_ERR_PARSE, "pgcall does not offer the any/all operator modifiers.",
					"\"failed to parse filter (%s(%s).%s)\"", opname, mod, value), NULL;
	switch (e->op)
	{
		case RQ_IS:
			{
				static const struct
				{
					const char *word;
					RqIs		is;
				}			words[] = {
					{"null", RQ_IS_NULL}, {"not_null", RQ_IS_NOT_NULL}, {"true", RQ_IS_TRUE},
					{"false", RQ_IS_FALSE}, {"unknown", RQ_IS_UNKNOWN},
				};

				for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
					if (strcasecmp(value, words[i].word) == 0)
					{
						e->is = words[i].is;
						return e;
					}
				return fail(p, RQ_ERR_PARSE, "is takes null, not_null, true, false or unknown.",
							"\"failed to parse filter (is.%s)\"", value), NULL;
			}
		case RQ_IN:
			{
				size_t		n = strlen(value);
				char	  **items;
				int			k;

				if (n < 2 || value[0] != '(' || value[n - 1] != ')')
					return fail(p, RQ_ERR_PARSE, "Write the list as in.(a,b,\"c,d\").",
								"\"failed to parse filter (in.%s)\"", value), NULL;
				value[n - 1] = '\0';
				value++;
				if (!value[0])
				{
					e->nvalues = 0;
					return e;
				}
				k = split_top(p, value, &items);
				if (k < 0)
					return NULL;
				for (int i = 0; i < k; i++)
				{
					char	   *item = unquote(p, items[i]);
					int			idx;

					if (!item || !add_value(p, item, &idx))
						return NULL;
					if (i == 0)
						e->vidx = idx;
				}
				e->nvalues = k;
				return e;
			}
		case RQ_FTS:
		case RQ_PLFTS:
		case RQ_PHFTS:
		case RQ_WFTS:
			if (mod)
			{
				if (!mod[0] || !add_value(p, mod, &e->vidx))
					return mod[0] ? NULL :
						(fail(p, RQ_ERR_PARSE, "Name a text search configuration, as in fts(english).",
							  "\"failed to parse filter (%s().%s)\"", opname, value), NULL);
				e->nvalues = 1;
			}
			/* FALLTHROUGH */
		default:
			{
				int			idx;

				if (in_tree)
					value = unquote(p, value);
				if (!value)
					return NULL;
				if (e->op == RQ_LIKE || e->op == RQ_ILIKE)
					for (char *c = value; *c; c++)
						if (*c == '*')
							*c = '%';
				if (!add_value(p, value, &idx))
					return NULL;
				if (e->nvalues == 0)
					e->vidx = idx;
				e->nvalues++;
				return e;
			}
	}
}

static RqExpr *parse_tree(Parser *p, RqNodeKind kind, bool negate, char *list);

/* One element of a logic tree: and(...), or(...), or column.op.value. */
static RqExpr *
parse_tree_item(Parser *p, char *s)
{
	bool		negate = false;
	char	   *column;
	char	   *rest;
	bool		is_filter;
	RqExpr	   *e;

	s = trim(s);
	if (strncmp(s, "not.", 4) == 0 && (strncmp(s + 4, "and(", 4) == 0 || strncmp(s + 4, "or(", 3) == 0))
	{
		negate = true;
		s += 4;
	}
	if (strncmp(s, "and(", 4) == 0 || strncmp(s, "or(", 3) == 0)
	{
		bool		is_and = s[0] == 'a';

		return parse_tree(p, is_and ? RQ_AND : RQ_OR, negate, s + (is_and ? 3 : 2));
	}
	if (s[0] == '"')
	{
		char	   *end = s + 1;

		while (*end && *end != '"')
			end += (*end == '\\' && end[1]) ? 2 : 1;
		if (*end != '"' || end[1] != '.')
			return fail(p, RQ_ERR_PARSE, "Write each condition as column.operator.value.",
						"\"failed to parse logic tree\" near %.40s", s), NULL;
		end[1] = '\0';
		column = unquote(p, s);
		rest = end + 2;
	}
	else
	{
		rest = strchr(s, '.');
		if (!rest)
			return fail(p, RQ_ERR_PARSE, "Write each condition as column.operator.value.",
						"\"failed to parse logic tree\" near %.40s", s), NULL;
		*rest++ = '\0';
		column = s;
	}
	if (!column)
		return NULL;
	e = parse_opexpr(p, column, rest, true, &is_filter);
	if (!e && p->err->kind == RQ_OK)
		return fail(p, RQ_ERR_PARSE, "Write each condition as column.operator.value with a known operator.",
					"\"failed to parse logic tree\" near %.40s", rest), NULL;
	return e;
}

/* "(item,item,...)" into an and/or node. */
static RqExpr *
parse_tree(Parser *p, RqNodeKind kind, bool negate, char *list)
{
	size_t		n = strlen(list);
	char	  **items;
	int			k;
	RqExpr	   *e;

	if (n < 2 || list[0] != '(' || list[n - 1] != ')')
		return fail(p, RQ_ERR_PARSE, "Write the conditions as or=(a.eq.1,b.gt.2).",
					"\"failed to parse logic tree (%.60s)\"", list), NULL;
	if (++p->depth > RQ_MAX_DEPTH)
		return fail(p, RQ_ERR_PARSE, "Logic trees nest at most 16 deep.",
					"\"failed to parse logic tree\": nested too deeply"), NULL;
	list[n - 1] = '\0';
	list++;
	e = new_node(p, kind);
	if (!e)
		return NULL;
	e->negate = negate;
	if (!list[0])
		return fail(p, RQ_ERR_PARSE, "Give at least one condition.",
					"\"failed to parse logic tree\": empty"), NULL;
	k = split_top(p, list, &items);
	if (k < 0)
		return NULL;
	e->children = rq_alloc(p->q, sizeof(RqExpr *) * (size_t) k);
	if (!e->children)
		return oom(p), NULL;
	for (int i = 0; i < k; i++)
	{
		RqExpr	   *c = parse_tree_item(p, items[i]);

		if (!c)
			return NULL;
		e->children[e->nchildren++] = c;
	}
	p->depth--;
	return e;
}

static bool
add_where(Parser *p, RqExpr *e)
{
	RqQuery    *q = p->q;

	if (!q->where)
	{
		q->where = new_node(p, RQ_AND);
		if (!q->where)
			return false;
	}
	if (q->where->nchildren % 16 == 0)
	{
		RqExpr	  **nc = rq_alloc(q, sizeof(RqExpr *) * (size_t) (q->where->nchildren + 16));

		if (!nc)
			return oom(p);
		if (q->where->nchildren)
			memcpy(nc, q->where->children, sizeof(RqExpr *) * (size_t) q->where->nchildren);
		q->where->children = nc;
	}
	q->where->children[q->where->nchildren++] = e;
	return true;
}

static bool
is_aggregate(const char *name)
{
	for (size_t i = 0; i < sizeof(aggregates) / sizeof(aggregates[0]); i++)
		if (strcmp(name, aggregates[i]) == 0)
			return true;
	return false;
}

/* An item of select with parentheses: an aggregate or an embedded resource. */
static bool
select_call(Parser *p, char *item)
{
	char	   *paren = strchr(item, '(');
	char	   *name;
	char	   *dot;

	*paren = '\0';
	name = strchr(item, ':') && strchr(item, ':')[1] != ':' ? strchr(item, ':') + 1 : item;
	name = trim(name);
	dot = strrchr(name, '.');
	if (is_aggregate(dot ? dot + 1 : name) && paren[1] == ')')
		return fail(p, RQ_ERR_AGGREGATE, NULL, "Use of aggregate functions is not allowed");
	if (strncmp(name, "...", 3) == 0)
		name += 3;
	if (strchr(name, '!'))
		*strchr(name, '!') = '\0';
	snprintf(p->err->embed, sizeof(p->err->embed), "%s", name);
	return fail(p, RQ_ERR_EMBED, NULL, "pgcall does not embed resources");
}

static bool
parse_select(Parser *p, char *s)
{
	RqQuery    *q = p->q;
	char	  **items;
	int			k = split_top(p, s, &items);

	if (k < 0)
		return false;
	if (k > RQ_MAX_ITEMS)
		return fail(p, RQ_ERR_PARSE, "Select at most 256 columns.", "\"failed to parse select\": too many columns");
	q->select = rq_alloc(q, sizeof(RqSelect) * (size_t) k);
	if (!q->select)
		return oom(p);
	q->nselect = 0;
	for (int i = 0; i < k; i++)
	{
		char	   *item = trim(items[i]);
		char	   *colon;
		char	   *cast;
		RqSelect   *sel = &q->select[q->nselect];

		if (!item[0] && k == 1)
			return true;		/* select= is select=* */
		if (strchr(item, '(') && item[0] != '"')
			return select_call(p, item);
		if (strcmp(item, "*") == 0)
		{
			q->nselect++;
			continue;
		}
		/* alias:column::cast, the alias colon being a single one */
		colon = item[0] == '"' ? NULL : strchr(item, ':');
		if (colon && colon[1] != ':')
		{
			*colon = '\0';
			sel->alias = parse_name(p, "select", item);
			if (!sel->alias)
				return false;
			item = colon + 1;
		}
		cast = NULL;
		for (char *c = item; *c; c++)
		{
			if (*c == '"')
			{
				c++;
				while (*c && *c != '"')
					c += (*c == '\\' && c[1]) ? 2 : 1;
				if (!*c)
					break;
			}
			else if (c[0] == ':' && c[1] == ':')
			{
				*c = '\0';
				cast = trim(c + 2);
				break;
			}
		}
		sel->column = parse_name(p, "select", item);
		if (!sel->column)
			return false;
		if (strcmp(sel->column, "*") == 0 && item[0] != '"')
			sel->column = NULL;
		if (cast)
		{
			if (!cast[0] || strlen(cast) > RQ_MAX_NAME || strspn(cast,
																  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ ") != strlen(cast))
				return fail(p, RQ_ERR_PARSE, "A cast names a type in letters, digits, _ and spaces.",
							"\"failed to parse select\": bad cast ::%.63s", cast);
			sel->cast = cast;
		}
		q->nselect++;
	}
	return true;
}

static bool
parse_order(Parser *p, char *s)
{
	RqQuery    *q = p->q;
	char	  **items;
	int			k = split_top(p, s, &items);

	if (k < 0)
		return false;
	if (k > RQ_MAX_ITEMS)
		return fail(p, RQ_ERR_PARSE, "Order by at most 256 columns.", "\"failed to parse order\": too many terms");
	/* a repeated order= replaces the earlier one */
	q->norder = 0;
	q->order = rq_alloc(q, sizeof(RqOrder) * (size_t) k);
	if (!q->order)
		return oom(p);
	for (int i = 0; i < k; i++)
	{
		char	   *item = trim(items[i]);
		char	   *rest = NULL;
		RqOrder    *o = &q->order[i];

		if (item[0] == '"')
		{
			char	   *end = item + 1;

			while (*end && *end != '"')
				end += (*end == '\\' && end[1]) ? 2 : 1;
			if (*end == '"' && end[1] == '.')
			{
				end[1] = '\0';
				rest = end + 2;
			}
		}
		else
		{
			if (strchr(item, '('))
			{
				*strchr(item, '(') = '\0';
				snprintf(p->err->embed, sizeof(p->err->embed), "%s", item);
				return fail(p, RQ_ERR_EMBED, NULL, "pgcall does not embed resources");
			}
			if ((rest = strchr(item, '.')) != NULL)
				*rest++ = '\0';
		}
		o->column = parse_name(p, "order", item);
		if (!o->column)
			return false;
		while (rest && *rest)
		{
			char	   *word = rest;

			if ((rest = strchr(word, '.')) != NULL)
				*rest++ = '\0';
			if (strcmp(word, "asc") == 0)
				o->desc = false;
			else if (strcmp(word, "desc") == 0)
				o->desc = true;
			else if (strcmp(word, "nullsfirst") == 0)
				o->nulls = 1;
			else if (strcmp(word, "nullslast") == 0)
				o->nulls = 2;
			else
				return fail(p, RQ_ERR_PARSE, "Order terms are column[.asc|.desc][.nullsfirst|.nullslast].",
							"\"failed to parse order (%.60s)\"", word);
		}
		q->norder++;
	}
	return true;
}

static bool
parse_count(Parser *p, const char *what, const char *s, long long *out)
{
	long long	v = 0;

	if (s[0] == '-' && s[1] && strspn(s + 1, "0123456789") == strlen(s + 1))
		return fail(p, RQ_ERR_RANGE, "Limit should be greater than or equal to zero.",
					"Requested range not satisfiable");
	if (!s[0] || strlen(s) > 15 || strspn(s, "0123456789") != strlen(s))
		return fail(p, RQ_ERR_PARSE, "Give a whole number of rows.",
					"\"failed to parse %s parameter (%.40s)\"", what, s);
	for (const char *c = s; *c; c++)
		v = v * 10 + (*c - '0');
	*out = v;
	return true;
}

static bool
add_arg(Parser *p, char *name, char *value)
{
	RqQuery    *q = p->q;

	for (int i = 0; i < q->nargs; i++)
		if (strcmp(q->args[i].name, name) == 0)
		{
			/* a repeated name is an array: {a,b}, elements quoted as needed */
			const char *old = q->args[i].value;
			size_t		need = strlen(old) + 2 * strlen(value) + 8;
			char	   *v = rq_alloc(q, need);
			size_t		j;
			bool		quote = !value[0] || strcasecmp(value, "null") == 0;

			if (!v)
				return oom(p);
			for (const char *c = value; !quote && *c; c++)
				quote = strchr("{},\"\\ \t\n\r", *c) != NULL;
			j = (size_t) snprintf(v, need, "%.*s,", (int) strlen(old) - 1, old);
			if (quote)
				v[j++] = '"';
			for (const char *c = value; *c; c++)
			{
				if (quote && (*c == '"' || *c == '\\'))
					v[j++] = '\\';
				v[j++] = *c;
			}
			if (quote)
				v[j++] = '"';
			v[j++] = '}';
			v[j] = '\0';
			q->args[i].value = v;
			return true;
		}
	if (q->nargs % 16 == 0)
	{
		RqArg	   *na = rq_alloc(q, sizeof(RqArg) * (size_t) (q->nargs + 16));

		if (!na)
			return oom(p);
		if (q->nargs)
			memcpy(na, q->args, sizeof(RqArg) * (size_t) q->nargs);
		q->args = na;
	}
	q->args[q->nargs].name = name;
	q->args[q->nargs].value = value;
	q->nargs++;
	return true;
}

/*
 * A repeated argument turns its first value into a one-element array
 * before the second is appended (add_arg appends to "{...}").
 */
static bool
arrayify_repeats(Parser *p, char **names, char **values, int n)
{
	for (int i = 0; i < n; i++)
	{
		int			count = 0;
		bool		quote;
		char	   *v;
		size_t		j = 0;

		if (!names[i])
			continue;
		for (int k = 0; k < n; k++)
			count += names[k] && strcmp(names[k], names[i]) == 0;
		if (count < 2)
			continue;
		/* first occurrence only */
		for (int k = 0; k < i; k++)
			if (names[k] && strcmp(names[k], names[i]) == 0)
				count = 0;
		if (!count)
			continue;
		quote = !values[i][0] || strcasecmp(values[i], "null") == 0;
		for (const char *c = values[i]; !quote && *c; c++)
			quote = strchr("{},\"\\ \t\n\r", *c) != NULL;
		v = rq_alloc(p->q, 2 * strlen(values[i]) + 8);
		if (!v)
			return oom(p);
		v[j++] = '{';
		if (quote)
			v[j++] = '"';
		for (const char *c = values[i]; *c; c++)
		{
			if (quote && (*c == '"' || *c == '\\'))
				v[j++] = '\\';
			v[j++] = *c;
		}
		if (quote)
			v[j++] = '"';
		v[j++] = '}';
		values[i] = v;
	}
	return true;
}

static bool
parse_params(Parser *p, const char *query, bool args_from_query)
{
	RqQuery    *q = p->q;
	int			n = 0;
	char	  **names;
	char	  **values;
	const char *s = query;

	for (const char *c = query; *c; c++)
		n += *c == '&';
	n++;
	if (n > RQ_MAX_PARAMS)
		return fail(p, RQ_ERR_PARSE, "A query string has at most 1000 parameters.",
					"\"failed to parse the query string\": too many parameters");
	names = rq_alloc(q, sizeof(char *) * (size_t) n);
	values = rq_alloc(q, sizeof(char *) * (size_t) n);
	if (!names || !values)
		return oom(p);
	for (int i = 0; i < n; i++)
	{
		const char *end = strchr(s, '&');
		size_t		len = end ? (size_t) (end - s) : strlen(s);
		const char *eq = memchr(s, '=', len);

		if (len > 0)
		{
			names[i] = url_decode(p, s, eq ? (size_t) (eq - s) : len);
			values[i] = eq ? url_decode(p, eq + 1, len - (size_t) (eq - s) - 1) : url_decode(p, "", 0);
			if (!names[i] || !values[i])
				return false;
			if (!names[i][0])
				names[i] = NULL;	/* "=x" names nothing */
		}
		s = end ? end + 1 : s + len;
	}

	/* reserved words first, so their errors come before filters' */
	for (int i = 0; i < n; i++)
	{
		char	   *k = names[i];
		char	   *v = values[i];
		char	   *dot;

		if (!k)
			continue;
		if (strcmp(k, "select") == 0)
		{
			if (!parse_select(p, v))
				return false;
		}
		else if (strcmp(k, "order") == 0)
		{
			if (!parse_order(p, v))
				return false;
		}
		else if (strcmp(k, "limit") == 0)
		{
			if (!parse_count(p, "limit", trim(v), &q->limit))
				return false;
		}
		else if (strcmp(k, "offset") == 0)
		{
			if (!parse_count(p, "offset", trim(v), &q->offset))
				return false;
		}
		else if (strcmp(k, "or") == 0 || strcmp(k, "and") == 0 ||
				 strcmp(k, "not.or") == 0 || strcmp(k, "not.and") == 0)
		{
			bool		negate = k[0] == 'n';
			const char *w = negate ? k + 4 : k;
			RqExpr	   *e = parse_tree(p, w[0] == 'a' ? RQ_AND : RQ_OR, negate, v);

			if (!e || !add_where(p, e))
				return false;
		}
		else if (strcmp(k, "columns") == 0 || strcmp(k, "on_conflict") == 0)
			return fail(p, RQ_ERR_PARSE, "columns and on_conflict apply to table writes, which pgcall does not offer.",
						"\"%s\" is not a parameter of function calls", k);
		else if ((dot = strrchr(k, '.')) != NULL && k[0] != '"')
		{
			/* users.order=..., users.username=eq.x: an embedded resource */
			*dot = '\0';
			if (strncmp(k, "not", 4) == 0)
				return fail(p, RQ_ERR_PARSE, "Write not. in front of the operator: col=not.eq.1.",
							"\"failed to parse filter (%.60s)\"", k);
			snprintf(p->err->embed, sizeof(p->err->embed), "%s", k);
			return fail(p, RQ_ERR_EMBED, NULL, "pgcall does not embed resources");
		}
		else
			continue;
		names[i] = NULL;
	}
	for (int i = 0; i < n; i++)
	{
		char	   *copy;
		bool		is_filter;
		RqExpr	   *e;

		if (!names[i])
			continue;
		copy = rq_strndup(q, values[i], strlen(values[i]));
		if (!copy)
			return oom(p);
		e = parse_opexpr(p, names[i], copy, false, &is_filter);
		if (p->err->kind != RQ_OK)
			return false;
		if (e)
		{
			if (!add_where(p, e))
				return false;
			names[i] = NULL;
		}
		else if (!args_from_query)
			return fail(p, RQ_ERR_PARSE, "Write filters as column=operator.value, e.g. name=eq.x.",
						"\"failed to parse filter (%.120s)\"", values[i]);
	}
	if (!args_from_query)
		return true;
	if (!arrayify_repeats(p, names, values, n))
		return false;
	for (int i = 0; i < n; i++)
		if (names[i] && (!check_name(p, "argument", names[i]) || !add_arg(p, names[i], values[i])))
			return false;
	return true;
}

static bool
parse_prefer(Parser *p, const char *prefer)
{
	RqQuery    *q = p->q;
	char	   *s;
	char	  **items;
	int			k;
	char		invalid[200] = "";
	long long	max_affected = -1;

	if (!prefer || !prefer[0])
		return true;
	s = rq_strndup(q, prefer, strlen(prefer));
	if (!s)
		return oom(p);
	k = split_top(p, s, &items);
	if (k < 0)
		return false;
	for (int i = 0; i < k; i++)
	{
		char	   *t = trim(items[i]);
		bool		ok = true;

		if (strcmp(t, "tx=commit") == 0)
			q->rollback = false;
		else if (strcmp(t, "tx=rollback") == 0)
			q->rollback = true;
		else if (strcmp(t, "handling=strict") == 0)
			q->strict = true;
		else if (strcmp(t, "handling=lenient") == 0)
			q->strict = false;
		else if (strcmp(t, "count=exact") == 0 || strcmp(t, "count=planned") == 0 ||
				 strcmp(t, "count=estimated") == 0)
			q->count = true;
		else if (strncmp(t, "max-affected=", 13) == 0)
		{
			const char *v = t + 13;

			ok = v[0] && strlen(v) <= 15 && strspn(v, "0123456789") == strlen(v);
			if (ok)
				max_affected = strtoll(v, NULL, 10);
		}
		else if (strcmp(t, "return=minimal") == 0 || strcmp(t, "return=representation") == 0 ||
				 strcmp(t, "return=headers-only") == 0 || strcmp(t, "missing=default") == 0 ||
				 strcmp(t, "missing=null") == 0 || !t[0])
			;					/* PostgREST accepts these and they change nothing in a call */
		else
			ok = false;
		if (!ok)
		{
			size_t		len = strlen(invalid);

			snprintf(invalid + len, sizeof(invalid) - len, "%s%.60s", len ? ", " : "", t);
		}
	}
	if (invalid[0] && q->strict)
	{
		char		details[256];

		snprintf(details, sizeof(details), "Invalid preferences: %s", invalid);
		return fail(p, RQ_ERR_PREFER, details, "Invalid preferences given with handling=strict");
	}
	/* as in PostgREST, max-affected binds only with handling=strict */
	q->max_affected = q->strict ? max_affected : -1;
	return true;
}

static bool
parse_accept(Parser *p, const char *accept)
{
	RqQuery    *q = p->q;
	char	   *s;
	char	  **items;
	int			k;

	q->media = RQ_MEDIA_JSON;
	if (!accept)
		return true;
	s = rq_strndup(q, accept, strlen(accept));
	if (!s)
		return oom(p);
	if (!trim(s)[0])
		return true;			/* an empty Accept accepts anything */
	k = split_top(p, s, &items);
	if (k < 0)
		return false;
	for (int i = 0; i < k; i++)
	{
		char	   *t = items[i];

		if (strchr(t, ';'))
			*strchr(t, ';') = '\0';
		t = trim(t);
		if (strcasecmp(t, "application/json") == 0 || strcasecmp(t, "application/*") == 0 ||
			strcmp(t, "*/*") == 0)
			q->media = RQ_MEDIA_JSON;
		else if (strcasecmp(t, "application/vnd.pgrst.object+json") == 0 ||
				 strcasecmp(t, "application/vnd.pgrst.object") == 0)
			q->media = RQ_MEDIA_OBJECT;
		else if (strcasecmp(t, "text/csv") == 0 || strcasecmp(t, "text/*") == 0)
			q->media = RQ_MEDIA_CSV;
		else
			continue;
		return true;
	}
	{
		char		types[200];

		snprintf(types, sizeof(types), "%s", accept);
		return fail(p, RQ_ERR_MEDIA, NULL, "None of these media types are available: %s", types);
	}
}

/* Range: [items=]from-[to]; the limit and offset parameters take precedence. */
static bool
parse_range(Parser *p, const char *range, bool have_limit, bool have_offset)
{
	RqQuery    *q = p->q;
	const char *s = range;
	long long	from = 0,
				to = -1;
	const char *dash;

	if (!range || !range[0])
		return true;
	if (strncmp(s, "items=", 6) == 0)
		s += 6;
	dash = strchr(s, '-');
	if (!dash || dash == s || (size_t) (dash - s) > 15 ||
		strspn(s, "0123456789") != (size_t) (dash - s) ||
		strlen(dash + 1) > 15 || strspn(dash + 1, "0123456789") != strlen(dash + 1))
		return true;			/* PostgREST ignores a Range it cannot read */
	from = strtoll(s, NULL, 10);
	if (dash[1])
		to = strtoll(dash + 1, NULL, 10);
	if (to >= 0 && from > to)
		return fail(p, RQ_ERR_RANGE,
					"The lower boundary must be lower than or equal to the upper boundary in the Range header.",
					"Requested range not satisfiable");
	if (!have_offset)
		q->offset = from;
	if (!have_limit && to >= 0)
		q->limit = to - from + 1;
	return true;
}

bool
rq_parse(RqQuery *q, const char *query, const char *prefer, const char *accept,
		 const char *range, bool args_from_query, RqError *err)
{
	Parser		p = {q, err, 0};
	bool		ok;

	memset(q, 0, sizeof(*q));
	memset(err, 0, sizeof(*err));
	q->limit = -1;
	q->max_affected = -1;
	ok = parse_params(&p, query ? query : "", args_from_query) &&
		parse_range(&p, range, q->limit >= 0, q->offset > 0) &&
		parse_prefer(&p, prefer) &&
		parse_accept(&p, accept);
	return ok && err->kind == RQ_OK;
}

bool
rq_is_plain(const RqQuery *q)
{
	for (int i = 0; i < q->nselect; i++)
		if (q->select[i].column)
			return false;
	return q->where == NULL && q->norder == 0 && q->limit < 0 && q->offset == 0;
}

/* ------------------------------------------------------------ shape */

typedef struct Buf
{
	char	   *s;
	size_t		len;
	size_t		cap;
	bool		failed;
} Buf;

static void
buf_put(Buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = (b->cap ? b->cap * 2 : 256) + n;
		char	   *ns = realloc(b->s, cap);

		if (!ns)
		{
			b->failed = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
buf_printf(Buf *b, const char *fmt, ...)
{
	char		tmp[64];
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	buf_put(b, tmp, n < 0 ? 0 : (size_t) n);
}

static void
buf_name(Buf *b, const char *s)
{
	if (!s)
	{
		buf_put(b, "-", 1);
		return;
	}
	buf_printf(b, "%zu:", strlen(s));
	buf_put(b, s, strlen(s));
}

static void
shape_expr(Buf *b, const RqExpr *e)
{
	if (e->kind == RQ_LEAF)
	{
		buf_printf(b, "L%d%d.%d.%d.%d.", e->negate, (int) e->op, (int) e->is, e->vidx, e->nvalues);
		buf_name(b, e->column);
		return;
	}
	buf_printf(b, "%c%d(", e->kind == RQ_AND ? 'A' : 'O', e->negate);
	for (int i = 0; i < e->nchildren; i++)
		shape_expr(b, e->children[i]);
	buf_put(b, ")", 1);
}

char *
rq_shape(const RqQuery *q)
{
	Buf			b = {0};

	buf_printf(&b, "m%d c%d x%d S%d:", (int) q->media, q->count, q->max_affected >= 0,
			   q->nselect);
	for (int i = 0; i < q->nselect; i++)
	{
		buf_name(&b, q->select[i].column);
		buf_name(&b, q->select[i].alias);
		buf_name(&b, q->select[i].cast);
	}
	buf_put(&b, "W", 1);
	if (q->where)
		shape_expr(&b, q->where);
	buf_printf(&b, "O%d:", q->norder);
	for (int i = 0; i < q->norder; i++)
	{
		buf_printf(&b, "%d%d", q->order[i].desc, q->order[i].nulls);
		buf_name(&b, q->order[i].column);
	}
	if (b.failed)
	{
		free(b.s);
		return NULL;
	}
	return b.s ? b.s : calloc(1, 1);
}
