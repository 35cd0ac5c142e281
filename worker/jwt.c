/*
 * jwt.c: HS256 verification with OpenSSL's HMAC, and signing for the
 * demo-token helper.
 *
 * Order of checks follows what a client needs to hear: shape, algorithm,
 * signature, then claims.  Nothing from the token is logged or echoed back
 * in an error message.
 */
#include "jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "json.h"

void
jwt_clear(struct jwt *t)
{
	free(t->claims);
	free(t->role);
	free(t->sub);
	memset(t, 0, sizeof(*t));
}

const char *
jwt_error_code(enum jwt_error e)
{
	switch (e)
	{
		case JWT_OK:
			return NULL;
		case JWT_MALFORMED:
		case JWT_ALGORITHM:
		case JWT_SIGNATURE:
			return "PGRST301";
		default:
			return "PGRST303";
	}
}

static enum jwt_error
fail(enum jwt_error e, const char *msg, const char **message, struct jwt *out)
{
	*message = msg;
	jwt_clear(out);
	return e;
}

/* A NumericDate claim: a number (fractions allowed), or absent. */
static int
numeric_date(const char *claims, size_t n, const char *name, bool *present, double *value)
{
	struct jval v;

	*present = false;
	if (!json_member(claims, n, name, &v))
		return 0;
	if (!json_double(&v, value))
		return -1;
	*present = true;
	return 0;
}

static bool
audience_matches(const struct jval *aud, const char *want)
{
	struct jiter it;
	struct jval el;
	char	   *s;
	bool		ok = false;

	if (aud->type == J_STRING)
	{
		s = json_string_dup(aud);
		ok = s && strcmp(s, want) == 0;
		free(s);
		return ok;
	}
	if (aud->type != J_ARRAY)
		return false;
	it = (struct jiter)
	{
		aud->p, aud->n, 0
	};
	while (!ok && json_next_element(&it, &el))
	{
		if (el.type != J_STRING)
			continue;
		s = json_string_dup(&el);
		ok = s && strcmp(s, want) == 0;
		free(s);
	}
	return ok;
}

