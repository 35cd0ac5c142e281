/*
 * http_req.h: one HTTP transaction (http_req.c), shared by the two halves
 * of the HTTP protocol: http.c reads requests and routes them, http_req.c
 * owns a transaction's lifetime, the count of requests in flight, and
 * writing the reply.  http_req.c calls nothing in http.c.
 *
 * libwebsockets allocates and zeroes a struct http_req for every
 * transaction on a connection (it rebinds the protocol and fires
 * HTTP_DROP_PROTOCOL, also on close), so everything a request allocates is
 * freed in http_req_end(), which may run more than once.
 */
#ifndef PGCALL_HTTP_REQ_H
#define PGCALL_HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "db.h"
#include "request.h"

#define BODY_CHUNK 65536

struct route;

enum req_state
{
	RS_NEW, RS_BODY, RS_DB, RS_HEADERS, RS_BODY_OUT, RS_DONE
};

struct http_req
{
	struct lws *wsi;
	enum req_state state;
	const struct route *route;	/* http.c's route table, or NULL */
	char		method[8];
	char		path[160];
	char		fn[128];
	const char *schema;
	const char *dialect;		/* the --dialect port's, or NULL (dialect_http.c) */
	bool		get;			/* GET or HEAD: read-only */
	bool		head;
	bool		single;
	bool		cors;
	bool		close_after;
	bool		inflight;
	bool		had_token;
	bool		error_pending;	/* reply set before the body arrived */
	bool		rx_held;		/* reading paused until the reply is ready */
	bool		lws_zero_body;	/* lws will still call BODY_COMPLETION (POST, length 0) */
	bool		sio_held;		/* a Socket.IO long-poll GET waiting for packets */
	bool		sio;			/* Socket.IO's long-polling: its CORS is sio_ws.c's */
	bool		sio_preflight;	/* an accepted CORS preflight of /socket.io/ */
	struct identity id;
	char	   *headers_json;
	char	   *args_json;
	char	   *query;			/* the query string, passed on to pgcall.rpc */
	char	   *prefer;
	char	   *accept;
	char	   *range;
	char	   *body;
	size_t		body_len;
	size_t		body_cap;
	size_t		content_length;
	struct reply reply;
	unsigned char *out;			/* LWS_PRE + reply body */
	size_t		sent;
	struct job *job;
	uint64_t	t0;
	lws_sorted_usec_list_t sul_timeout;
};

void		http_req_end(struct http_req *r);
void		http_req_in_flight(struct http_req *r);	/* SIGTERM waits for it */
int			http_req_inflight_count(void);
void		http_hold_rx(struct http_req *r);
void		http_reply(struct http_req *r);
void		http_reply_error(struct http_req *r, int status, const char *code, const char *msg,
							 const char *hint);
bool		http_busy(const struct http_req *r);
int			http_pipelined(struct http_req *r, struct lws *wsi);
int			http_req_writeable(struct http_req *r, struct lws *wsi);

#endif							/* PGCALL_HTTP_REQ_H */
