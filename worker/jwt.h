/*
 * jwt.h: HS256 JSON Web Token verification, as PostgREST does it.
 *
 * Only HS256 is accepted: "none" and every other algorithm are refused
 * before the signature is looked at.  exp, nbf and iat are checked with
 * JWT_SKEW_S seconds of clock skew; aud only when an audience is configured
 * (a token without aud passes, as in PostgREST).
 *
 * No libwebsockets or libpq here, so the fuzzers link it alone.
 */
#ifndef PGCALL_JWT_H
#define PGCALL_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JWT_SKEW_S 30
#define JWT_MAX_LEN 8192

enum jwt_error
{
	JWT_OK,
	JWT_MALFORMED,				/* PGRST301 */
	JWT_ALGORITHM,				/* PGRST301 */
	JWT_SIGNATURE,				/* PGRST301 */
	JWT_EXPIRED,				/* PGRST303 */
	JWT_NOT_YET_VALID,			/* PGRST303 */
	JWT_ISSUED_IN_FUTURE,		/* PGRST303 */
	JWT_AUDIENCE,				/* PGRST303 */
	JWT_CLAIMS					/* PGRST303 */
};

struct jwt
{
	char	   *claims;			/* payload JSON text, NUL-terminated */
	size_t		claims_len;
	char	   *role;			/* NULL when absent */
	char	   *sub;			/* NULL when absent; numbers as their text */
	int64_t		exp;			/* 0 when absent */
};

/* Verify token[0..len) at time now; on failure *message says why. */
enum jwt_error jwt_verify(const char *token, size_t len,
						  const unsigned char *key, size_t keylen,
						  const char *audience, int64_t now,
						  struct jwt *out, const char **message);
void		jwt_clear(struct jwt *t);
const char *jwt_error_code(enum jwt_error e);

/* HS256 signing, for tests and the demo token helper. */
char	   *jwt_sign(const char *claims, const unsigned char *key, size_t keylen);

#endif							/* PGCALL_JWT_H */
