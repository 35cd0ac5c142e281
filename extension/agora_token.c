/*
 * agora_token.c: the pure C core of pgcall's Agora tokens (see
 * agora_token.h for the contract).  No PostgreSQL dependency.
 *
 * The formats, as Agora's official builders write them (all integers
 * little-endian; a "string" is a uint16 length and that many bytes):
 *
 * 007 (AccessToken2):
 *   token        = "007" base64(zlib(content))
 *   content      = string(signature) signing_info
 *   signing_info = string(app_id) u32(issue_ts) u32(expire) u32(salt)
 *                  u16(n) service*n                        (services by type)
 *   service      = u16(type) u16(m) {u16(privilege) u32(expire)}*m  (by id)
 *                  type-specific strings (rtc: channel, uid)
 *   signature    = HMAC(K2, signing_info)
 *   K2           = HMAC(key u32(salt), K1)
 *   K1           = HMAC(key u32(issue_ts), certificate)
 *
 * 006 (AccessToken):
 *   token        = "006" app_id base64(content)
 *   content      = string(signature) u32(crc32 channel) u32(crc32 uid)
 *                  string(message)
 *   message      = u32(salt) u32(ts) u16(m) {u16(privilege) u32(expire)}*m
 *   signature    = HMAC(key certificate, app_id channel uid message)
 *
 * Where the time goes, per 007 token: the signing chain is three HMACs, ten
 * SHA-256 blocks in all.  K1 depends only on the issue second and the
 * certificate, so it is cached; HMAC is written over OpenSSL's SHA-256
 * block functions, which lets the keyed pad states be reused instead of
 * paying EVP's per-call setup.  The zlib stream is created once and reset
 * per token.  zlib itself is the largest cost: deflating ~150 bytes at the
 * default level takes ~10 us here, more than everything else together, and
 * saves ~11 bytes because the content (a random signature, hex ids) hardly
 * compresses.  So the builders store (level 0) by default, with a 512-byte
 * hash table so deflateReset stays cheap; tokens are a few characters longer
 * than Node's and every inflate reads them.  A builder created with another
 * level uses zlib's default memory settings, and at level 6 reproduces
 * Agora's vectors wherever this zlib's output matches the one that made
 * them.
 *
 * Size: about 1,350 lines, over the ~800 the project aims at, on purpose:
 * this is one self-contained codec with no PostgreSQL in it, which the
 * fuzzer (test/fuzz/fuzz_inspect.c), the sanitizer suite and the
 * cross-check against Agora's own builders each compile as the single file
 * it is.  Building and decoding share every primitive (HMAC over SHA-256
 * blocks, the writer and reader of Agora's little-endian strings, base64,
 * the service layouts); split, those would become an exported internal
 * interface of a codec whose one public interface is agora_token.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* explicit_bzero */
#endif
/* The SHA256_* block API is deprecated in OpenSSL 3 but kept; we need it. */
#define OPENSSL_API_COMPAT 10101

#include "agora_token.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <zlib.h>

#define SHA256_LEN 32
#define SHA256_BLOCK 64

/* Largest content a builder packs (AGORA_BUILD_MAX_SERVICES of the largest). */
#define BUILD_CONTENT_MAX 4096
#define BUILD_ZLIB_MAX (BUILD_CONTENT_MAX + 128)	/* > deflateBound at any level */

/* ---------------------------------------------------------------------
 * HMAC-SHA256 with reusable keyed states
 * --------------------------------------------------------------------- */

typedef struct HmacKey
{
	SHA256_CTX	inner;			/* after absorbing key ^ ipad */
	SHA256_CTX	outer;			/* after absorbing key ^ opad */
} HmacKey;

static void
hmac_key_init(HmacKey *k, const uint8_t *key, size_t keylen)
{
	uint8_t		block[SHA256_BLOCK];
	uint8_t		pad[SHA256_BLOCK];

	memset(block, 0, sizeof(block));
	if (keylen > SHA256_BLOCK)
	{
		SHA256_CTX	c;

		SHA256_Init(&c);
		SHA256_Update(&c, key, keylen);
		SHA256_Final(block, &c);
		explicit_bzero(&c, sizeof(c));
	}
	else
		memcpy(block, key, keylen);

	for (int i = 0; i < SHA256_BLOCK; i++)
		pad[i] = block[i] ^ 0x36;
	SHA256_Init(&k->inner);
	SHA256_Update(&k->inner, pad, SHA256_BLOCK);
	for (int i = 0; i < SHA256_BLOCK; i++)
		pad[i] = block[i] ^ 0x5c;
	SHA256_Init(&k->outer);
	SHA256_Update(&k->outer, pad, SHA256_BLOCK);
	explicit_bzero(block, sizeof(block));
	explicit_bzero(pad, sizeof(pad));
}

/* out = HMAC(k, msg1 || msg2); msg2 may be NULL. */
static void
hmac_sign(const HmacKey *k, const uint8_t *msg1, size_t len1,
		  const uint8_t *msg2, size_t len2, uint8_t out[SHA256_LEN])
{
	SHA256_CTX	c = k->inner;

	SHA256_Update(&c, msg1, len1);
	if (msg2 != NULL)
		SHA256_Update(&c, msg2, len2);
	SHA256_Final(out, &c);
	c = k->outer;
	SHA256_Update(&c, out, SHA256_LEN);
	SHA256_Final(out, &c);
	explicit_bzero(&c, sizeof(c));
}

