/*
 * agora.c: Agora tokens in SQL (pgcall.agora_rtc_token and its variants,
 * pgcall.agora_rtm_token, the legacy 006 builders and pgcall.agora_configured)
 * and in C (agora.h); pgcall.agora_token_inspect is in agora_inspect.c.
 *
 * This file owns validation, configuration and errors; the token formats
 * live in agora_token.c, which knows nothing of PostgreSQL.
 *
 * Configuration: the app id is the setting pgcall.agora_app_id (guc.c); the
 * certificates are secrets (secret.c).  A builder copies the primary
 * certificate into a stack buffer only after every argument has been
 * checked, and wipes it before anything can raise an error; no certificate
 * ever reaches a message, a log line or a result.
 *
 * Lifetime: each backend keeps one AgoraBuilder (a zlib stream reset per
 * token, the cached issue-second half of the signing chain) in the memory
 * context "pgcall agora tokens", made on first use and remade when
 * pgcall.agora_token_compression changes.  A token is built in a stack
 * buffer; the only allocation per call is the returned text.  Salts come from
 * pg_strong_random, drawn 256 at a time.
 */
#include "postgres.h"

#include <time.h>

#include "commands/dbcommands.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "agora.h"
#include "agora_token.h"
#include "pgcall.h"

int			pgcall_agora_token_compression = AGORA_DEFAULT_ZLIB_LEVEL;

static MemoryContext builder_context = NULL;
static AgoraBuilder *builder = NULL;

static uint32 random_pool[256];
static int	random_next = lengthof(random_pool);

#define AGORA_CHARSET "letters, digits, space, ! # $ % & ( ) + - : ; < = . > ? @ [ ] ^ _ { } | ~ and the comma"

/* A lifetime argument: given, or left to its default. */
typedef struct Lifetime
{
	bool		given;
	int			seconds;
} Lifetime;

void
pgcall_init_agora(void)
{
	DefineCustomIntVariable("pgcall.agora_token_compression",
							"Zlib level of 007 Agora tokens: 0 stores them (fastest), 1 to 9 compress them (Agora's builders use 6).",
							NULL,
							&pgcall_agora_token_compression,
							AGORA_DEFAULT_ZLIB_LEVEL, 0, 9,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}

/* ---------------------------------------------------------------------
 * Configuration
 * --------------------------------------------------------------------- */

/* Whether pgcall.agora_app_id is set (inspect compares tokens' app ids with it). */
bool
pgcall_agora_app_id_is_set(void)
{
	return pgcall_agora_app_id != NULL && pgcall_agora_app_id[0] != '\0';
}

static bool
certificate_is_set(PgcallSecret which)
{
	char		certificate[PGCALL_SECRET_MAX + 1];
	bool		set = pgcall_secret_copy(which, certificate, sizeof(certificate));

	explicit_bzero(certificate, sizeof(certificate));
	return set;
}

bool
pgcall_agora_is_configured(void)
{
	return pgcall_agora_app_id_is_set() && certificate_is_set(PGCALL_SECRET_AGORA_CERTIFICATE);
}

/* The one error every token builder raises when Agora is not configured. */
static void
require_configured(void)
{
	bool		has_app_id = pgcall_agora_app_id_is_set();
	bool		has_certificate = certificate_is_set(PGCALL_SECRET_AGORA_CERTIFICATE);
	const char *dbname;

	if (has_app_id && has_certificate)
		return;
	dbname = get_database_name(MyDatabaseId);
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_AGORA_NOT_CONFIGURED),
			 errmsg("Agora is not configured"),
			 !has_app_id && !has_certificate ?
			 errdetail("Neither pgcall.agora_app_id nor the agora_app_certificate secret is set.") :
			 !has_app_id ?
			 errdetail("pgcall.agora_app_id is not set.") :
			 errdetail("The agora_app_certificate secret is not set."),
			 errhint("As a superuser, run ALTER DATABASE %s SET pgcall.agora_app_id = '<App ID>' (sessions started afterwards see it) and SELECT pgcall.set_secret('agora_app_certificate', '<App Certificate>'), with both values from the Agora Console.",
					 quote_identifier(dbname ? dbname : "<database>"))));
}

const char *
pgcall_agora_require_app_id(void)
{
	require_configured();
	return pgcall_agora_app_id;
}

/* ---------------------------------------------------------------------
 * Validation
 * --------------------------------------------------------------------- */

