/*
 * http_routes.h: what each HTTP path does (http_routes.c).  http.c reads
 * and checks a request, finds its route here, opens it when its head has
 * arrived and starts it when its body is complete.
 */
#ifndef PGCALL_HTTP_ROUTES_H
#define PGCALL_HTTP_ROUTES_H

#include <stdbool.h>

#include <libwebsockets.h>

#include "config.h"
#include "db.h"
#include "http_req.h"

/* What a route did with a request whose head has arrived. */
enum route_open
{
	ROUTE_ANSWERED,				/* replied, or serving: nothing more to do here */
	ROUTE_READ_BODY				/* read the body, if any, then start */
};

struct route
{
	const char *path;
	bool		prefix;			/* path is a prefix of the request's */
	bool		get_only;		/* other methods fall through to the next routes */
	bool		(*enabled) (void);	/* NULL: always on */
	enum route_open (*open) (struct http_req *r, struct lws *wsi, const char *path);
	void		(*start) (struct http_req *r);	/* the request is complete */
	bool		dialect_port;	/* on --dialect ports only; false: on --port only */
};

void		http_routes_init(const struct config *cfg, struct lws_context *ctx, const char *bridge_id,
							 struct pgconn *sys);
const struct route *route_find(const struct http_req *r, const char *path);

/* No route: a static file, PostgREST's table endpoints (not offered), or 404. */
int			route_unrouted(struct http_req *r, struct lws *wsi, const char *path);

/* Socket.IO's long-polling answers a request (given to sio_ws_init()). */
void		http_sio_answer(struct http_req *r, int status, const char *content_type,
							char *body, size_t len);

#endif							/* PGCALL_HTTP_ROUTES_H */