static void
hmac(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len,
	 uint8_t out[SHA256_LEN])
{
	HmacKey		k;

	hmac_key_init(&k, key, keylen);
	hmac_sign(&k, msg, len, NULL, 0, out);
	explicit_bzero(&k, sizeof(k));
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

/* K1 = HMAC(key u32(issue_ts), certificate) */
static void
signing_key_issue(uint32_t issue_ts, const char *certificate, uint8_t out[SHA256_LEN])
{
	uint8_t		ts[4];

	put_le32(ts, issue_ts);
	hmac(ts, sizeof(ts), (const uint8_t *) certificate, AGORA_HEX_ID_LEN, out);
}

/* K2 = HMAC(key u32(salt), K1) */
static void
signing_key_salt(uint32_t salt, const uint8_t k1[SHA256_LEN], uint8_t out[SHA256_LEN])
{
	uint8_t		s[4];

	put_le32(s, salt);
	hmac(s, sizeof(s), k1, SHA256_LEN, out);
}

/* ---------------------------------------------------------------------
 * Packing
 * --------------------------------------------------------------------- */

typedef struct Writer
{
	uint8_t    *p;
	uint8_t    *end;
	bool		overflow;
} Writer;

static void
put_u16(Writer *w, uint16_t v)
{
	if (w->end - w->p < 2)
	{
		w->overflow = true;
		return;
	}
	w->p[0] = (uint8_t) v;
	w->p[1] = (uint8_t) (v >> 8);
	w->p += 2;
}

static void
put_u32(Writer *w, uint32_t v)
{
	if (w->end - w->p < 4)
	{
		w->overflow = true;
		return;
	}
	put_le32(w->p, v);
	w->p += 4;
}

static void
put_bytes(Writer *w, const void *data, size_t len)
{
	if (len > UINT16_MAX || (size_t) (w->end - w->p) < len + 2)
	{
		w->overflow = true;
		return;
	}
	put_u16(w, (uint16_t) len);
	if (len > 0)
		memcpy(w->p, data, len);
	w->p += len;
}

/* Sort by id (insertion sort: a handful of entries); refuse duplicates. */
static bool
sort_privileges(AgoraPrivilege *p, int n)
{
	for (int i = 1; i < n; i++)
	{
		AgoraPrivilege v = p[i];
		int			j = i - 1;

		while (j >= 0 && p[j].id > v.id)
		{
			p[j + 1] = p[j];
			j--;
		}
		p[j + 1] = v;
	}
	for (int i = 1; i < n; i++)
		if (p[i].id == p[i - 1].id)
			return false;
	return true;
}

static void
put_privileges(Writer *w, const AgoraPrivilege *p, int n)
{
	put_u16(w, (uint16_t) n);
	for (int i = 0; i < n; i++)
	{
		put_u16(w, p[i].id);
		put_u32(w, p[i].expire);
	}
}

typedef enum ServiceLayout
{
	LAYOUT_UNKNOWN,
	LAYOUT_NONE,				/* privileges only */
	LAYOUT_USER,				/* string user */
	LAYOUT_CHANNEL_USER,		/* string channel, string user */
	LAYOUT_APAAS,				/* string room, string user, int16 role */
	LAYOUT_RTM2					/* string user, permission tree */
} ServiceLayout;

static ServiceLayout
service_layout(int type)
{
	switch (type)
	{
		case AGORA_SERVICE_RTC:
		case AGORA_SERVICE_STREAMING:
		case AGORA_SERVICE_FCDN:
			return LAYOUT_CHANNEL_USER;
		case AGORA_SERVICE_RTM:
		case AGORA_SERVICE_CHAT:
			return LAYOUT_USER;
		case AGORA_SERVICE_FPA:
		case AGORA_SERVICE_CONVOAI:
		case AGORA_SERVICE_STT:
			return LAYOUT_NONE;
		case AGORA_SERVICE_APAAS:
			return LAYOUT_APAAS;
		case AGORA_SERVICE_RTM2:
			return LAYOUT_RTM2;
		default:
			return LAYOUT_UNKNOWN;
	}
}

/* ---------------------------------------------------------------------
 * base64 (standard alphabet, padded)
 * --------------------------------------------------------------------- */

static const char b64_alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t
b64_encoded_len(size_t len)
{
	return (len + 2) / 3 * 4;
}

static void
b64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t		i = 0;

	for (; i + 3 <= len; i += 3)
	{
		uint32_t	v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];

		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = b64_alphabet[(v >> 6) & 63];
		*out++ = b64_alphabet[v & 63];
	}
	if (i < len)
	{
		uint32_t	v = (uint32_t) in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t) in[i + 1] << 8;
		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = (i + 1 < len) ? b64_alphabet[(v >> 6) & 63] : '=';
		*out++ = '=';
	}
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static void
describe_byte(char *buf, size_t size, unsigned char c)
{
	if (c == '"')
		snprintf(buf, size, "a double quote");
	else if (c > 0x20 && c < 0x7f)
		snprintf(buf, size, "\"%c\"", c);
	else if (c == ' ')
		snprintf(buf, size, "a space");
	else
		snprintf(buf, size, "byte 0x%02x", c);
}

/*
 * Decode base64 (padding optional) into out, at most outsize bytes.  On
 * error, writes what is wrong to err; offsets count from the token's start.
 */