static char *
describe_byte(unsigned char c)
{
	if (c == '"')
		return pstrdup("a double quote");
	if (c > 0x20 && c < 0x7f)
		return psprintf("\"%c\"", c);
	if (c >= 0x80)
		return psprintf("0x%02x, which is not ASCII", c);
	return psprintf("0x%02x, a control character", c);
}

/* Raise sqlstate unless value is 1..max bytes of Agora's character set. */
static void
check_agora_text(const char *value, size_t len, size_t max, const char *name,
				 int sqlstate, const char *what)
{
	long		bad;

	if (len == 0 || len > max)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("%s must be 1 to %zu bytes long", name, max),
				 errdetail("The value given has %zu bytes.", len),
				 errhint("%s are 1 to %zu bytes of %s.", what, max, AGORA_CHARSET)));
	bad = agora_find_disallowed(value, len);
	if (bad >= 0)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("%s contains a character Agora does not allow", name),
				 errdetail("Byte %ld is %s.", bad + 1, describe_byte((unsigned char) value[bad])),
				 errhint("%s are 1 to %zu bytes of %s.", what, max, AGORA_CHARSET)));
}

void
pgcall_agora_check_channel(const char *channel, size_t len)
{
	check_agora_text(channel, len, AGORA_CHANNEL_MAX, "channel",
					 ERRCODE_PGCALL_INVALID_CHANNEL, "Agora channel names");
}

void
pgcall_agora_check_account(const char *account, size_t len)
{
	check_agora_text(account, len, AGORA_ACCOUNT_MAX, "account",
					 ERRCODE_PGCALL_INVALID_ACCOUNT, "Agora user accounts");
}

static void
check_rtm_user_id(const char *user_id, size_t len)
{
	check_agora_text(user_id, len, AGORA_RTM_USER_MAX, "user_id",
					 ERRCODE_PGCALL_INVALID_ACCOUNT, "Agora RTM user ids");
}

uint32
pgcall_agora_check_uid(int64 uid)
{
	if (uid < 0 || uid > PG_UINT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_UID),
				 errmsg("uid must be between 0 and 4294967295"),
				 errdetail("The value given is " INT64_FORMAT ".", uid),
				 errhint("Agora uids are unsigned 32-bit integers; 0 lets any user join with the token.")));
	return (uint32) uid;
}

static int
resolve_token_ttl(Lifetime ttl, const char *name)
{
	int			seconds = ttl.given ? ttl.seconds : pgcall_agora_token_ttl;

	if (seconds < PGCALL_AGORA_TTL_MIN || seconds > PGCALL_AGORA_TTL_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TTL),
				 errmsg("%s must be between %d and %d seconds", name,
						PGCALL_AGORA_TTL_MIN, PGCALL_AGORA_TTL_MAX),
				 errdetail("The value given is %d.", seconds),
				 errhint("Agora tokens last at most 24 hours. Omit %s to use pgcall.agora_token_ttl (%d seconds).",
						 name, pgcall_agora_token_ttl)));
	return seconds;
}

static int
resolve_privilege_ttl(Lifetime ttl, int token_ttl, const char *name)
{
	if (!ttl.given)
		return token_ttl;
	if (ttl.seconds < PGCALL_AGORA_TTL_MIN || ttl.seconds > token_ttl)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TTL),
				 errmsg("%s must be between %d seconds and token_ttl (%d seconds)", name,
						PGCALL_AGORA_TTL_MIN, token_ttl),
				 errdetail("The value given is %d.", ttl.seconds),
				 errhint("A privilege cannot outlast its token. Omit %s to give it the token's lifetime.",
						 name)));
	return ttl.seconds;
}

static Lifetime
lifetime_arg(FunctionCallInfo fcinfo, int argno)
{
	Lifetime	ttl = {false, 0};

	if (!PG_ARGISNULL(argno))
	{
		ttl.given = true;
		ttl.seconds = PG_GETARG_INT32(argno);
	}
	return ttl;
}

/* C callers pass 0 for the default. */
static Lifetime
lifetime_c(int seconds)
{
	Lifetime	ttl = {seconds != PGCALL_AGORA_TTL_DEFAULT, seconds};

	return ttl;
}

/* A text argument that must not be NULL; not copied. */
static text *
text_arg(FunctionCallInfo fcinfo, int argno, const char *name, int sqlstate)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("%s must not be null", name)));
	return PG_GETARG_TEXT_PP(argno);
}

