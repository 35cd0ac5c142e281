/*
 * wire.c: small pure functions over request text that the bridge owns, kept
 * apart from libwebsockets and libpq so the fuzzers can link them alone:
 * GET query arguments into a JSON object, SQLSTATE into HTTP status, and
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

/* Quote one element of a PostgreSQL array literal when it needs it. */
static void
array_elem(struct jbuf *b, const char *v)
{
	bool		quote = !v[0] || !strcasecmp(v, "null");

	for (const char *p = v; !quote && *p; p++)
		quote = strchr("{},\"\\ \t\n\r", *p) != NULL;
	if (!quote)
	{
		jb_puts(b, v);
		return;
	}
	jb_puts(b, "\"");
	for (const char *p = v; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			jb_put(b, "\\", 1);
		jb_put(b, p, 1);
	}
	jb_puts(b, "\"");
}

struct arg
{
	char	   *key;
	char	   *val;
	bool		done;
};

/*
 * GET /rpc/fn?a=1&b=x: a JSON object of strings; a repeated key becomes the
 * array literal {1,2}, the form postgrest-js uses for arrays.
 */
char *
args_to_json(char **frags, int n)
{
	struct arg *args = calloc((size_t) n + 1, sizeof(*args));
	struct jbuf b,
				lit;
	bool		first = true;

	if (!args)
		return NULL;
	for (int i = 0; i < n; i++)
	{
		char	   *eq = strchr(frags[i], '=');

		args[i].key = frags[i];
		args[i].val = eq ? eq + 1 : frags[i] + strlen(frags[i]);
		if (eq)
			*eq = '\0';
	}
	jb_init(&b);
	jb_puts(&b, "{");
	for (int i = 0; i < n; i++)
	{
		int			count = 0;

		if (args[i].done || !args[i].key[0])
			continue;
		for (int j = i; j < n; j++)
			count += !args[j].done && strcmp(args[j].key, args[i].key) == 0;
		if (!first)
			jb_puts(&b, ",");
		first = false;
		jb_strz(&b, args[i].key);
		jb_puts(&b, ":");
		if (count == 1)
		{
			jb_strz(&b, args[i].val);
			args[i].done = true;
			continue;
		}
		jb_init(&lit);
		jb_puts(&lit, "{");
		for (int j = i, k = 0; j < n; j++)
		{
			if (args[j].done || strcmp(args[j].key, args[i].key) != 0)
				continue;
			if (k++)
				jb_puts(&lit, ",");
			array_elem(&lit, args[j].val);
			if (j != i)
				args[j].done = true;
		}
		args[i].done = true;
		jb_puts(&lit, "}");
		jb_str(&b, lit.s, lit.len);
		jb_free(&lit);
	}
	jb_puts(&b, "}");
	free(args);
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