static bool
b64_decode(const char *in, size_t len, size_t offset, uint8_t *out, size_t outsize,
		   size_t *outlen, char *err, size_t errsize)
{
	uint32_t	acc = 0;
	int			bits = 0;
	size_t		n = 0;
	size_t		data_len = len;
	size_t		pad = 0;

	while (data_len > 0 && in[data_len - 1] == '=' && pad < 2)
	{
		data_len--;
		pad++;
	}
	for (size_t i = 0; i < data_len; i++)
	{
		int			v = b64_value((unsigned char) in[i]);

		if (v < 0)
		{
			char		what[16];

			describe_byte(what, sizeof(what), (unsigned char) in[i]);
			snprintf(err, errsize, "%s at position %zu is not a base64 character%s",
					 what, offset + i + 1,
					 in[i] == ' ' ? " (a \"+\" may have been turned into a space in a URL)" :
					 (in[i] == '-' || in[i] == '_') ? " (URL-safe base64 is not used by Agora)" : "");
			return false;
		}
		acc = (acc << 6) | (uint32_t) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			if (n >= outsize)
			{
				snprintf(err, errsize, "token is too long");
				return false;
			}
			out[n++] = (uint8_t) (acc >> bits);
		}
	}
	if (pad > 0 && (data_len + pad) % 4 != 0)
	{
		snprintf(err, errsize, "base64 padding is wrong: %zu characters of data and %zu \"=\" do not make a multiple of four",
				 data_len, pad);
		return false;
	}
	if (data_len % 4 == 1)
	{
		snprintf(err, errsize, "token is truncated: its base64 text ends with a lone character, less than a byte");
		return false;
	}
	*outlen = n;
	return true;
}

/* ---------------------------------------------------------------------
 * Builder
 * --------------------------------------------------------------------- */

struct AgoraBuilder
{
	AgoraAllocator allocator;
	int			zlib_level;
	z_stream	zs;
	bool		zs_ready;

	/* 007: K1 for one issue second and certificate */
	bool		k1_valid;
	uint32_t	k1_issue_ts;
	char		k1_certificate[AGORA_HEX_ID_LEN];
	uint8_t		k1[SHA256_LEN];

	/* 006: keyed states for one certificate */
	bool		k006_valid;
	char		k006_certificate[AGORA_HEX_ID_LEN];
	HmacKey		k006;

	uint8_t		content[BUILD_CONTENT_MAX];
	uint8_t		zbuf[BUILD_ZLIB_MAX];
};

static void *
default_alloc(void *opaque, size_t size)
{
	(void) opaque;
	return malloc(size);
}

static void
default_free(void *opaque, void *ptr)
{
	(void) opaque;
	free(ptr);
}

static voidpf
zlib_alloc(voidpf opaque, uInt items, uInt size)
{
	AgoraBuilder *b = opaque;

	if (size != 0 && items > SIZE_MAX / size)
		return Z_NULL;
	return b->allocator.alloc(b->allocator.opaque, (size_t) items * size);
}

static void
zlib_free(voidpf opaque, voidpf ptr)
{
	AgoraBuilder *b = opaque;

	b->allocator.free(b->allocator.opaque, ptr);
}

AgoraBuilder *
agora_builder_create(const AgoraAllocator *allocator, int zlib_level)
{
	AgoraAllocator a = {default_alloc, default_free, NULL};
	AgoraBuilder *b;
	int			mem_level;

	if (allocator != NULL)
		a = *allocator;
	if (zlib_level < 0 || zlib_level > 9)
		return NULL;
	b = a.alloc(a.opaque, sizeof(AgoraBuilder));
	if (b == NULL)
		return NULL;
	memset(b, 0, sizeof(*b));
	b->allocator = a;
	b->zlib_level = zlib_level;
	b->zs.zalloc = zlib_alloc;
	b->zs.zfree = zlib_free;
	b->zs.opaque = b;

	/*
	 * Stored blocks use no hash table, but deflateReset clears it: keep it
	 * at 256 entries.  Compressing levels keep zlib's defaults (memLevel 8),
	 * whose block splitting Agora's vectors were made with.
	 */
	mem_level = (zlib_level == 0) ? 1 : 8;
	if (deflateInit2(&b->zs, zlib_level, Z_DEFLATED, 15, mem_level, Z_DEFAULT_STRATEGY) != Z_OK)
	{
		a.free(a.opaque, b);
		return NULL;
	}
	b->zs_ready = true;
	return b;
}

void
agora_builder_destroy(AgoraBuilder *b)
{
	AgoraAllocator a;

	if (b == NULL)
		return;
	a = b->allocator;
	if (b->zs_ready)
		deflateEnd(&b->zs);
	explicit_bzero(b, sizeof(*b));
	a.free(a.opaque, b);
}

int
agora_builder_zlib_level(const AgoraBuilder *b)
{
	return b->zlib_level;
}