static bool
role_is_publisher(FunctionCallInfo fcinfo, int argno)
{
	text	   *role;
	const char *s;
	int			len;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_ROLE),
				 errmsg("role must not be null"),
				 errhint("Use 'publisher' (join, and publish audio, video and data) or 'subscriber' (join only).")));
	role = PG_GETARG_TEXT_PP(argno);
	s = VARDATA_ANY(role);
	len = VARSIZE_ANY_EXHDR(role);
	if (len == 9 && memcmp(s, "publisher", 9) == 0)
		return true;
	if (len == 10 && memcmp(s, "subscriber", 10) == 0)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_INVALID_ROLE),
			 errmsg("unknown role \"%s\"", text_to_cstring(role)),
			 errhint("Use 'publisher' (join, and publish audio, video and data) or 'subscriber' (join only).")));
	return false;				/* not reached */
}

/* ---------------------------------------------------------------------
 * Building
 * --------------------------------------------------------------------- */

static void *
builder_alloc(void *opaque, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) opaque, size, MCXT_ALLOC_NO_OOM);
}

static void
builder_free(void *opaque, void *ptr)
{
	pfree(ptr);
}

static AgoraBuilder *
get_builder(void)
{
	AgoraAllocator allocator;

	if (builder != NULL && agora_builder_zlib_level(builder) == pgcall_agora_token_compression)
		return builder;
	if (builder_context == NULL)
		builder_context = AllocSetContextCreate(TopMemoryContext, "pgcall agora tokens",
												ALLOCSET_DEFAULT_SIZES);
	if (builder != NULL)
	{
		agora_builder_destroy(builder);
		builder = NULL;
	}
	allocator.alloc = builder_alloc;
	allocator.free = builder_free;
	allocator.opaque = builder_context;
	builder = agora_builder_create(&allocator, pgcall_agora_token_compression);
	if (builder == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Could not set up the Agora token builder.")));
	return builder;
}

static uint32
random_uint32(void)
{
	if (random_next >= lengthof(random_pool))
	{
		if (!pg_strong_random(random_pool, sizeof(random_pool)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate random salts for Agora tokens")));
		random_next = 0;
	}
	return random_pool[random_next++];
}

/* Uniform in 1..99999999, the range Agora's builders draw 007 salts from. */
static uint32
salt_007(void)
{
	const uint32 limit = PG_UINT32_MAX - PG_UINT32_MAX % AGORA_SALT_007_MAX;

	for (;;)
	{
		uint32		v = random_uint32();

		if (v < limit)
			return 1 + v % AGORA_SALT_007_MAX;
	}
}

static void
report_build_error(AgoraError rc)
{
	/* Arguments were checked and the secrets are validated when set. */
	elog(ERROR, "could not build Agora token: %s", agora_error_string(rc));
}

/*
 * Build a 007 token from already-checked services into out.  Copies the
 * certificate only for the build and wipes it before returning.
 */
static size_t
build_007(const AgoraService *services, int nservices, uint32 issue_ts, int token_ttl,
		  char *out, size_t outsize)
{
	AgoraBuilder *b = get_builder();
	char		certificate[PGCALL_SECRET_MAX + 1];
	uint32		salt = salt_007();
	size_t		len = 0;
	AgoraError	rc;

	if (!pgcall_secret_copy(PGCALL_SECRET_AGORA_CERTIFICATE, certificate, sizeof(certificate)))
		require_configured();	/* raises */
	rc = agora_build_007(b, pgcall_agora_app_id, certificate, issue_ts, salt,
						 (uint32) token_ttl, services, nservices, out, outsize, &len);
	explicit_bzero(certificate, sizeof(certificate));
	if (rc != AGORA_OK)
		report_build_error(rc);
	return len;
}

static size_t
build_006(const char *channel, size_t channel_len, const char *uid, size_t uid_len,
		  const AgoraPrivilege *privileges, int nprivileges, uint32 ts,
		  char *out, size_t outsize)
{
	AgoraBuilder *b = get_builder();
	char		certificate[PGCALL_SECRET_MAX + 1];
	uint32		salt = random_uint32();
	size_t		len = 0;
	AgoraError	rc;

	if (!pgcall_secret_copy(PGCALL_SECRET_AGORA_CERTIFICATE, certificate, sizeof(certificate)))
		require_configured();	/* raises */
	rc = agora_build_006(b, pgcall_agora_app_id, certificate, salt, ts,
						 channel, channel_len, uid, uid_len, privileges, nprivileges,
						 out, outsize, &len);
	explicit_bzero(certificate, sizeof(certificate));
	if (rc != AGORA_OK)
		report_build_error(rc);
	return len;
}

/*
 * The RTC builders' common path.  ttls: token, then join, audio, video,
 * data; nprivileges is 1 (join only) or 4.  The SQL entry points check the
 * channel first too, so that errors come in argument order.
 */
static size_t
build_rtc_token(const char *channel, size_t channel_len, const char *user, size_t user_len,
				Lifetime token_ttl_arg, const Lifetime *privilege_ttls, const char *const *names,
				int nprivileges, int64 *expires_at, char *out, size_t outsize)
{
	AgoraService service;
	int			token_ttl;
	time_t		now;

	pgcall_agora_check_channel(channel, channel_len);
	token_ttl = resolve_token_ttl(token_ttl_arg, "token_ttl");
	service.type = AGORA_SERVICE_RTC;
	service.channel = channel;
	service.channel_len = channel_len;
	service.user = user;
	service.user_len = user_len;
	service.nprivileges = nprivileges;
	for (int i = 0; i < nprivileges; i++)
	{
		service.privileges[i].id = AGORA_RTC_JOIN_CHANNEL + i;
		service.privileges[i].expire =
			(uint32) resolve_privilege_ttl(privilege_ttls[i], token_ttl, names[i]);
	}

	now = time(NULL);
	if (expires_at)
		*expires_at = (int64) now + token_ttl;
	return build_007(&service, 1, (uint32) now, token_ttl, out, outsize);
}

/* Role-based privileges: all four share privilege_ttl; subscribers join only. */
static size_t
build_rtc_token_for_role(const char *channel, size_t channel_len, const char *user, size_t user_len,
						 bool publisher, Lifetime token_ttl, Lifetime privilege_ttl,
						 int64 *expires_at, char *out, size_t outsize)
{
	static const char *const names[4] = {"privilege_ttl", "privilege_ttl", "privilege_ttl", "privilege_ttl"};
	Lifetime	ttls[4] = {privilege_ttl, privilege_ttl, privilege_ttl, privilege_ttl};

	return build_rtc_token(channel, channel_len, user, user_len, token_ttl, ttls, names,
						   publisher ? 4 : 1, expires_at, out, outsize);
}

char *
pgcall_agora_make_rtc_token(const char *channel, const char *account, bool publisher,
					   int token_ttl, int privilege_ttl, int64 *expires_at)
{
	char		out[AGORA_TOKEN_MAX];
	size_t		len;

	require_configured();
	pgcall_agora_check_account(account ? account : "", account ? strlen(account) : 0);
	len = build_rtc_token_for_role(channel ? channel : "", channel ? strlen(channel) : 0,
								   account, strlen(account), publisher,
								   lifetime_c(token_ttl), lifetime_c(privilege_ttl),
								   expires_at, out, sizeof(out));
	return pnstrdup(out, len);
}

char *
pgcall_agora_make_rtc_token_uid(const char *channel, int64 uid, bool publisher,
						   int token_ttl, int privilege_ttl, int64 *expires_at)
{
	char		out[AGORA_TOKEN_MAX];
	char		uidbuf[11];
	size_t		uidlen;
	size_t		len;

	require_configured();
	uidlen = agora_uid_string(pgcall_agora_check_uid(uid), uidbuf);
	len = build_rtc_token_for_role(channel ? channel : "", channel ? strlen(channel) : 0,
								   uidbuf, uidlen, publisher,
								   lifetime_c(token_ttl), lifetime_c(privilege_ttl),
								   expires_at, out, sizeof(out));
	return pnstrdup(out, len);
}

static size_t
build_rtm_token(const char *user_id, size_t user_len, Lifetime ttl_arg, int64 *expires_at,
				char *out, size_t outsize)
{
	AgoraService service;
	int			ttl;
	time_t		now;

	check_rtm_user_id(user_id, user_len);
	ttl = resolve_token_ttl(ttl_arg, "ttl");
	memset(&service, 0, sizeof(service));
	service.type = AGORA_SERVICE_RTM;
	service.user = user_id;
	service.user_len = user_len;
	service.nprivileges = 1;
	service.privileges[0].id = AGORA_RTM_LOGIN;
	service.privileges[0].expire = (uint32) ttl;
	now = time(NULL);
	if (expires_at)
		*expires_at = (int64) now + ttl;
	return build_007(&service, 1, (uint32) now, ttl, out, outsize);
}

char *
pgcall_agora_make_rtm_token(const char *user_id, int ttl, int64 *expires_at)
{
	char		out[AGORA_TOKEN_MAX];
	size_t		len;

	require_configured();
	len = build_rtm_token(user_id ? user_id : "", user_id ? strlen(user_id) : 0, lifetime_c(ttl),
						  expires_at, out, sizeof(out));
	return pnstrdup(out, len);
}

/* ---------------------------------------------------------------------
 * SQL: 007 builders
 * --------------------------------------------------------------------- */

static Datum
token_result(const char *out, size_t len)
{
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out, (int) len));
}

static size_t
uid_arg(FunctionCallInfo fcinfo, int argno, char buf[11])
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_UID),
				 errmsg("uid must not be null"),
				 errhint("Use 0 to let any user join with the token.")));
	return agora_uid_string(pgcall_agora_check_uid(PG_GETARG_INT64(argno)), buf);
}

