/*
 * rpc_query.h: PostgREST's query grammar for /rpc calls, parsed once.
 *
 * A pure parser (C11 and libc only, no PostgreSQL headers) so that the
 * fuzzer can link it alone.  It turns a raw query string and the Prefer,
 * Accept and Range header values into a tree; rpc.c turns the tree into
 * SQL with quoted identifiers and bound parameters.  No text of the request
 * ever becomes SQL text: names are quoted by rpc.c, values become elements
 * of a text[] parameter, numbered here (RqExpr.vidx).
 */
#ifndef PGCALL_RPC_QUERY_H
#define PGCALL_RPC_QUERY_H

#include <stdbool.h>
#include <stddef.h>

/* Limits on what one request may ask for. */
#define RQ_MAX_DEPTH 16			/* nesting of or=(...)/and=(...) */
#define RQ_MAX_NODES 512		/* filter nodes, all trees together */
#define RQ_MAX_VALUES 1024		/* bound values */
#define RQ_MAX_ITEMS 256		/* select or order items */
#define RQ_MAX_NAME 63			/* bytes in a column, alias or cast name */
#define RQ_MAX_PARAMS 1000		/* parameters in a query string */

typedef enum RqOp
{
	RQ_EQ, RQ_NEQ, RQ_GT, RQ_GTE, RQ_LT, RQ_LTE,
	RQ_LIKE, RQ_ILIKE, RQ_MATCH, RQ_IMATCH,
	RQ_IN, RQ_IS, RQ_ISDISTINCT,
	RQ_CS, RQ_CD, RQ_OV, RQ_SL, RQ_SR, RQ_NXR, RQ_NXL, RQ_ADJ,
	RQ_FTS, RQ_PLFTS, RQ_PHFTS, RQ_WFTS
} RqOp;

/* The operand of "is". */
typedef enum RqIs
{
	RQ_IS_NULL, RQ_IS_NOT_NULL, RQ_IS_TRUE, RQ_IS_FALSE, RQ_IS_UNKNOWN
} RqIs;

typedef enum RqNodeKind
{
	RQ_LEAF, RQ_AND, RQ_OR
} RqNodeKind;

typedef struct RqExpr
{
	RqNodeKind	kind;
	bool		negate;
	/* RQ_LEAF */
	char	   *column;
	RqOp		op;
	RqIs		is;
	int			vidx;			/* first value, 1-based; 0 when none */
	int			nvalues;		/* in: list length; fts: 1 or 2 (config first) */
	/* RQ_AND, RQ_OR */
	int			nchildren;
	struct RqExpr **children;
} RqExpr;

typedef struct RqSelect
{
	char	   *column;			/* NULL for "*" */
	char	   *alias;			/* NULL: the column's own name */
	char	   *cast;			/* NULL: no cast; letters, digits, _ and spaces */
} RqSelect;

typedef struct RqOrder
{
	char	   *column;
	bool		desc;
	int			nulls;			/* 0 default, 1 first, 2 last */
} RqOrder;

/* Which error the request earns, PostgREST's code for it. */
typedef enum RqErrKind
{
	RQ_OK,
	RQ_ERR_PARSE,				/* PGRST100, 400 */
	RQ_ERR_EMBED,				/* PGRST200, 400: embedding a resource */
	RQ_ERR_AGGREGATE,			/* PGRST123, 400 */
	RQ_ERR_RANGE,				/* PGRST103, 416 */
	RQ_ERR_PREFER,				/* PGRST122, 400 (handling=strict) */
	RQ_ERR_MEDIA				/* PGRST107, 406 */
} RqErrKind;

typedef struct RqError
{
	RqErrKind	kind;
	char		message[256];
	char		details[256];
	char		embed[RQ_MAX_NAME + 1]; /* RQ_ERR_EMBED: the resource named */
} RqError;

typedef enum RqMedia
{
	RQ_MEDIA_JSON, RQ_MEDIA_OBJECT, RQ_MEDIA_CSV
} RqMedia;

typedef struct RqArg
{
	char	   *name;
	char	   *value;			/* repeated names: a PostgreSQL array literal */
} RqArg;

typedef struct RqQuery
{
	/* select: nselect == 0 means "*" */
	int			nselect;
	RqSelect   *select;
	/* every horizontal filter, and=(...)-ed; NULL: none */
	RqExpr	   *where;
	int			norder;
	RqOrder    *order;
	long long	limit;			/* -1: none */
	long long	offset;
	/* bound values, 1-based in RqExpr.vidx (values[0] is the first) */
	int			nvalues;
	char	  **values;
	/* GET: arguments (query parameters that are not filters) */
	int			nargs;
	RqArg	   *args;
	/* Prefer */
	bool		rollback;
	bool		strict;
	bool		count;			/* count=exact, planned or estimated */
	long long	max_affected;	/* -1: none */
	/* Accept */
	RqMedia		media;
	/* internal: allocations and counters */
	void	   *arena;
	int			nodes;
} RqQuery;

/*
 * Parse a request.  query is the raw query string (percent-encoded, '+' for
 * space, without the '?'); prefer, accept and range are header values; any
 * may be NULL.  With args_from_query (GET), parameters that are not filters
 * become arguments.  Returns false and fills *err on a bad request; q must
 * be released with rq_free() either way.
 */
extern bool rq_parse(RqQuery *q, const char *query, const char *prefer,
					 const char *accept, const char *range, bool args_from_query,
					 RqError *err);
extern void rq_free(RqQuery *q);

/*
 * The request's shape: everything that decides the SQL (names, operators,
 * casts, order, which values are bound where, and the flags), but none of
 * the values.  Two requests with the same shape run the same plan.  Names
 * are written with their lengths so no name can pose as another.  Returns
 * a malloc'd string, or NULL when out of memory.
 */
extern char *rq_shape(const RqQuery *q);

/* Whether the query asks for anything beyond a plain call. */
extern bool rq_is_plain(const RqQuery *q);

/*
 * How an operator becomes SQL (rpc.c): "<column> <sql> <value>", the value
 * cast to the column's type (compare) or left text (pattern); a list (in);
 * a word (is); or "<column> @@ <sql>(<value>)" (text search, the only
 * operators taking a modifier, the configuration).
 */
typedef enum RqOpForm
{
	RQ_FORM_COMPARE, RQ_FORM_PATTERN, RQ_FORM_IN, RQ_FORM_IS, RQ_FORM_FTS
} RqOpForm;

/* An operator of PostgREST's filters: its name in the query string, its SQL. */
typedef struct RqOpInfo
{
	const char *name;
	RqOpForm	form;
	const char *sql;
} RqOpInfo;

extern const RqOpInfo *rq_op_info(RqOp op);
extern const char *rq_op_name(RqOp op);

#endif
