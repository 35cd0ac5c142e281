/*
 * static.c: files under --web-root for GET and HEAD on any path that is not
 * an API route ("/" serves index.html).
 *
 * libwebsockets has already URL-decoded the path and folded "/./" and
 * "/../"; we still refuse any dot segment or dotfile, resolve symlinks with
 * realpath() and serve only regular files that stay under the root.  The
 * transfer itself is lws_serve_http_file(), which streams from WRITEABLE.
 */
#include "static.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "wire.h"

static const struct
{
	const char *ext;
	const char *type;
}			mime[] = {
	{"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
	{"js", "text/javascript; charset=utf-8"}, {"mjs", "text/javascript; charset=utf-8"},
	{"css", "text/css; charset=utf-8"}, {"json", "application/json; charset=utf-8"},
	{"map", "application/json; charset=utf-8"}, {"txt", "text/plain; charset=utf-8"},
	{"svg", "image/svg+xml"}, {"png", "image/png"}, {"jpg", "image/jpeg"},
	{"jpeg", "image/jpeg"}, {"gif", "image/gif"}, {"webp", "image/webp"},
	{"ico", "image/x-icon"}, {"wasm", "application/wasm"}, {"woff", "font/woff"},
	{"woff2", "font/woff2"}, {"mp3", "audio/mpeg"}, {"ogg", "audio/ogg"},
	{"wav", "audio/wav"}, {"webmanifest", "application/manifest+json"},
};

const char *
static_mime(const char *path)
{
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');

	if (dot && (!slash || dot > slash))
		for (size_t i = 0; i < LWS_ARRAY_SIZE(mime); i++)
			if (strcasecmp(dot + 1, mime[i].ext) == 0)
				return mime[i].type;
	return "application/octet-stream";
}

/* 0 when the transfer started, -1 to close, or an HTTP status to answer. */
int
static_serve(struct lws *wsi, const char *web_root, const char *path)
{
	static const char hdrs[] = "x-content-type-options: nosniff\r\ncache-control: no-cache\r\n";
	char		want[PATH_MAX],
				root[PATH_MAX],
				real[PATH_MAX];
	struct stat st;
	size_t		rl;
	int			n;

	if (!static_path_ok(path))
		return 404;
	if (!realpath(web_root, root))
		return 404;
	if (strlen(root) + strlen(path) + 11 >= sizeof(want))
		return 404;
	strcpy(want, root);
	strcat(want, path);
	if (path[strlen(path) - 1] == '/')
		strcat(want, "index.html");
	if (!realpath(want, real))
		return 404;
	rl = strlen(root);
	if (strncmp(real, root, rl) != 0 || real[rl] != '/')
		return 403;
	if (stat(real, &st) != 0)
		return 404;
	if (S_ISDIR(st.st_mode))
	{
		if (strlen(real) + 12 >= sizeof(real))
			return 404;
		strcat(real, "/index.html");
		if (stat(real, &st) != 0)
			return 404;
	}
	if (!S_ISREG(st.st_mode))
		return 404;
	n = lws_serve_http_file(wsi, real, static_mime(real), hdrs, (int) strlen(hdrs));
	return n == 0 ? 0 : -1;
}
