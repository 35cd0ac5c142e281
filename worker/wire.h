/*
 * wire.h: pure request-text helpers (see wire.c); no libwebsockets, no libpq.
 */
#ifndef PGCALL_WIRE_H
#define PGCALL_WIRE_H

#include <stdbool.h>

/* HTTP status for a SQLSTATE, PostgREST's table plus P<status><x> and PTxyz. */
int			sqlstate_http_status(const char *sqlstate, bool authenticated);

/* Decoded "k=v" fragments into a percent-encoded query string. */
char	   *query_from_fragments(char *const *frags, int n);

/* Whether a decoded request path may name a static file. */
bool		static_path_ok(const char *path);

#endif							/* PGCALL_WIRE_H */
