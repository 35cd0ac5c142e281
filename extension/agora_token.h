/*
 * agora_token.h: Agora access tokens, version "007" (AccessToken2) and the
 * legacy "006" (AccessToken): building, decoding and signature checks.
 *
 * This is the pure C core: C11, OpenSSL's SHA-256 and zlib, and no
 * PostgreSQL header, so the same code runs inside the extension (agora.c
 * wraps it for SQL), in the standalone test drivers under test/crosscheck,
 * under the sanitizers and valgrind, and in the libFuzzer target under
 * test/fuzz.
 *
 * The core is deterministic: callers pass the issue time and the salt.  The
 * extension takes them from the clock and a strong random source; the test
 * drivers fix them to reproduce Agora's published vectors.  Nothing here
 * validates what Agora's servers would refuse (character sets, lifetimes):
 * agora.c does that, with errors a user can act on; the core only refuses
 * what it cannot encode.
 *
 * Lifetime and threads: an AgoraBuilder holds a reused zlib stream and the
 * cached halves of the signing chains; one thread uses it at a time.  The
 * decoder and the verifiers keep no state between calls.
 */
#ifndef PGCALL_AGORA_TOKEN_H
#define PGCALL_AGORA_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* App ids and app certificates are 32 hexadecimal characters. */
#define AGORA_HEX_ID_LEN 32

/* What Agora accepts (agora.c enforces these; the core encodes up to them). */
#define AGORA_CHANNEL_MAX 64
#define AGORA_ACCOUNT_MAX 255
#define AGORA_RTM_USER_MAX 64

/* Agora's own builders draw the 007 salt from 1..99999999. */
#define AGORA_SALT_007_MAX 99999999u

/* Longest token any builder here writes, with its terminating NUL. */
#define AGORA_TOKEN_MAX 6144

/* Limits of the decoder: longest token text, largest inflated content. */
#define AGORA_DECODE_TOKEN_MAX 16384
#define AGORA_DECODE_CONTENT_MAX 16384
#define AGORA_DECODE_MAX_SERVICES 16
#define AGORA_DECODE_MAX_PRIVILEGES 16
#define AGORA_DECODE_MAX_PERMISSIONS 64

/* Builders take at most this many services and privileges per service. */
#define AGORA_BUILD_MAX_SERVICES 8
#define AGORA_BUILD_MAX_PRIVILEGES 8

/* 007 service types. */
#define AGORA_SERVICE_RTC 1
#define AGORA_SERVICE_RTM 2
#define AGORA_SERVICE_STREAMING 3
#define AGORA_SERVICE_FPA 4
#define AGORA_SERVICE_CHAT 5
#define AGORA_SERVICE_FCDN 6
#define AGORA_SERVICE_APAAS 7
#define AGORA_SERVICE_RTM2 8
#define AGORA_SERVICE_CONVOAI 9
#define AGORA_SERVICE_STT 10

/* 007 RTC privileges; RTM has one, login (1). */
#define AGORA_RTC_JOIN_CHANNEL 1
#define AGORA_RTC_PUBLISH_AUDIO 2
#define AGORA_RTC_PUBLISH_VIDEO 3
#define AGORA_RTC_PUBLISH_DATA 4
#define AGORA_RTM_LOGIN 1

/* 006 privileges (one map for RTC and RTM). */
#define AGORA006_JOIN_CHANNEL 1
#define AGORA006_PUBLISH_AUDIO 2
#define AGORA006_PUBLISH_VIDEO 3
#define AGORA006_PUBLISH_DATA 4
#define AGORA006_RTM_LOGIN 1000

/* zlib level the builders use unless told otherwise: see agora_token.c. */
#define AGORA_DEFAULT_ZLIB_LEVEL 0

typedef enum AgoraError
{
	AGORA_OK = 0,
	AGORA_ERR_APP_ID,			/* app id is not 32 hexadecimal characters */
	AGORA_ERR_CERTIFICATE,		/* certificate is not 32 hexadecimal characters */
	AGORA_ERR_INPUT,			/* a field is too long or a service malformed */
	AGORA_ERR_BUFFER,			/* the output buffer is too small */
	AGORA_ERR_ZLIB,				/* zlib failed */
	AGORA_ERR_MEMORY,			/* allocation failed */
	AGORA_ERR_TOKEN				/* decoder: see AgoraDecoded.error */
} AgoraError;

/* Memory for the builder and its zlib stream; NULL means malloc and free. */
typedef struct AgoraAllocator
{
	void	   *(*alloc) (void *opaque, size_t size);
	void		(*free) (void *opaque, void *ptr);
	void	   *opaque;
} AgoraAllocator;

typedef struct AgoraPrivilege
{
	uint16_t	id;
	uint32_t	expire;			/* 007: seconds after issue; 006: unix time */
} AgoraPrivilege;

/*
 * One 007 service to build.  Which strings a type carries:
 *   rtc, streaming, fcdn: channel, then user (uid as decimal, account, or ""
 *                         for any user)
 *   rtm, chat:            user
 *   fpa, convoai, stt:    none
 * apaas and rtm2 are decoded but not built.
 */
