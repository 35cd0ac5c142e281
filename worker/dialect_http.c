/*
 * dialect_http.c: the --dialect ports.  A bridge started with
 * --dialect seed003=3103 serves dialect seed003 on port 3103 (besides its
 * own --port): /socket.io/ there speaks that dialect's Socket.IO (sio_ws.c
 * asks dialect_sio_of()), and every other request is one of the dialect's
 * REST routes, answered by pgcall.dialect_http() in the database as the
 * request's role and user (the identity step of /rpc), which returns the
 * status and body the seed's clients expect.  The route table is data
 * (pgcall.dialect_route); nothing here knows a seed.
 *
 * Which port a connection came to is the socket's own address
 * (getsockname), so listen.c hands every connection to lws alike.
 * http_routes.c routes a dialect port's requests here; config.c reads the
 * --dialect options.
 */
#include "dialect_http.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const struct config *cfg;

void
dialect_http_init(const struct config *config)
{
	cfg = config;
}

/* The dialect of the port this connection came to, or NULL for --port. */
const char *
dialect_of(struct lws *wsi)
{
	struct sockaddr_storage ss;
	socklen_t	sl = sizeof(ss);
	int			fd,
				port;

	if (cfg->ndialects == 0 || !wsi || (fd = lws_get_socket_fd(wsi)) < 0 ||
		getsockname(fd, (struct sockaddr *) &ss, &sl) != 0)
		return NULL;
	if (ss.ss_family == AF_INET)
		port = ntohs(((struct sockaddr_in *) &ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		port = ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
	else
		return NULL;
	for (int i = 0; i < cfg->ndialects; i++)
		if (cfg->dialects[i].port == port)
			return cfg->dialects[i].name;
	return NULL;
}

/* The Socket.IO dialect of this connection: its port's, else --socketio-dialect. */
const char *
dialect_sio_of(struct lws *wsi)
{
	const char *d = dialect_of(wsi);

	return d ? d : cfg->sio_dialect;
}

/* The identity step of /rpc (request.c), then pgcall.dialect_http(). */
struct job *
dialect_http_job(job_done_fn done, void *owner, const char *dialect, const struct identity *id,
				 const char *headers_json, const char *method, const char *path,
				 const char *query, const char *body)
{
	const char *dv[5] = {dialect, method, path, query ? query : "", body ? body : ""};
	struct job *job = request_job(id, headers_json, method, path, false, done, owner);

	if (!job || job_add(job, SQL_DIALECT_HTTP, 5, dv))
	{
		job_free(job);
		return NULL;
	}
	return job;
}

/* Its answer: the dialect's status and body, or a PostgREST error when it failed outright. */
void
dialect_http_reply(struct reply *r, const struct job *job, bool authenticated)
{
	const PGresult *res = job->res[1];
	int			status;

	if (job->fail_code || job->err)
	{
		reply_from_job(r, job, 1, authenticated, false, false);
		return;
	}
	if (!res || PQntuples(res) != 1 || PQnfields(res) != 3 || PQgetisnull(res, 0, 0) ||
		(status = atoi(PQgetvalue(res, 0, 0))) < 200 || status > 599)
	{
		reply_error(r, 500, "PGRST000", "pgcall.dialect_http() returned an unexpected result", NULL,
					"Check that the installed pgcall extension matches this bridge.");
		return;
	}
	free(r->body);
	r->len = PQgetisnull(res, 0, 1) ? 0 : (size_t) PQgetlength(res, 0, 1);
	r->body = malloc(r->len + 1);
	if (!r->body)
	{
		reply_error(r, 500, "PGRST000", "out of memory", NULL, NULL);
		return;
	}
	memcpy(r->body, PQgetisnull(res, 0, 1) ? "" : PQgetvalue(res, 0, 1), r->len + 1);
	r->status = status;
	r->content_type = r->len ? "application/json; charset=utf-8" : NULL;
	r->retry_after = PQgetisnull(res, 0, 2) ? 0 : atoi(PQgetvalue(res, 0, 2));
}
