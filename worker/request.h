/*
 * request.h: the one request pipeline both transports feed (request.c).
 * HTTP (http.c), the native WebSocket (ws.c) and Socket.IO (sio_ws.c) each
 * parse their own framing, then come here for the same four steps: who the
 * request runs as (identity_from_bearer), which exposed schema it names
 * (schema_pick), the job that sets that identity and runs the function
 * (request_job, request_add_rpc), and what the answer or refusal means
 * (reply_from_job, request_refused).
 */
#ifndef PGCALL_REQUEST_H
#define PGCALL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "db.h"

/* What one request (HTTP or WebSocket call) runs as. */
struct identity
{
	char	   *role;
	char	   *claims;			/* decoded JWT payload, "" when anonymous */
	char	   *sub;			/* NULL when anonymous or no sub claim */
	int64_t		exp;			/* 0 when none */
	bool		authenticated;
};

void		identity_clear(struct identity *id);

/* A database result or error in HTTP terms. */
struct reply
{
	int			status;
	char	   *body;			/* malloc'd; NULL for none */
	size_t		len;
	const char *content_type;
	char		content_range[64];
	char	   *extra_headers;	/* "name: value\r\n"... from PGRST errors */
	bool		www_authenticate;
	int			retry_after;	/* 429: seconds the database said to wait, 0 unknown */
};

void		reply_clear(struct reply *r);
void		reply_error(struct reply *r, int status, const char *code,
						const char *message, const char *details, const char *hint);
void		reply_from_job(struct reply *r, const struct job *job, int rpc_stmt,
						   bool authenticated, bool single, bool count_exact);
int			identity_from_bearer(struct identity *id, const char *token, size_t len,
								 struct reply *err);
const char *schema_pick(const char *profile);

void		request_init(const struct config *cfg);

/*
 * A job whose first statement makes the rest run as id: role, claims,
 * request.headers (headers_json, or "{}"), method, path and the statement
 * timeout, all transaction-local; read_only also makes the transaction
 * read-only (GET).  NULL when out of memory.
 */
struct job *request_job(const struct identity *id, const char *headers_json,
						const char *method, const char *path, bool read_only,
						job_done_fn done, void *owner);

/*
 * The function call itself, pgcall.rpc(schema, fn, args, ...): args NULL
 * takes the arguments from query (GET).  Jobs outside schema pgcall get the
 * session reset after them (db.c).  0, or -1 when out of memory.
 */
int			request_add_rpc(struct job *job, const char *schema, const char *fn,
							const char *args_json, bool single, const char *query,
							const char *prefer, const char *accept, const char *range);

/* pool_submit() (pool) or conn_submit() refused a job: the 503 that says why. */
void		request_refusal(bool pool, const char **code, const char **message, const char **hint);
void		request_refused(struct reply *r, bool pool);

/*
 * Or the refusal kept on the job, as one that never reached a database:
 * reply_from_job() makes it the same 503 (without the hint), so a job
 * answered through its done callback and one answered at once agree.
 */
void		request_job_refused(struct job *job, bool pool);

#endif							/* PGCALL_REQUEST_H */