/* The channel and the user of an RTC builder: arguments 0 and 1. */
typedef struct RtcArgs
{
	const char *channel;
	size_t		channel_len;
	const char *user;			/* the account, or the uid as Agora packs it */
	size_t		user_len;
	char		uid[11];
} RtcArgs;

/*
 * Check configuration, then the channel, then the account or uid: errors
 * come in argument order, and P503A before any of them.
 */
static void
get_rtc_args(FunctionCallInfo fcinfo, bool by_uid, RtcArgs *args)
{
	text	   *channel;

	require_configured();
	channel = text_arg(fcinfo, 0, "channel", ERRCODE_PGCALL_INVALID_CHANNEL);
	args->channel = VARDATA_ANY(channel);
	args->channel_len = VARSIZE_ANY_EXHDR(channel);
	pgcall_agora_check_channel(args->channel, args->channel_len);
	if (by_uid)
	{
		args->user_len = uid_arg(fcinfo, 1, args->uid);
		args->user = args->uid;
	}
	else
	{
		text	   *account = text_arg(fcinfo, 1, "account", ERRCODE_PGCALL_INVALID_ACCOUNT);

		args->user = VARDATA_ANY(account);
		args->user_len = VARSIZE_ANY_EXHDR(account);
		pgcall_agora_check_account(args->user, args->user_len);
	}
}