enum jwt_error
jwt_verify(const char *token, size_t len, const unsigned char *key, size_t keylen,
		   const char *audience, int64_t now, struct jwt *out, const char **message)
{
	const char *dot1,
			   *dot2;
	unsigned char header[1024];
	unsigned char sig[64];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	long		hlen,
				plen,
				slen;
	struct jval v;
	enum jtype	top;
	char	   *alg;
	bool		present;
	double		t;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > JWT_MAX_LEN)
		return fail(JWT_MALFORMED, "JWT is empty or too long", message, out);
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t) (dot1 + 1 - token)) : NULL;
	if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t) (dot2 + 1 - token)))
		return fail(JWT_MALFORMED, "Expected 3 parts in JWT", message, out);

	/* header: {"alg":"HS256",...} */
	hlen = b64url_decode(token, (size_t) (dot1 - token), header, sizeof(header));
	if (hlen <= 0 || !json_valid((char *) header, (size_t) hlen, &top) || top != J_OBJECT)
		return fail(JWT_MALFORMED, "JWT header is not a base64url JSON object", message, out);
	if (!json_member((char *) header, (size_t) hlen, "alg", &v) || v.type != J_STRING)
		return fail(JWT_ALGORITHM, "JWT header has no algorithm", message, out);
	alg = json_string_dup(&v);
	if (!alg || strcmp(alg, "HS256") != 0)
	{
		free(alg);
		return fail(JWT_ALGORITHM, "Wrong or unsupported JWT algorithm: only HS256 is accepted",
					message, out);
	}
	free(alg);
	if (json_member((char *) header, (size_t) hlen, "crit", &v))
		return fail(JWT_MALFORMED, "JWT header has critical extensions this server does not support",
					message, out);

	/* signature over "header.payload" */
	slen = b64url_decode(dot2 + 1, len - (size_t) (dot2 + 1 - token), sig, sizeof(sig));
	if (!HMAC(EVP_sha256(), key, (int) keylen, (const unsigned char *) token,
			  (size_t) (dot2 - token), mac, &maclen) ||
		slen != (long) maclen || CRYPTO_memcmp(sig, mac, maclen) != 0)
		return fail(JWT_SIGNATURE, "JWT signature is invalid", message, out);

	/* claims */
	out->claims = malloc((size_t) (dot2 - dot1));
	if (!out->claims)
		return fail(JWT_MALFORMED, "out of memory", message, out);
	plen = b64url_decode(dot1 + 1, (size_t) (dot2 - dot1 - 1), (unsigned char *) out->claims,
						 (size_t) (dot2 - dot1));
	if (plen <= 0 || memchr(out->claims, '\0', (size_t) plen))
		return fail(JWT_CLAIMS, "JWT claims are not base64url JSON", message, out);
	out->claims[plen] = '\0';
	out->claims_len = (size_t) plen;
	if (!json_valid(out->claims, out->claims_len, &top) || top != J_OBJECT)
		return fail(JWT_CLAIMS, "JWT claims are not a JSON object", message, out);

	if (numeric_date(out->claims, out->claims_len, "exp", &present, &t) < 0)
		return fail(JWT_CLAIMS, "JWT claim exp is not a number", message, out);
	if (present)
	{
		if ((double) now - JWT_SKEW_S >= t)
			return fail(JWT_EXPIRED, "JWT expired", message, out);
		out->exp = t > 9e15 ? INT64_MAX / 2 : (int64_t) t;
	}
	if (numeric_date(out->claims, out->claims_len, "nbf", &present, &t) < 0)
		return fail(JWT_CLAIMS, "JWT claim nbf is not a number", message, out);
	if (present && (double) now + JWT_SKEW_S < t)
		return fail(JWT_NOT_YET_VALID, "JWT not yet valid", message, out);
	if (numeric_date(out->claims, out->claims_len, "iat", &present, &t) < 0)
		return fail(JWT_CLAIMS, "JWT claim iat is not a number", message, out);
	if (present && (double) now + JWT_SKEW_S < t)
		return fail(JWT_ISSUED_IN_FUTURE, "JWT issued at future", message, out);

	if (audience && audience[0] &&
		json_member(out->claims, out->claims_len, "aud", &v) &&
		!audience_matches(&v, audience))
		return fail(JWT_AUDIENCE, "JWT not in audience", message, out);

	if (json_member(out->claims, out->claims_len, "role", &v))
	{
		if (v.type != J_STRING || !(out->role = json_string_dup(&v)) || !out->role[0])
			return fail(JWT_CLAIMS, "JWT claim role is not a non-empty string", message, out);
	}
	if (json_member(out->claims, out->claims_len, "sub", &v))
	{
		if (v.type == J_STRING)
			out->sub = json_string_dup(&v);
		else if (v.type == J_NUMBER)
			out->sub = strndup(v.p, v.n);
		if (!out->sub || !out->sub[0])
			return fail(JWT_CLAIMS, "JWT claim sub is not a non-empty string", message, out);
	}
	*message = NULL;
	return JWT_OK;
}

static char *
b64url_encode(const unsigned char *in, size_t n)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char	   *out = malloc(n * 4 / 3 + 4);
	size_t		o = 0,
				i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < n; i += 3)
	{
		out[o++] = a[in[i] >> 2];
		out[o++] = a[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = a[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		out[o++] = a[in[i + 2] & 63];
	}
	if (n - i == 1)
	{
		out[o++] = a[in[i] >> 2];
		out[o++] = a[(in[i] & 3) << 4];
	}
	else if (n - i == 2)
	{
		out[o++] = a[in[i] >> 2];
		out[o++] = a[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = a[(in[i + 1] & 15) << 2];
	}
	out[o] = '\0';
	return out;
}

char *
jwt_sign(const char *claims, const unsigned char *key, size_t keylen)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char	   *h = b64url_encode((const unsigned char *) header, strlen(header));
	char	   *p = b64url_encode((const unsigned char *) claims, strlen(claims));
	char	   *s = NULL,
			   *out = NULL;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t		hp;

	if (!h || !p)
		goto done;
	hp = strlen(h) + 1 + strlen(p);
	out = malloc(hp + 90);
	if (!out)
		goto done;
	snprintf(out, hp + 1, "%s.%s", h, p);
	if (!HMAC(EVP_sha256(), key, (int) keylen, (unsigned char *) out, hp, mac, &maclen) ||
		!(s = b64url_encode(mac, maclen)))
	{
		free(out);
		out = NULL;
		goto done;
	}
	out[hp] = '.';
	strcpy(out + hp + 1, s);
done:
	free(h);
	free(p);
	free(s);
	return out;
}
