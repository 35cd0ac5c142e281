/*
 * fuzz_jwt.c: libFuzzer target for JWT verification (worker/jwt.c).
 *
 * The input is split at its first byte: the rest is the token.  Half of the
 * runs sign a fuzzed claims text with the key, so the claims checks (exp,
 * nbf, iat, aud, role, sub) are reached past the signature, not only the
 * parsing in front of it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"

static const unsigned char key[] = "fuzzing-secret-fuzzing-secret-0123456789";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwt	t;
	const char *why;
	char	   *tok;

	if (size < 1)
		return 0;
	if (data[0] & 1)
	{
		char	   *claims = malloc(size);

		memcpy(claims, data + 1, size - 1);
		claims[size - 1] = '\0';
		tok = jwt_sign(claims, key, sizeof(key) - 1);
		free(claims);
		if (!tok)
			return 0;
	}
	else
	{
		tok = malloc(size);
		memcpy(tok, data + 1, size - 1);
		tok[size - 1] = '\0';
	}
	if (jwt_verify(tok, strlen(tok), key, sizeof(key) - 1, (data[0] & 2) ? "aud-1" : NULL,
				   1700000000, &t, &why) == JWT_OK)
	{
		/* a verified token has JSON object claims and string role/sub */
		if (!t.claims || (t.role && !t.role[0]) || (t.sub && !t.sub[0]))
			abort();
		jwt_clear(&t);
	}
	else if (!why)
		abort();
	free(tok);
	return 0;
}