/* (channel, account | uid, role, token_ttl, privilege_ttl) */
static Datum
mint_rtc_token(FunctionCallInfo fcinfo, bool by_uid)
{
	char		out[AGORA_TOKEN_MAX];
	size_t		len;
	RtcArgs		args;
	bool		publisher;

	get_rtc_args(fcinfo, by_uid, &args);
	publisher = role_is_publisher(fcinfo, 2);
	len = build_rtc_token_for_role(args.channel, args.channel_len, args.user, args.user_len,
								   publisher, lifetime_arg(fcinfo, 3), lifetime_arg(fcinfo, 4),
								   NULL, out, sizeof(out));
	return token_result(out, len);
}

/* (channel, account | uid, token_ttl, join_ttl, audio_ttl, video_ttl, data_ttl) */
static Datum
mint_rtc_token_with_privileges(FunctionCallInfo fcinfo, bool by_uid)
{
	static const char *const names[4] = {"join_ttl", "audio_ttl", "video_ttl", "data_ttl"};
	char		out[AGORA_TOKEN_MAX];
	size_t		len;
	RtcArgs		args;
	Lifetime	ttls[4];

	get_rtc_args(fcinfo, by_uid, &args);
	for (int i = 0; i < 4; i++)
		ttls[i] = lifetime_arg(fcinfo, 3 + i);
	len = build_rtc_token(args.channel, args.channel_len, args.user, args.user_len,
						  lifetime_arg(fcinfo, 2), ttls, names, 4, NULL, out, sizeof(out));
	return token_result(out, len);
}

PG_FUNCTION_INFO_V1(pgcall_agora_rtc_token);
PG_FUNCTION_INFO_V1(pgcall_agora_rtc_token_uid);
PG_FUNCTION_INFO_V1(pgcall_agora_rtc_token_with_privileges);
PG_FUNCTION_INFO_V1(pgcall_agora_rtc_token_with_privileges_uid);

Datum
pgcall_agora_rtc_token(PG_FUNCTION_ARGS)
{
	return mint_rtc_token(fcinfo, false);
}

Datum
pgcall_agora_rtc_token_uid(PG_FUNCTION_ARGS)
{
	return mint_rtc_token(fcinfo, true);
}

Datum
pgcall_agora_rtc_token_with_privileges(PG_FUNCTION_ARGS)
{
	return mint_rtc_token_with_privileges(fcinfo, false);
}

