/*
 * static.h: files under --web-root (static.c).
 */
#ifndef PGCALL_STATIC_H
#define PGCALL_STATIC_H

#include <libwebsockets.h>

const char *static_mime(const char *path);

/* 0 serving, -1 to close, or the HTTP status of a refusal (403, 404). */
int			static_serve(struct lws *wsi, const char *web_root, const char *path);

#endif							/* PGCALL_STATIC_H */
