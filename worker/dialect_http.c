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
 */
#include "bridge.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* "name=port[,name=port...]"; each --dialect adds to the list. */
int
dialect_config_add(struct config *cfg, const char *spec)
{
	char	   *copy = strdup(spec),
			   *save = NULL;

	if (!copy)
		return -1;
	/* copy is kept: the names point into it for the life of the process */
	for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
	{
		char	   *eq = strchr(t, '='),
				   *end = NULL;
		long		port = eq ? strtol(eq + 1, &end, 10) : 0;
		size_t		nl = eq ? (size_t) (eq - t) : 0;

		if (!eq || nl == 0 || nl > 32 || strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_-") != nl ||
			!end || *end || end == eq + 1 || port < 1 || port > 65535)
		{
			fprintf(stderr, "pgcall-bridge: --dialect takes NAME=PORT (a dialect name of a-z, 0-9, _ "
					"and -, and a port 1-65535), not \"%s\"\n", t);
			return -1;
		}
		*eq = '\0';
		if (port == cfg->port)
		{
			fprintf(stderr, "pgcall-bridge: --dialect %s: port %ld is --port\n", t, port);
			return -1;
		}
		for (int i = 0; i < cfg->ndialects; i++)
			if (cfg->dialects[i].port == port || strcmp(cfg->dialects[i].name, t) == 0)
			{
				fprintf(stderr, "pgcall-bridge: --dialect %s=%ld: that name or port is taken\n", t, port);
				return -1;
			}
		if (cfg->ndialects == MAX_DIALECTS)
		{
			fprintf(stderr, "pgcall-bridge: at most %d dialects\n", MAX_DIALECTS);
			return -1;
		}
		cfg->dialects[cfg->ndialects].name = t;
		cfg->dialects[cfg->ndialects].port = (int) port;
		cfg->ndialects++;
	}
	return 0;
}

/* The dialect of the port this connection came to, or NULL for --port. */
const char *
dialect_of(struct lws *wsi)
{
	struct sockaddr_storage ss;
	socklen_t	sl = sizeof(ss);
	int			fd,
				port;

	if (B.cfg.ndialects == 0 || !wsi || (fd = lws_get_socket_fd(wsi)) < 0 ||
		getsockname(fd, (struct sockaddr *) &ss, &sl) != 0)
		return NULL;
	if (ss.ss_family == AF_INET)
		port = ntohs(((struct sockaddr_in *) &ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		port = ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
	else
		return NULL;
	for (int i = 0; i < B.cfg.ndialects; i++)
		if (B.cfg.dialects[i].port == port)
			return B.cfg.dialects[i].name;
	return NULL;
}

/* The Socket.IO dialect of this connection: its port's, else --socketio-dialect. */
const char *
dialect_sio_of(struct lws *wsi)
{
	const char *d = dialect_of(wsi);

	return d ? d : B.cfg.sio_dialect;
}

/* The identity step of /rpc, then pgcall.dialect_http(). */
struct job *
dialect_http_job(job_done_fn done, void *owner, const char *dialect, const struct identity *id,
				 const char *headers_json, const char *method, const char *path,
				 const char *query, const char *body)
{
	char		timeout[24];
	const char *idv[6];
	const char *dv[5];
	struct job *job = job_new(done, owner);

	snprintf(timeout, sizeof(timeout), "%d", B.cfg.statement_timeout_ms);
	idv[0] = id->role;
	idv[1] = id->claims;
	idv[2] = headers_json ? headers_json : "{}";
	idv[3] = method;
	idv[4] = path;
	idv[5] = timeout;
	dv[0] = dialect;
	dv[1] = method;
	dv[2] = path;
	dv[3] = query ? query : "";
	dv[4] = body ? body : "";
	if (!job || job_add(job, SQL_IDENTITY, 6, idv) || job_add(job, SQL_DIALECT_HTTP, 5, dv))
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
