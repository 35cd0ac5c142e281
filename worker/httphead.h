/*
 * httphead.h: the check on a connection's first HTTP request head, before
 * libwebsockets sees it (see httphead.c and listen.c); pure, no lws, no libpq.
 */
#ifndef PGCALL_HTTPHEAD_H
#define PGCALL_HTTPHEAD_H

#include <stdbool.h>
#include <stddef.h>

#define HEAD_MAX_BYTES 8192		/* request line and header fields, blank line included */
#define HEAD_MAX_URI 4096		/* path and query string, decoded */
#define HEAD_MAX_ARGS 63		/* query arguments ('&' or ';' separated) */
#define HEAD_MAX_PARTS 90		/* query arguments plus header fields */

/* Why a head was refused: an HTTP status and the JSON error's fields. */
struct head_error
{
	int			status;
	const char *code;
	const char *message;
	const char *hint;
};

enum head_result
{
	HEAD_MORE,					/* nothing wrong so far: read more */
	HEAD_OK,					/* a complete, acceptable head */
	HEAD_BAD					/* refused: *err says why */
};

/*
 * Check the bytes a connection has sent so far.  HEAD_OK sets *skip (the
 * empty lines before the request line, to leave out) and *head_len (through
 * the blank line); anything after it is body or the next request.  With
 * eof, an incomplete head is refused.
 */
enum head_result httphead_check(const char *buf, size_t len, bool eof, size_t *skip,
								size_t *head_len, struct head_error *err);

#endif							/* PGCALL_HTTPHEAD_H */