typedef struct AgoraService
{
	uint16_t	type;
	const char *channel;
	size_t		channel_len;
	const char *user;
	size_t		user_len;
	int			nprivileges;
	AgoraPrivilege privileges[AGORA_BUILD_MAX_PRIVILEGES];
} AgoraService;

typedef struct AgoraBuilder AgoraBuilder;

extern AgoraBuilder *agora_builder_create(const AgoraAllocator *allocator, int zlib_level);
extern void agora_builder_destroy(AgoraBuilder *builder);
extern int	agora_builder_zlib_level(const AgoraBuilder *builder);

/*
 * Build a 007 token into out (NUL-terminated; *outlen without the NUL).
 * Services are packed in type order, privileges in id order, as Agora's
 * builders do; a privilege id given twice is refused.
 */
extern AgoraError agora_build_007(AgoraBuilder *builder,
								  const char *app_id, const char *certificate,
								  uint32_t issue_ts, uint32_t salt, uint32_t expire,
								  const AgoraService *services, int nservices,
								  char *out, size_t outsize, size_t *outlen);

/* Build a 006 token; ts is the token's own expiry (unix time). */
extern AgoraError agora_build_006(AgoraBuilder *builder,
								  const char *app_id, const char *certificate,
								  uint32_t salt, uint32_t ts,
								  const char *channel, size_t channel_len,
								  const char *uid, size_t uid_len,
								  const AgoraPrivilege *privileges, int nprivileges,
								  char *out, size_t outsize, size_t *outlen);

/* A view into AgoraDecoded.content. */
typedef struct AgoraBytes
{
	const uint8_t *data;
	size_t		len;
} AgoraBytes;

typedef struct AgoraDecodedService
{
	uint16_t	type;
	int			nprivileges;
	AgoraPrivilege privileges[AGORA_DECODE_MAX_PRIVILEGES];
	AgoraBytes	channel;		/* rtc, streaming, fcdn; apaas: room uuid */
	AgoraBytes	user;			/* rtc uid, streaming/fcdn account, rtm/chat/rtm2
								 * user id; apaas: user uuid */
	int			apaas_role;
	int			first_permission;	/* rtm2: slice of AgoraDecoded.permissions */
	int			npermissions;
} AgoraDecodedService;

typedef struct AgoraRtm2Permission
{
	uint16_t	resource_type;
	uint16_t	permission_type;
	AgoraBytes	resource;
} AgoraRtm2Permission;

typedef struct AgoraDecoded
{
	int			version;		/* 6 or 7 */
	char		app_id[AGORA_HEX_ID_LEN + 1];
	uint32_t	salt;
	AgoraBytes	signature;		/* 32 bytes in a well-formed token */
	AgoraBytes	signed_part;	/* 007: signing info; 006: message */
	size_t		trailing;		/* bytes after the last field, not decoded */

	/* 007 */
	uint32_t	issue_ts;
	uint32_t	expire;			/* seconds after issue_ts */
	int			declared_services;
	int			nservices;
	int			unknown_service;	/* type at which decoding stopped, or 0 */
	AgoraDecodedService services[AGORA_DECODE_MAX_SERVICES];
	int			npermissions;
	AgoraRtm2Permission permissions[AGORA_DECODE_MAX_PERMISSIONS];

	/* 006 */
	uint32_t	ts;				/* token expiry, unix time */
	uint32_t	crc_channel;
	uint32_t	crc_uid;
	int			nprivileges;
	AgoraPrivilege privileges[AGORA_DECODE_MAX_PRIVILEGES];

	char		error[192];		/* what is wrong, when decoding failed */
	size_t		content_len;
	uint8_t		content[AGORA_DECODE_CONTENT_MAX];
} AgoraDecoded;

/*
 * Decode a token of len bytes (not NUL-terminated; no byte past len is
 * read).  Returns AGORA_OK, or AGORA_ERR_TOKEN with d->error saying what is
 * wrong (or AGORA_ERR_MEMORY).
 */
extern AgoraError agora_decode(const char *token, size_t len, AgoraDecoded *d);

/* Whether a decoded token's signature was made with this certificate. */
extern bool agora_verify_007(const AgoraDecoded *d, const char *certificate);
extern bool agora_verify_006(const AgoraDecoded *d, const char *certificate,
							 const char *channel, size_t channel_len,
							 const char *uid, size_t uid_len);

extern bool agora_is_hex_id(const char *s, size_t len);
extern bool agora_char_allowed(unsigned char c);

/* Offset of the first byte Agora does not allow, or -1 when all are allowed. */
extern long agora_find_disallowed(const char *s, size_t len);
extern uint32_t agora_crc32(const char *s, size_t len);
extern const char *agora_service_name(int type);
extern const char *agora_privilege_name(int version, int service, int privilege);
extern const char *agora_rtm2_resource_type_name(int resource_type);
extern const char *agora_rtm2_permission_name(int permission_type);
extern const char *agora_error_string(AgoraError error);

/* Decimal form of a uid as Agora packs it: "" for 0 (any user). */
extern size_t agora_uid_string(uint32_t uid, char buf[11]);

#endif							/* PGCALL_AGORA_TOKEN_H */
