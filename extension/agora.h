/*
 * agora.h: Agora tokens for the rest of the extension.
 *
 * The same validation, configuration and errors as the SQL functions in
 * agora.c, for C callers such as call-state code that mints a token when a
 * participant joins.  Every function raises the SQLSTATEs of errors.h:
 * P400A..P400G for bad input, P503A when Agora is not configured.
 */
#ifndef PGCALL_AGORA_H
#define PGCALL_AGORA_H

#include "postgres.h"

/* A lifetime argument of 0 means: the default (see each function). */
#define PGCALL_AGORA_TTL_DEFAULT 0

/* Lifetimes accepted, in seconds: Agora caps tokens at 24 hours. */
#define PGCALL_AGORA_TTL_MIN 60
#define PGCALL_AGORA_TTL_MAX 86400

/* pgcall.agora_token_compression: zlib level of 007 tokens. */
extern int	pgcall_agora_token_compression;

/* Register agora.c's settings; runs before pgcall.* is reserved. */
extern void pgcall_init_agora(void);

/* Whether the app id and the primary certificate are both set. */
extern bool pgcall_agora_is_configured(void);
extern bool pgcall_agora_app_id_is_set(void);

/* The configured app id; raises P503A when Agora is not configured. */
extern const char *pgcall_agora_require_app_id(void);

/* Raise P400A / P400B / P400C unless the value is one Agora accepts. */
extern void pgcall_agora_check_channel(const char *channel, size_t len);
extern void pgcall_agora_check_account(const char *account, size_t len);
extern uint32 pgcall_agora_check_uid(int64 uid);

/*
 * A 007 RTC token, as palloc'd text.  account NULL or "" is not allowed:
 * pass a uid of 0 to pgcall_agora_make_rtc_token_uid for "any user".
 * token_ttl 0 means pgcall.agora_token_ttl; privilege_ttl 0 means token_ttl.
 * *expires_at (may be NULL) receives the token's expiry, unix time.
 */
extern char *pgcall_agora_make_rtc_token(const char *channel, const char *account, bool publisher,
									int token_ttl, int privilege_ttl, int64 *expires_at);
extern char *pgcall_agora_make_rtc_token_uid(const char *channel, int64 uid, bool publisher,
										int token_ttl, int privilege_ttl, int64 *expires_at);

/* A 007 RTM token for user_id; ttl 0 means pgcall.agora_token_ttl. */
extern char *pgcall_agora_make_rtm_token(const char *user_id, int ttl, int64 *expires_at);

#endif							/* PGCALL_AGORA_H */
