/*
 * fuzz_rpc_query.c: libFuzzer target for the PostgREST query parser behind
 * pgcall.rpc (extension/rpc_query.c).  The input is a flags byte, then the
 * query string, Prefer, Accept and Range values separated by \x01.
 *
 * Besides not crashing, leaking or reading out of bounds (ASan, UBSan), a
 * parsed request must hold only what rpc.c may safely turn into SQL: names
 * 1..63 bytes without control characters, casts of letters, digits, _ and
 * spaces, values as NUL-free valid UTF-8 that every filter node points at
 * within bounds, trees within their depth and size limits; and parsing the
 * same text twice gives the same shape.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_query.h"

static void
check_name(const char *s)
{
	size_t		n;

	if (!s)
		abort();
	n = strlen(s);
	if (n == 0 || n > RQ_MAX_NAME)
		abort();
	for (const unsigned char *c = (const unsigned char *) s; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			abort();
}

static int
check_expr(const RqQuery *q, const RqExpr *e, int depth)
{
	int			nodes = 1;

	if (depth > RQ_MAX_DEPTH + 1)
		abort();
	if (e->kind == RQ_LEAF)
	{
		check_name(e->column);
		if (e->nvalues < 0 || (e->nvalues > 0 && (e->vidx < 1 || e->vidx + e->nvalues - 1 > q->nvalues)))
			abort();
		if (e->op != RQ_IN && e->op != RQ_IS && e->nvalues == 0)
			abort();
		return nodes;
	}
	if (e->nchildren < 1)
		abort();
	for (int i = 0; i < e->nchildren; i++)
		nodes += check_expr(q, e->children[i], depth + 1);
	return nodes;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *copy;
	char	   *part[4] = {NULL, NULL, NULL, NULL};
	int			n = 0;
	bool		from_query;
	RqQuery		q,
				q2;
	RqError		err,
				err2;
	bool		ok,
				ok2;

	if (size < 1)
		return 0;
	from_query = data[0] & 1;
	copy = malloc(size);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	part[n++] = copy;
	for (char *c = copy; *c && n < 4; c++)
		if (*c == '\x01')
		{
			*c = '\0';
			part[n++] = c + 1;
		}

	ok = rq_parse(&q, part[0], part[1], part[2], part[3], from_query, &err);
	if (ok)
	{
		char	   *shape = rq_shape(&q);
		char	   *shape2;

		if (!shape || err.kind != RQ_OK)
			abort();
		for (int i = 0; i < q.nvalues; i++)
			if (!q.values[i])
				abort();
		for (int i = 0; i < q.nselect; i++)
		{
			if (q.select[i].column)
				check_name(q.select[i].column);
			if (q.select[i].alias)
				check_name(q.select[i].alias);
			if (q.select[i].cast && (strlen(q.select[i].cast) == 0 || strlen(q.select[i].cast) > RQ_MAX_NAME ||
									 strspn(q.select[i].cast, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ ") != strlen(q.select[i].cast)))
				abort();
		}
		for (int i = 0; i < q.norder; i++)
			check_name(q.order[i].column);
		for (int i = 0; i < q.nargs; i++)
			check_name(q.args[i].name);
		if (q.where && check_expr(&q, q.where, 0) > RQ_MAX_NODES)
			abort();
		if (q.limit < -1 || q.offset < 0 || q.nvalues > RQ_MAX_VALUES)
			abort();
		ok2 = rq_parse(&q2, part[0], part[1], part[2], part[3], from_query, &err2);
		shape2 = ok2 ? rq_shape(&q2) : NULL;
		if (!ok2 || !shape2 || strcmp(shape, shape2) != 0 || q2.nvalues != q.nvalues)
			abort();
		for (int i = 0; i < q.nvalues; i++)
			if (strcmp(q.values[i], q2.values[i]) != 0)
				abort();
		free(shape);
		free(shape2);
		rq_free(&q2);
	}
	else if (err.kind == RQ_OK || !err.message[0])
		abort();
	rq_free(&q);
	free(copy);
	return 0;
}
