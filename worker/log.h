/*
 * log.h: one log line per event worth knowing (log.c).  The lowest layer:
 * it includes nothing of the bridge.
 */
#ifndef PGCALL_LOG_H
#define PGCALL_LOG_H

enum
{
	LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG
};

void		log_init(int level);
void		logmsg(int level, const char *fmt,...) __attribute__((format(printf, 2, 3)));

#define log_error(...) logmsg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) logmsg(LOG_WARN, __VA_ARGS__)
#define log_info(...) logmsg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) logmsg(LOG_DEBUG, __VA_ARGS__)

#endif							/* PGCALL_LOG_H */
