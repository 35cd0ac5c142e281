/*
 * lwsio.h: small libwebsockets and socket helpers both transports use
 * (lwsio.c).  Below http.c, ws.c and sio_ws.c; above nothing but the
 * request vocabulary (struct reply).
 */
#ifndef PGCALL_LWSIO_H
#define PGCALL_LWSIO_H

#include <stdbool.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "request.h"

char	   *hdr_dup(struct lws *wsi, enum lws_token_indexes t);
char	   *hdr_custom_dup(struct lws *wsi, const char *name);
char	   *http_headers_json(struct lws *wsi);	/* request.headers, credentials left out */
bool		wire_received(struct lws *wsi, uint64_t *n);	/* the kernel's byte count */
bool		wire_consumed(struct lws *wsi, uint64_t *n);	/* and less what waits unread */
int			lwsio_retry_after(const struct reply *r, unsigned char **p, unsigned char *end,
							  struct lws *wsi);
int			http_write_now(struct lws *wsi, int status, const struct reply *r, bool token_seen);
void		http_closed_early(struct lws *wsi);
void		lwsio_mark_answered(struct lws *wsi);	/* we answered and close it ourselves */

#endif							/* PGCALL_LWSIO_H */
