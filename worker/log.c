/*
 * log.c: one line per event worth knowing, on stderr:
 * "2024-01-01T12:00:00.123Z info message".
 *
 * The bridge never logs a token, a secret, a request body or a query
 * string.  libwebsockets' own warnings and errors come through here too,
 * with anything that looks like a token=... argument masked.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

static int	level = LOG_INFO;

static const char *const names[] = {"error", "warn", "info", "debug"};

static void
emit(int lvl, const char *msg)
{
	struct timespec ts;
	struct tm	tm;
	char		when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s %s\n", when, ts.tv_nsec / 1000000, names[lvl], msg);
}

void
logmsg(int lvl, const char *fmt,...)
{
	char		buf[1024];
	va_list		ap;

	if (lvl > level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	emit(lvl, buf);
}

static void
lws_emit(int lws_level, const char *line)
{
	char		buf[1024];
	char	   *t;
	size_t		n;

	snprintf(buf, sizeof(buf), "lws: %s", line);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	/* mask token=... wherever lws might print a URI */
	for (t = strstr(buf, "token="); t; t = strstr(t, "token="))
	{
		t += 6;
		while (*t && *t != '&' && *t != ' ')
			*t++ = '*';
	}
	emit(lws_level & LLL_ERR ? LOG_ERROR : LOG_WARN, buf);
}

void
log_init(int lvl)
{
	level = lvl;
	lws_set_log_level(lvl >= LOG_DEBUG ? LLL_ERR | LLL_WARN | LLL_NOTICE
					  : lvl >= LOG_WARN ? LLL_ERR | LLL_WARN : LLL_ERR, lws_emit);
}
