/*
 * wire.c: small pure functions over request text that the bridge owns, kept
 * apart from libwebsockets and libpq so the fuzzers can link them alone:
 * the query string passed on to pgcall.rpc, SQLSTATE into HTTP status, and
 * the check on static file paths.
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int
sqlstate_http_status(const char *s, bool authenticated)
{
	if (!s || strlen(s) != 5)
		return 500;
	/* pgcall: P + HTTP status + one letter or digit, e.g. P404A */
	if (s[0] == 'P' && s[1] >= '1' && s[1] <= '5' && is_digit(s[2]) && is_digit(s[3]) &&
		(is_digit(s[4]) || (s[4] >= 'A' && s[4] <= 'Z')))
		return (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	/* PostgREST: PTxyz */
	if (s[0] == 'P' && s[1] == 'T' && s[2] >= '1' && s[2] <= '5' && is_digit(s[3]) && is_digit(s[4]))
		return (s[2] - '0') * 100 + (s[3] - '0') * 10 + (s[4] - '0');
	if (strncmp(s, "08", 2) == 0)
		return 503;
	if (strncmp(s, "0L", 2) == 0 || strncmp(s, "0P", 2) == 0 || strncmp(s, "28", 2) == 0)
		return 403;
	if (strcmp(s, "23503") == 0 || strcmp(s, "23505") == 0)
		return 409;
	if (strcmp(s, "25006") == 0)
		return 405;
	if (strcmp(s, "42883") == 0 || strcmp(s, "42P01") == 0)
		return 404;
	if (strcmp(s, "42501") == 0)
		return authenticated ? 403 : 401;
	if (strcmp(s, "P0001") == 0)
		return 400;
	if (strncmp(s, "53", 2) == 0)
		return 503;
	if (strncmp(s, "P0", 2) == 0 || strncmp(s, "XX", 2) == 0 || strncmp(s, "40", 2) == 0)
		return 500;
	if (s[0] == '5' && s[1] >= '4' && s[1] <= '8')
		return 500;
	return 400;
}

static bool
unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit((char) c) ||
		c == '-' || c == '.' || c == '_' || c == '~';
}

static void
put_encoded(struct jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];
		char		e[3] = {'%', hex[c >> 4], hex[c & 15]};

		if (unreserved(c))
			jb_put(b, (const char *) &c, 1);
		else
			jb_put(b, e, 3);
	}
}

/*
 * The query string again, from the "k=v" fragments libwebsockets decoded:
 * each name and value percent-encoded, joined with '&', so the extension
 * (rpc_query.c) reads exactly the names and values the client sent, a '&'
 * or '=' inside a value included.  The bridge does not interpret it.
 */
char *
query_from_fragments(char *const *frags, int n)
{
	struct jbuf b;

	if (n == 0)
		return strdup("");
	jb_init(&b);
	for (int i = 0; i < n; i++)
	{
		const char *eq = strchr(frags[i], '=');
		size_t		klen = eq ? (size_t) (eq - frags[i]) : strlen(frags[i]);

		if (i)
			jb_puts(&b, "&");
		put_encoded(&b, frags[i], klen);
		if (eq)
		{
			jb_puts(&b, "=");
			put_encoded(&b, eq + 1, strlen(eq + 1));
		}
	}
	return jb_take(&b, NULL);
}

/* Whether a decoded request path may name a file: no dot segments, no dotfiles. */
bool
static_path_ok(const char *path)
{
	if (path[0] != '/' || strchr(path, '\\'))
		return false;
	for (const char *p = path; *p; p++)
		if (p[0] == '/' && p[1] == '.')
			return false;
	return strlen(path) < 1024;
}