bool
agora_is_hex_id(const char *s, size_t len)
{
	if (s == NULL || len != AGORA_HEX_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

static bool
is_hex_cstring(const char *s)
{
	return s != NULL && strnlen(s, AGORA_HEX_ID_LEN + 1) == AGORA_HEX_ID_LEN &&
		agora_is_hex_id(s, AGORA_HEX_ID_LEN);
}

/* Deflate b->content[0..len) and write base64 of it at out. */
static AgoraError
compress_and_encode(AgoraBuilder *b, size_t len, char *out, size_t outsize, size_t *outlen)
{
	size_t		zlen;
	size_t		need;

	if (deflateReset(&b->zs) != Z_OK)
		return AGORA_ERR_ZLIB;
	b->zs.next_in = b->content;
	b->zs.avail_in = (uInt) len;
	b->zs.next_out = b->zbuf;
	b->zs.avail_out = sizeof(b->zbuf);
	if (deflate(&b->zs, Z_FINISH) != Z_STREAM_END)
		return AGORA_ERR_ZLIB;
	zlen = sizeof(b->zbuf) - b->zs.avail_out;
	need = b64_encoded_len(zlen);
	if (need + 1 > outsize)
		return AGORA_ERR_BUFFER;
	b64_encode(b->zbuf, zlen, out);
	out[need] = '\0';
	*outlen = need;
	return AGORA_OK;
}

AgoraError
agora_build_007(AgoraBuilder *b, const char *app_id, const char *certificate,
				uint32_t issue_ts, uint32_t salt, uint32_t expire,
				const AgoraService *services, int nservices,
				char *out, size_t outsize, size_t *outlen)
{
	const AgoraService *order[AGORA_BUILD_MAX_SERVICES];
	Writer		w;
	uint8_t    *info;
	uint8_t		k2[SHA256_LEN];
	HmacKey		sign;
	size_t		body_len;
	AgoraError	rc;

	if (!is_hex_cstring(app_id))
		return AGORA_ERR_APP_ID;
	if (!is_hex_cstring(certificate))
		return AGORA_ERR_CERTIFICATE;
	if (nservices < 1 || nservices > AGORA_BUILD_MAX_SERVICES || outsize < 4)
		return AGORA_ERR_INPUT;

	/* Stable order by type, as Agora's builders pack them. */
	for (int i = 0; i < nservices; i++)
	{
		int			j = i - 1;

		while (j >= 0 && order[j]->type > services[i].type)
		{
			order[j + 1] = order[j];
			j--;
		}
		order[j + 1] = &services[i];
	}

	/* signing_info goes after room for the signature string */
	w.p = b->content + 2 + SHA256_LEN;
	w.end = b->content + sizeof(b->content);
	w.overflow = false;
	info = w.p;
	put_bytes(&w, app_id, AGORA_HEX_ID_LEN);
	put_u32(&w, issue_ts);
	put_u32(&w, expire);
	put_u32(&w, salt);
	put_u16(&w, (uint16_t) nservices);
	for (int i = 0; i < nservices; i++)
	{
		const AgoraService *s = order[i];
		AgoraPrivilege privileges[AGORA_BUILD_MAX_PRIVILEGES];
		ServiceLayout layout = service_layout(s->type);

		if (s->nprivileges < 0 || s->nprivileges > AGORA_BUILD_MAX_PRIVILEGES ||
			layout == LAYOUT_UNKNOWN || layout == LAYOUT_APAAS || layout == LAYOUT_RTM2)
			return AGORA_ERR_INPUT;
		memcpy(privileges, s->privileges, sizeof(AgoraPrivilege) * s->nprivileges);
		if (!sort_privileges(privileges, s->nprivileges))
			return AGORA_ERR_INPUT;
		if ((layout == LAYOUT_CHANNEL_USER &&
			 (s->channel_len > AGORA_CHANNEL_MAX || (s->channel_len > 0 && s->channel == NULL))) ||
			((layout == LAYOUT_CHANNEL_USER || layout == LAYOUT_USER) &&
			 (s->user_len > AGORA_ACCOUNT_MAX || (s->user_len > 0 && s->user == NULL))))
			return AGORA_ERR_INPUT;

		put_u16(&w, s->type);
		put_privileges(&w, privileges, s->nprivileges);
		if (layout == LAYOUT_CHANNEL_USER)
			put_bytes(&w, s->channel, s->channel_len);
		if (layout == LAYOUT_CHANNEL_USER || layout == LAYOUT_USER)
			put_bytes(&w, s->user, s->user_len);
	}
	if (w.overflow)
		return AGORA_ERR_INPUT;
	body_len = (size_t) (w.p - b->content);

	if (!b->k1_valid || b->k1_issue_ts != issue_ts ||
		CRYPTO_memcmp(b->k1_certificate, certificate, AGORA_HEX_ID_LEN) != 0)
	{
		signing_key_issue(issue_ts, certificate, b->k1);
		memcpy(b->k1_certificate, certificate, AGORA_HEX_ID_LEN);
		b->k1_issue_ts = issue_ts;
		b->k1_valid = true;
	}
	signing_key_salt(salt, b->k1, k2);
	hmac_key_init(&sign, k2, sizeof(k2));
	hmac_sign(&sign, info, (size_t) (w.p - info), NULL, 0, b->content + 2);
	explicit_bzero(k2, sizeof(k2));
	explicit_bzero(&sign, sizeof(sign));
	b->content[0] = SHA256_LEN;
	b->content[1] = 0;

	memcpy(out, "007", 3);
	rc = compress_and_encode(b, body_len, out + 3, outsize - 3, outlen);
	if (rc == AGORA_OK)
		*outlen += 3;
	return rc;
}

AgoraError
agora_build_006(AgoraBuilder *b, const char *app_id, const char *certificate,
				uint32_t salt, uint32_t ts,
				const char *channel, size_t channel_len,
				const char *uid, size_t uid_len,
				const AgoraPrivilege *privileges, int nprivileges,
				char *out, size_t outsize, size_t *outlen)
{
	AgoraPrivilege sorted[AGORA_BUILD_MAX_PRIVILEGES];
	uint8_t		message[4 + 4 + 2 + AGORA_BUILD_MAX_PRIVILEGES * 6];
	uint8_t		sig[SHA256_LEN];
	uint8_t		content[2 + SHA256_LEN + 4 + 4 + 2 + sizeof(message)];
	Writer		w;
	size_t		message_len;
	size_t		content_len;
	size_t		need;
	SHA256_CTX	c;

	if (!is_hex_cstring(app_id))
		return AGORA_ERR_APP_ID;
	if (!is_hex_cstring(certificate))
		return AGORA_ERR_CERTIFICATE;
	if (nprivileges < 0 || nprivileges > AGORA_BUILD_MAX_PRIVILEGES ||
		channel_len > AGORA_ACCOUNT_MAX || uid_len > AGORA_ACCOUNT_MAX ||
		(channel_len > 0 && channel == NULL) || (uid_len > 0 && uid == NULL))
		return AGORA_ERR_INPUT;
	memcpy(sorted, privileges, sizeof(AgoraPrivilege) * nprivileges);
	if (!sort_privileges(sorted, nprivileges))
		return AGORA_ERR_INPUT;

	w.p = message;
	w.end = message + sizeof(message);
	w.overflow = false;
	put_u32(&w, salt);
	put_u32(&w, ts);
	put_privileges(&w, sorted, nprivileges);
	message_len = (size_t) (w.p - message);

	if (!b->k006_valid ||
		CRYPTO_memcmp(b->k006_certificate, certificate, AGORA_HEX_ID_LEN) != 0)
	{
		hmac_key_init(&b->k006, (const uint8_t *) certificate, AGORA_HEX_ID_LEN);
		memcpy(b->k006_certificate, certificate, AGORA_HEX_ID_LEN);
		b->k006_valid = true;
	}
	c = b->k006.inner;
	SHA256_Update(&c, app_id, AGORA_HEX_ID_LEN);
	if (channel_len > 0)
		SHA256_Update(&c, channel, channel_len);
	if (uid_len > 0)
		SHA256_Update(&c, uid, uid_len);
	SHA256_Update(&c, message, message_len);
	SHA256_Final(sig, &c);
	c = b->k006.outer;
	SHA256_Update(&c, sig, SHA256_LEN);
	SHA256_Final(sig, &c);
	explicit_bzero(&c, sizeof(c));

	w.p = content;
	w.end = content + sizeof(content);
	put_bytes(&w, sig, SHA256_LEN);
	put_u32(&w, agora_crc32(channel, channel_len));
	put_u32(&w, agora_crc32(uid, uid_len));
	put_bytes(&w, message, message_len);
	if (w.overflow)
		return AGORA_ERR_INPUT;
	content_len = (size_t) (w.p - content);

	need = 3 + AGORA_HEX_ID_LEN + b64_encoded_len(content_len);
	if (need + 1 > outsize)
		return AGORA_ERR_BUFFER;
	memcpy(out, "006", 3);
	memcpy(out + 3, app_id, AGORA_HEX_ID_LEN);
	b64_encode(content, content_len, out + 3 + AGORA_HEX_ID_LEN);
	out[need] = '\0';
	*outlen = need;
	return AGORA_OK;
}

/* ---------------------------------------------------------------------
 * Decoder
 *
 * Every read goes through Reader, which checks the remaining length first
 * and records what was being read when input ran out.
 * --------------------------------------------------------------------- */

typedef struct Reader
{
	const uint8_t *data;
	size_t		len;
	size_t		pos;
	const char *part;			/* "content", "message": for messages */
	char	   *err;
	size_t		errsize;
	bool		failed;
} Reader;

static bool
need(Reader *r, size_t n, const char *what)
{
	if (r->failed)
		return false;
	if (r->len - r->pos < n)
	{
		snprintf(r->err, r->errsize,
				 "token is truncated: %s needs %zu bytes at offset %zu of the %s, which has %zu",
				 what, n, r->pos, r->part, r->len);
		r->failed = true;
		return false;
	}
	return true;
}

static uint16_t
get_u16(Reader *r, const char *what)
{
	uint16_t	v;

	if (!need(r, 2, what))
		return 0;
	v = (uint16_t) (r->data[r->pos] | r->data[r->pos + 1] << 8);
	r->pos += 2;
	return v;
}

static uint32_t
get_u32(Reader *r, const char *what)
{
	const uint8_t *p;

	if (!need(r, 4, what))
		return 0;
	p = r->data + r->pos;
	r->pos += 4;
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static AgoraBytes
get_string(Reader *r, const char *what)
{
	AgoraBytes	b = {NULL, 0};
	uint16_t	len = get_u16(r, what);

	if (!need(r, len, what))
		return b;
	b.data = r->data + r->pos;
	b.len = len;
	r->pos += len;
	return b;
}

static int
get_privileges(Reader *r, AgoraPrivilege *out, int max)
{
	uint16_t	n = get_u16(r, "the privilege count");

	if (r->failed)
		return 0;
	if (n > max)
	{
		snprintf(r->err, r->errsize,
				 "token lists %u privileges in one map, more than the %d pgcall can inspect",
				 n, max);
		r->failed = true;
		return 0;
	}
	for (int i = 0; i < n; i++)
	{
		out[i].id = get_u16(r, "a privilege");
		out[i].expire = get_u32(r, "a privilege expiry");
	}
	return n;
}

static void
get_rtm2_permissions(Reader *r, AgoraDecoded *d, AgoraDecodedService *s)
{
	uint16_t	ntypes = get_u16(r, "the RTM2 resource type count");

	s->first_permission = d->npermissions;
	for (int i = 0; i < ntypes && !r->failed; i++)
	{
		uint16_t	resource_type = get_u16(r, "an RTM2 resource type");
		uint16_t	nperms = get_u16(r, "an RTM2 permission count");

		for (int j = 0; j < nperms && !r->failed; j++)
		{
			uint16_t	permission_type = get_u16(r, "an RTM2 permission type");
			uint16_t	nresources = get_u16(r, "an RTM2 resource count");

			for (int k = 0; k < nresources && !r->failed; k++)
			{
				AgoraBytes	resource = get_string(r, "an RTM2 resource");

				if (r->failed)
					break;
				if (d->npermissions >= AGORA_DECODE_MAX_PERMISSIONS)
				{
					snprintf(r->err, r->errsize,
							 "token grants more than the %d RTM2 resources pgcall can inspect",
							 AGORA_DECODE_MAX_PERMISSIONS);
					r->failed = true;
					break;
				}
				d->permissions[d->npermissions].resource_type = resource_type;
				d->permissions[d->npermissions].permission_type = permission_type;
				d->permissions[d->npermissions].resource = resource;
				d->npermissions++;
			}
		}
	}
	s->npermissions = d->npermissions - s->first_permission;
}

static void set_error(AgoraDecoded *d, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
set_error(AgoraDecoded *d, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(d->error, sizeof(d->error), fmt, ap);
	va_end(ap);
}

static bool
inflate_content(AgoraDecoded *d, const uint8_t *in, size_t len)
{
	z_stream	zs;
	int			rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK)
	{
		snprintf(d->error, sizeof(d->error), "out of memory for zlib");
		return false;
	}
	zs.next_in = (Bytef *) in;
	zs.avail_in = (uInt) len;
	zs.next_out = d->content;
	zs.avail_out = sizeof(d->content);
	rc = inflate(&zs, Z_FINISH);
	if (rc == Z_STREAM_END && zs.avail_in > 0)
	{
		snprintf(d->error, sizeof(d->error),
				 "%u bytes follow the end of the compressed content", zs.avail_in);
		rc = Z_DATA_ERROR;
	}
	else if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT)
		snprintf(d->error, sizeof(d->error), "compressed content is corrupt (zlib: %s)",
				 zs.msg ? zs.msg : "need dictionary");
	else if (rc == Z_MEM_ERROR)
		snprintf(d->error, sizeof(d->error), "out of memory for zlib");
	else if (rc != Z_STREAM_END && zs.avail_out == 0)
		snprintf(d->error, sizeof(d->error),
				 "compressed content inflates to more than %d bytes", AGORA_DECODE_CONTENT_MAX);
	else if (rc != Z_STREAM_END)
		snprintf(d->error, sizeof(d->error), "compressed content is truncated");
	d->content_len = sizeof(d->content) - zs.avail_out;
	inflateEnd(&zs);
	return rc == Z_STREAM_END;
}

static AgoraError
decode_007(const char *token, size_t len, AgoraDecoded *d)
{
	uint8_t		zbuf[AGORA_DECODE_TOKEN_MAX / 4 * 3 + 3];
	size_t		zlen;
	Reader		r = {0};
	AgoraBytes	app_id;

	if (len == 3)
	{
		snprintf(d->error, sizeof(d->error), "token ends after its version \"007\"");
		return AGORA_ERR_TOKEN;
	}
	if (!b64_decode(token + 3, len - 3, 3, zbuf, sizeof(zbuf), &zlen, d->error, sizeof(d->error)))
		return AGORA_ERR_TOKEN;
	if (!inflate_content(d, zbuf, zlen))
		return AGORA_ERR_TOKEN;

	r.data = d->content;
	r.len = d->content_len;
	r.part = "inflated content";
	r.err = d->error;
	r.errsize = sizeof(d->error);

	d->signature = get_string(&r, "the signature");
	d->signed_part.data = r.data + r.pos;
	d->signed_part.len = r.len - r.pos;
	app_id = get_string(&r, "the app id");
	if (!r.failed && app_id.len != AGORA_HEX_ID_LEN)
	{
		set_error(d, "app id in the token has %zu bytes, not 32", app_id.len);
		return AGORA_ERR_TOKEN;
	}
	if (!r.failed)
	{
		for (size_t i = 0; i < AGORA_HEX_ID_LEN; i++)
		{
			unsigned char c = app_id.data[i];

			d->app_id[i] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
		}
		d->app_id[AGORA_HEX_ID_LEN] = '\0';
	}
	d->issue_ts = get_u32(&r, "the issue time");
	d->expire = get_u32(&r, "the expiry");
	d->salt = get_u32(&r, "the salt");
	d->declared_services = get_u16(&r, "the service count");

	for (int i = 0; i < d->declared_services && !r.failed; i++)
	{
		AgoraDecodedService *s;
		uint16_t	type = get_u16(&r, "a service type");
		ServiceLayout layout = service_layout(type);

		if (r.failed)
			break;
		if (layout == LAYOUT_UNKNOWN)
		{
			/* As Agora's decoders do: stop, keep what came before. */
			d->unknown_service = type;
			break;
		}
		if (d->nservices >= AGORA_DECODE_MAX_SERVICES)
		{
			snprintf(d->error, sizeof(d->error),
					 "token has more than the %d services pgcall can inspect",
					 AGORA_DECODE_MAX_SERVICES);
			return AGORA_ERR_TOKEN;
		}
		s = &d->services[d->nservices];
		memset(s, 0, sizeof(*s));
		s->type = type;
		s->nprivileges = get_privileges(&r, s->privileges, AGORA_DECODE_MAX_PRIVILEGES);
		switch (layout)
		{
			case LAYOUT_CHANNEL_USER:
				s->channel = get_string(&r, "a channel name");
				s->user = get_string(&r, "a user id");
				break;
			case LAYOUT_USER:
				s->user = get_string(&r, "a user id");
				break;
			case LAYOUT_APAAS:
				s->channel = get_string(&r, "an APaaS room uuid");
				s->user = get_string(&r, "an APaaS user uuid");
				s->apaas_role = (int16_t) get_u16(&r, "an APaaS role");
				break;
			case LAYOUT_RTM2:
				s->user = get_string(&r, "a user id");
				get_rtm2_permissions(&r, d, s);
				break;
			case LAYOUT_NONE:
			case LAYOUT_UNKNOWN:
				break;
		}
		if (!r.failed)
			d->nservices++;
	}
	if (r.failed)
		return AGORA_ERR_TOKEN;
	d->trailing = (d->unknown_service != 0) ? 0 : r.len - r.pos;
	return AGORA_OK;
}

static AgoraError
decode_006(const char *token, size_t len, AgoraDecoded *d)
{
	Reader		r = {0};
	Reader		m = {0};
	AgoraBytes	message;

	if (len < 3 + AGORA_HEX_ID_LEN)
	{
		set_error(d, "token is truncated: %zu characters, but \"006\" and the app id alone take 35", len);
		return AGORA_ERR_TOKEN;
	}
	if (!agora_is_hex_id(token + 3, AGORA_HEX_ID_LEN))
	{
		snprintf(d->error, sizeof(d->error),
				 "characters 4 to 35 of a 006 token must be the app id, 32 hexadecimal characters");
		return AGORA_ERR_TOKEN;
	}
	memcpy(d->app_id, token + 3, AGORA_HEX_ID_LEN);
	d->app_id[AGORA_HEX_ID_LEN] = '\0';
	if (len == 3 + AGORA_HEX_ID_LEN)
	{
		snprintf(d->error, sizeof(d->error), "token ends after its app id");
		return AGORA_ERR_TOKEN;
	}
	if (!b64_decode(token + 35, len - 35, 35, d->content, sizeof(d->content),
					&d->content_len, d->error, sizeof(d->error)))
		return AGORA_ERR_TOKEN;

	r.data = d->content;
	r.len = d->content_len;
	r.part = "decoded content";
	r.err = d->error;
	r.errsize = sizeof(d->error);
	d->signature = get_string(&r, "the signature");
	d->crc_channel = get_u32(&r, "the channel CRC");
	d->crc_uid = get_u32(&r, "the uid CRC");
	message = get_string(&r, "the message");
	if (r.failed)
		return AGORA_ERR_TOKEN;
	d->signed_part = message;

	m.data = message.data;
	m.len = message.len;
	m.part = "message";
	m.err = d->error;
	m.errsize = sizeof(d->error);
	d->salt = get_u32(&m, "the salt");
	d->ts = get_u32(&m, "the expiry");
	d->nprivileges = get_privileges(&m, d->privileges, AGORA_DECODE_MAX_PRIVILEGES);
	if (m.failed)
		return AGORA_ERR_TOKEN;
	d->trailing = (r.len - r.pos) + (m.len - m.pos);
	return AGORA_OK;
}

AgoraError
agora_decode(const char *token, size_t len, AgoraDecoded *d)
{
	d->version = 0;
	d->app_id[0] = '\0';
	d->salt = d->issue_ts = d->expire = d->ts = d->crc_channel = d->crc_uid = 0;
	d->signature.data = d->signed_part.data = NULL;
	d->signature.len = d->signed_part.len = 0;
	d->trailing = 0;
	d->declared_services = d->nservices = d->unknown_service = d->npermissions = 0;
	d->nprivileges = 0;
	d->content_len = 0;
	d->error[0] = '\0';

	if (token == NULL || len == 0)
	{
		snprintf(d->error, sizeof(d->error), "token is empty");
		return AGORA_ERR_TOKEN;
	}
	if (len > AGORA_DECODE_TOKEN_MAX)
	{
		set_error(d, "token is %zu characters long, more than the %d pgcall reads", len, AGORA_DECODE_TOKEN_MAX);
		return AGORA_ERR_TOKEN;
	}
	if (len < 3 || (memcmp(token, "007", 3) != 0 && memcmp(token, "006", 3) != 0))
	{
		if (len >= 3 && memcmp(token, "005", 3) == 0)
			snprintf(d->error, sizeof(d->error),
					 "token is a version 005 dynamic key, which pgcall does not read");
		else
			snprintf(d->error, sizeof(d->error),
					 "token does not start with a version pgcall reads (\"006\" or \"007\")");
		return AGORA_ERR_TOKEN;
	}
	if (token[2] == '7')
	{
		d->version = 7;
		return decode_007(token, len, d);
	}
	d->version = 6;
	return decode_006(token, len, d);
}

bool
agora_verify_007(const AgoraDecoded *d, const char *certificate)
{
	uint8_t		k1[SHA256_LEN];
	uint8_t		k2[SHA256_LEN];
	uint8_t		sig[SHA256_LEN];
	bool		ok;

	if (d->version != 7 || d->signature.len != SHA256_LEN || d->signed_part.data == NULL ||
		!is_hex_cstring(certificate))
		return false;
	signing_key_issue(d->issue_ts, certificate, k1);
	signing_key_salt(d->salt, k1, k2);
	hmac(k2, sizeof(k2), d->signed_part.data, d->signed_part.len, sig);
	ok = CRYPTO_memcmp(sig, d->signature.data, SHA256_LEN) == 0;
	explicit_bzero(k1, sizeof(k1));
	explicit_bzero(k2, sizeof(k2));
	return ok;
}

bool
agora_verify_006(const AgoraDecoded *d, const char *certificate,
				 const char *channel, size_t channel_len,
				 const char *uid, size_t uid_len)
{
	HmacKey		k;
	uint8_t		sig[SHA256_LEN];
	SHA256_CTX	c;
	bool		ok;

	if (d->version != 6 || d->signature.len != SHA256_LEN || d->signed_part.data == NULL ||
		!is_hex_cstring(certificate) ||
		(channel_len > 0 && channel == NULL) || (uid_len > 0 && uid == NULL))
		return false;
	hmac_key_init(&k, (const uint8_t *) certificate, AGORA_HEX_ID_LEN);
	c = k.inner;
	SHA256_Update(&c, d->app_id, AGORA_HEX_ID_LEN);
	if (channel_len > 0)
		SHA256_Update(&c, channel, channel_len);
	if (uid_len > 0)
		SHA256_Update(&c, uid, uid_len);
	SHA256_Update(&c, d->signed_part.data, d->signed_part.len);
	SHA256_Final(sig, &c);
	c = k.outer;
	SHA256_Update(&c, sig, SHA256_LEN);
	SHA256_Final(sig, &c);
	ok = CRYPTO_memcmp(sig, d->signature.data, SHA256_LEN) == 0;
	explicit_bzero(&k, sizeof(k));
	explicit_bzero(&c, sizeof(c));
	return ok;
}

/* ---------------------------------------------------------------------
 * Names and small helpers
 * --------------------------------------------------------------------- */

/*
 * Agora's set for channel names and user accounts: a-z A-Z 0-9, space and
 * ! # $ % & ( ) + - : ; < = . > ? @ [ ] ^ _ { } | ~ ,
 */
bool
agora_char_allowed(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr(" !#$%&()+-:;<=.>?@[]^_{}|~,", c) != NULL;
}

long
agora_find_disallowed(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!agora_char_allowed((unsigned char) s[i]))
			return (long) i;
	return -1;
}

uint32_t
agora_crc32(const char *s, size_t len)
{
	uLong		crc = crc32(0L, Z_NULL, 0);

	if (len > 0)
		crc = crc32(crc, (const Bytef *) s, (uInt) len);
	return (uint32_t) crc;
}

size_t
agora_uid_string(uint32_t uid, char buf[11])
{
	if (uid == 0)
	{
		buf[0] = '\0';
		return 0;
	}
	return (size_t) snprintf(buf, 11, "%u", uid);
}

typedef struct PrivilegeName
{
	int			service;		/* 007 service type; 0 for 006 */
	int			privilege;
	const char *name;
} PrivilegeName;

static const PrivilegeName privilege_names[] = {
	{AGORA_SERVICE_RTC, 1, "join_channel"},
	{AGORA_SERVICE_RTC, 2, "publish_audio_stream"},
	{AGORA_SERVICE_RTC, 3, "publish_video_stream"},
	{AGORA_SERVICE_RTC, 4, "publish_data_stream"},
	{AGORA_SERVICE_RTM, 1, "login"},
	{AGORA_SERVICE_STREAMING, 1, "publish_mix_stream"},
	{AGORA_SERVICE_STREAMING, 2, "publish_raw_stream"},
	{AGORA_SERVICE_FPA, 1, "login"},
	{AGORA_SERVICE_CHAT, 1, "user"},
	{AGORA_SERVICE_CHAT, 2, "app"},
	{AGORA_SERVICE_FCDN, 1, "publish"},
	{AGORA_SERVICE_FCDN, 2, "play"},
	{AGORA_SERVICE_APAAS, 1, "room_user"},
	{AGORA_SERVICE_APAAS, 2, "user"},
	{AGORA_SERVICE_APAAS, 3, "app"},
	{AGORA_SERVICE_RTM2, 1, "login"},
	/* 006: one map for every privilege */
	{0, 1, "join_channel"},
	{0, 2, "publish_audio_stream"},
	{0, 3, "publish_video_stream"},
	{0, 4, "publish_data_stream"},
	{0, 5, "publish_audio_cdn"},
	{0, 6, "publish_video_cdn"},
	{0, 7, "request_publish_audio_stream"},
	{0, 8, "request_publish_video_stream"},
	{0, 9, "request_publish_data_stream"},
	{0, 10, "invite_publish_audio_stream"},
	{0, 11, "invite_publish_video_stream"},
	{0, 12, "invite_publish_data_stream"},
	{0, 101, "administrate_channel"},
	{0, 1000, "rtm_login"},
};

static const char *const service_names[] = {
	[AGORA_SERVICE_RTC] = "rtc",
	[AGORA_SERVICE_RTM] = "rtm",
	[AGORA_SERVICE_STREAMING] = "streaming",
	[AGORA_SERVICE_FPA] = "fpa",
	[AGORA_SERVICE_CHAT] = "chat",
	[AGORA_SERVICE_FCDN] = "fcdn",
	[AGORA_SERVICE_APAAS] = "apaas",
	[AGORA_SERVICE_RTM2] = "rtm2",
	[AGORA_SERVICE_CONVOAI] = "convoai",
	[AGORA_SERVICE_STT] = "stt",
};

const char *
agora_service_name(int type)
{
	if (type < 0 || type >= (int) (sizeof(service_names) / sizeof(service_names[0])))
		return NULL;
	return service_names[type];
}

/* The name of a privilege in a 007 service, or (version 6) in a 006 token. */
const char *
agora_privilege_name(int version, int service, int privilege)
{
	int			in = (version == 6) ? 0 : service;

	for (size_t i = 0; i < sizeof(privilege_names) / sizeof(privilege_names[0]); i++)
		if (privilege_names[i].service == in && privilege_names[i].privilege == privilege)
			return privilege_names[i].name;
	return NULL;
}

const char *
agora_rtm2_resource_type_name(int resource_type)
{
	static const char *const names[] = {
		"message_channels", "stream_channels", "group_channels", "server_groups", "users"
	};

	if (resource_type >= 0 && resource_type < (int) (sizeof(names) / sizeof(names[0])))
		return names[resource_type];
	return NULL;
}

const char *
agora_rtm2_permission_name(int permission_type)
{
	if (permission_type == 0)
		return "read";
	if (permission_type == 1)
		return "write";
	return NULL;
}

const char *
agora_error_string(AgoraError error)
{
	switch (error)
	{
		case AGORA_OK:
			return "no error";
		case AGORA_ERR_APP_ID:
			return "app id is not 32 hexadecimal characters";
		case AGORA_ERR_CERTIFICATE:
			return "app certificate is not 32 hexadecimal characters";
		case AGORA_ERR_INPUT:
			return "a token field is too long or a service is malformed";
		case AGORA_ERR_BUFFER:
			return "output buffer is too small for the token";
		case AGORA_ERR_ZLIB:
			return "zlib failed to compress the token";
		case AGORA_ERR_MEMORY:
			return "out of memory";
		case AGORA_ERR_TOKEN:
			return "token is malformed";
	}
	return "unknown error";
}