Datum
pgcall_agora_rtc_token_with_privileges_uid(PG_FUNCTION_ARGS)
{
	return mint_rtc_token_with_privileges(fcinfo, true);
}

PG_FUNCTION_INFO_V1(pgcall_agora_rtm_token);

/* agora_rtm_token(user_id, ttl) */
Datum
pgcall_agora_rtm_token(PG_FUNCTION_ARGS)
{
	char		out[AGORA_TOKEN_MAX];
	size_t		len;
	text	   *user_id;

	require_configured();
	user_id = text_arg(fcinfo, 0, "user_id", ERRCODE_PGCALL_INVALID_ACCOUNT);
	len = build_rtm_token(VARDATA_ANY(user_id), VARSIZE_ANY_EXHDR(user_id),
						  lifetime_arg(fcinfo, 1), NULL, out, sizeof(out));
	return token_result(out, len);
}

/* ---------------------------------------------------------------------
 * SQL: 006 builders
 *
 * In 006 every privilege carries an absolute expiry, and the token its own
 * (the "ts" field), which Agora's builders set a day ahead.
 * --------------------------------------------------------------------- */

static size_t
build_rtc_token_006(const char *channel, size_t channel_len, const char *uid, size_t uid_len,
					bool publisher, Lifetime ttl_arg, char *out, size_t outsize)
{
	AgoraPrivilege privileges[4];
	int			nprivileges = publisher ? 4 : 1;
	int			ttl;
	time_t		now;

	pgcall_agora_check_channel(channel, channel_len);
	ttl = resolve_token_ttl(ttl_arg, "ttl");
	now = time(NULL);
	for (int i = 0; i < nprivileges; i++)
	{
		privileges[i].id = AGORA006_JOIN_CHANNEL + i;
		privileges[i].expire = (uint32) (now + ttl);
	}
	return build_006(channel, channel_len, uid, uid_len, privileges, nprivileges,
					 (uint32) (now + PGCALL_AGORA_TTL_MAX), out, outsize);
}

/* (channel, account | uid, role, ttl) */
static Datum
mint_rtc_token_006(FunctionCallInfo fcinfo, bool by_uid)
{
	char		out[AGORA_TOKEN_MAX];
	size_t		len;
	RtcArgs		args;
	bool		publisher;

	get_rtc_args(fcinfo, by_uid, &args);
	publisher = role_is_publisher(fcinfo, 2);
	len = build_rtc_token_006(args.channel, args.channel_len, args.user, args.user_len,
							  publisher, lifetime_arg(fcinfo, 3), out, sizeof(out));
	return token_result(out, len);
}

PG_FUNCTION_INFO_V1(pgcall_agora_rtc_token_006);
PG_FUNCTION_INFO_V1(pgcall_agora_rtc_token_006_uid);

Datum
pgcall_agora_rtc_token_006(PG_FUNCTION_ARGS)
{
	return mint_rtc_token_006(fcinfo, false);
}

Datum
pgcall_agora_rtc_token_006_uid(PG_FUNCTION_ARGS)
{
	return mint_rtc_token_006(fcinfo, true);
}

PG_FUNCTION_INFO_V1(pgcall_agora_rtm_token_006);

/* agora_rtm_token_006(user_id, ttl): the user id stands in the channel's place */
Datum
pgcall_agora_rtm_token_006(PG_FUNCTION_ARGS)
{
	char		out[AGORA_TOKEN_MAX];
	size_t		len;
	text	   *user_id;
	AgoraPrivilege login;
	int			ttl;
	time_t		now;

	require_configured();
	user_id = text_arg(fcinfo, 0, "user_id", ERRCODE_PGCALL_INVALID_ACCOUNT);
	check_rtm_user_id(VARDATA_ANY(user_id), VARSIZE_ANY_EXHDR(user_id));
	ttl = resolve_token_ttl(lifetime_arg(fcinfo, 1), "ttl");
	now = time(NULL);
	login.id = AGORA006_RTM_LOGIN;
	login.expire = (uint32) (now + ttl);
	len = build_006(VARDATA_ANY(user_id), VARSIZE_ANY_EXHDR(user_id), "", 0,
					&login, 1, (uint32) (now + PGCALL_AGORA_TTL_MAX), out, sizeof(out));
	return token_result(out, len);
}

PG_FUNCTION_INFO_V1(pgcall_agora_configured);

Datum
pgcall_agora_configured(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(pgcall_agora_is_configured());
}
