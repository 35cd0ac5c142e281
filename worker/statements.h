/*
 * statements.h: every statement the bridge sends (statements.c), by id.
 */
#ifndef PGCALL_STATEMENTS_H
#define PGCALL_STATEMENTS_H

#include <stdbool.h>
#include <stdio.h>

/* Every statement the bridge sends; the text is in statements.c. */
enum sql_id
{
	SQL_IDENTITY,				/* role, claims, headers, method, path, timeout */
	SQL_IDENTITY_RO,			/* the same, read-only transaction */
	SQL_RPC,					/* schema, function, args object, single, query, prefer, accept, range */
	SQL_WS_AUTH,				/* current user id under the socket's identity */
	SQL_EVENTS,					/* after id, max rows, below id */
	SQL_EVENTS_SINCE,			/* after id, max rows, as the user */
	SQL_HORIZON,
	SQL_WAIT,					/* seen count, timeout ms */
	SQL_HEARTBEAT,				/* bridge id */
	SQL_PRESENCE,				/* bridge id, user id, connections */
	SQL_UNREGISTER,				/* bridge id */
	SQL_EXPIRE,
	SQL_DISCONNECT,
	SQL_PURGE,					/* max rows */
	SQL_HEALTH,
	SQL_SET_ROLE,				/* role (system connections) */
	SQL_LISTEN,
	SQL_RESET_CHECK,			/* first statement of the session reset (statements.c) */
	SQL_WEBHOOK_CLAIM,			/* bridge id, max deliveries */
	SQL_WEBHOOK_REPORT,			/* bridge id, results (JSON array) */
	SQL_WEBHOOK_ENABLED,
	SQL_SIO_CONNECT,			/* dialect, namespace: user id and outbound rules */
	SQL_SIO_CALL,				/* dialect, event, payload: what to send back */
	SQL_SIO_MEDIA,				/* call id: the user's media session, for an emit */
	SQL_DIALECT_HTTP,			/* dialect, method, path, query, body: status and body */
	SQL__COUNT
};

struct sqldef
{
	const char *name;			/* prepared statement name, or NULL */
	const char *sql;
	bool		prepare;
};

extern const struct sqldef sqldefs[SQL__COUNT];

/* The session reset after untrusted code: [0] is SQL_RESET_CHECK's place. */
#define RESET_SQL_COUNT 6
extern const char *const reset_sql[RESET_SQL_COUNT];

void		statements_print(FILE *out);	/* --print-sql */

#endif							/* PGCALL_STATEMENTS_H */
