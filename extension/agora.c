/*
 * agora.c: Agora tokens in SQL (pgcall.agora_rtc_token and its variants,
 * pgcall.agora_rtm_token, the legacy 006 builders, pgcall.agora_token_inspect
 * and pgcall.agora_configured) and in C (agora.h).
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
 * buffer; the only allocation per call is the returned text.  inspect works
 * in "pgcall agora inspect", which is reset on every call.  Salts come from
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
static MemoryContext inspect_context = NULL;

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

static bool
app_id_is_set(void)
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
	return app_id_is_set() && certificate_is_set(PGCALL_SECRET_AGORA_CERTIFICATE);
}

/* The one error every token builder raises when Agora is not configured. */
static void
require_configured(void)
{
	bool		has_app_id = app_id_is_set();
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

/* ---------------------------------------------------------------------
 * SQL: inspect
 * --------------------------------------------------------------------- */

/* A JSON object being written: tracks the comma. */
typedef struct JsonOut
{
	StringInfo	buf;
	bool		first;
} JsonOut;

static void
json_key(JsonOut *o, const char *key)
{
	if (!o->first)
		appendStringInfoChar(o->buf, ',');
	o->first = false;
	escape_json(o->buf, key);
	appendStringInfoChar(o->buf, ':');
}

static void
json_int(JsonOut *o, const char *key, int64 v)
{
	json_key(o, key);
	appendStringInfo(o->buf, INT64_FORMAT, v);
}

static void
json_bool(JsonOut *o, const char *key, bool v)
{
	json_key(o, key);
	appendStringInfoString(o->buf, v ? "true" : "false");
}

static void
json_null(JsonOut *o, const char *key)
{
	json_key(o, key);
	appendStringInfoString(o->buf, "null");
}

static void
json_str(JsonOut *o, const char *key, const char *v)
{
	json_key(o, key);
	if (v == NULL)
		appendStringInfoString(o->buf, "null");
	else
		escape_json(o->buf, v);
}

/*
 * Bytes from the token: a string when they are text in the database
 * encoding, else "<key>_hex" with their hexadecimal form.
 */
static void
json_bytes(JsonOut *o, const char *key, AgoraBytes b)
{
	if (b.len == 0)
		json_str(o, key, "");
	else if (memchr(b.data, '\0', b.len) == NULL &&
			 pg_verifymbstr((const char *) b.data, (int) b.len, true))
		json_str(o, key, pnstrdup((const char *) b.data, b.len));
	else
	{
		StringInfoData hex;

		initStringInfo(&hex);
		for (size_t i = 0; i < b.len; i++)
			appendStringInfo(&hex, "%02x", b.data[i]);
		json_str(o, psprintf("%s_hex", key), hex.data);
	}
}

static void
json_open(JsonOut *o, StringInfo buf, const char *key, JsonOut *parent)
{
	if (parent)
		json_key(parent, key);
	appendStringInfoChar(buf, '{');
	o->buf = buf;
	o->first = true;
}

static void
json_close(JsonOut *o)
{
	appendStringInfoChar(o->buf, '}');
}

/* expires_at / expires_in / expired for an absolute expiry; 0 means none. */
static void
json_expiry(JsonOut *o, int64 expires_at, int64 now, bool with_expired)
{
	if (expires_at == 0)
	{
		json_null(o, "expires_at");
		json_null(o, "expires_in");
		if (with_expired)
			json_bool(o, "expired", false);
		return;
	}
	json_int(o, "expires_at", expires_at);
	json_int(o, "expires_in", expires_at - now);
	if (with_expired)
		json_bool(o, "expired", expires_at <= now);
}

static void
json_privilege(StringInfo buf, int version, int service, const AgoraPrivilege *p,
			   int64 issue_ts, int64 now, bool first)
{
	JsonOut		o;

	if (!first)
		appendStringInfoChar(buf, ',');
	json_open(&o, buf, NULL, NULL);
	json_int(&o, "id", p->id);
	json_str(&o, "name", agora_privilege_name(version, service, p->id));
	if (version == 7)
	{
		json_int(&o, "expire", p->expire);
		json_expiry(&o, p->expire == 0 ? 0 : issue_ts + p->expire, now, false);
	}
	else
		json_expiry(&o, p->expire, now, false);
	json_close(&o);
}

static bool
bytes_equal(AgoraBytes b, const char *s, size_t len)
{
	return b.len == len && (len == 0 || memcmp(b.data, s, len) == 0);
}

static void
json_service(StringInfo buf, const AgoraDecoded *d, const AgoraDecodedService *s,
			 int64 now, bool first)
{
	JsonOut		o;

	if (!first)
		appendStringInfoChar(buf, ',');
	json_open(&o, buf, NULL, NULL);
	json_int(&o, "type", s->type);
	json_str(&o, "name", agora_service_name(s->type));
	switch (s->type)
	{
		case AGORA_SERVICE_RTC:
			json_bytes(&o, "channel", s->channel);
			json_bytes(&o, "uid", s->user);
			json_bool(&o, "any_user", s->user.len == 0);
			break;
		case AGORA_SERVICE_STREAMING:
		case AGORA_SERVICE_FCDN:
			json_bytes(&o, "channel", s->channel);
			json_bytes(&o, "account", s->user);
			break;
		case AGORA_SERVICE_RTM:
		case AGORA_SERVICE_CHAT:
			json_bytes(&o, "user_id", s->user);
			break;
		case AGORA_SERVICE_RTM2:
			json_bytes(&o, "user_id", s->user);
			json_key(&o, "permissions");
			appendStringInfoChar(buf, '[');
			for (int i = 0; i < s->npermissions; i++)
			{
				const AgoraRtm2Permission *p = &d->permissions[s->first_permission + i];
				JsonOut		po;

				if (i > 0)
					appendStringInfoChar(buf, ',');
				json_open(&po, buf, NULL, NULL);
				json_int(&po, "resource_type", p->resource_type);
				json_str(&po, "resource_type_name", agora_rtm2_resource_type_name(p->resource_type));
				json_int(&po, "permission", p->permission_type);
				json_str(&po, "permission_name", agora_rtm2_permission_name(p->permission_type));
				json_bytes(&po, "resource", p->resource);
				json_close(&po);
			}
			appendStringInfoChar(buf, ']');
			break;
		case AGORA_SERVICE_APAAS:
			json_bytes(&o, "room_uuid", s->channel);
			json_bytes(&o, "user_uuid", s->user);
			json_int(&o, "role", s->apaas_role);
			break;
	}
	json_key(&o, "privileges");
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < s->nprivileges; i++)
		json_privilege(buf, 7, s->type, &s->privileges[i], d->issue_ts, now, i == 0);
	appendStringInfoChar(buf, ']');
	json_close(&o);
}

/*
 * The signature object: checked against the primary certificate, then the
 * secondary one.  channel and uid are needed for 006 only.
 */
static void
json_signature(JsonOut *parent, const AgoraDecoded *d, const char *channel, int channel_len,
			   const char *uid, int uid_len)
{
	static const struct
	{
		PgcallSecret secret;
		const char *name;
	}			certificates[] = {
		{PGCALL_SECRET_AGORA_CERTIFICATE, "primary"},
		{PGCALL_SECRET_AGORA_CERTIFICATE_SECONDARY, "secondary"},
	};
	JsonOut		o;
	const char *matched = NULL;
	int			checked = 0;

	json_open(&o, parent->buf, "signature", parent);
	if (d->signature.len != 32)
	{
		json_bool(&o, "valid", false);
		json_str(&o, "reason", psprintf("the signature is %zu bytes long, not 32", d->signature.len));
		json_close(&o);
		return;
	}
	if (d->version == 6 && channel == NULL)
	{
		json_null(&o, "valid");
		json_str(&o, "reason", "006 tokens carry only CRC32 checksums of the channel and uid: pass channel (and account, for a token made for a uid or an account) to check the signature");
		json_close(&o);
		return;
	}
	for (int i = 0; i < lengthof(certificates) && matched == NULL; i++)
	{
		char		certificate[PGCALL_SECRET_MAX + 1];
		bool		valid;

		if (!pgcall_secret_copy(certificates[i].secret, certificate, sizeof(certificate)))
			continue;
		checked++;
		if (d->version == 7)
			valid = agora_verify_007(d, certificate);
		else
			valid = agora_verify_006(d, certificate, channel, channel_len, uid, uid_len);
		explicit_bzero(certificate, sizeof(certificate));
		if (valid)
			matched = certificates[i].name;
	}
	if (checked == 0)
	{
		json_null(&o, "valid");
		json_str(&o, "reason", "no Agora app certificate is set");
	}
	else
	{
		json_bool(&o, "valid", matched != NULL);
		json_str(&o, "certificate", matched);
		if (matched == NULL)
			json_str(&o, "reason", psprintf("the token was not signed with %s, or was altered%s",
											checked == 1 ? "the app certificate" :
											"the primary or the secondary app certificate",
											d->version == 6 ? ", or the channel or account given is not the token's" : ""));
	}
	json_close(&o);
}

static char *
trim_token(text *t, int *len)
{
	char	   *s = VARDATA_ANY(t);
	int			n = VARSIZE_ANY_EXHDR(t);

	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
	{
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	*len = n;
	return s;
}

PG_FUNCTION_INFO_V1(pgcall_agora_token_inspect);

/*
 * agora_token_inspect(token, channel, account): decode a 006 or 007 token and
 * check its signature.  channel and account are optional: 006 tokens need
 * them to check the signature, and for both versions they are compared with
 * what the token holds.
 */
Datum
pgcall_agora_token_inspect(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	AgoraDecoded *d;
	StringInfoData buf;
	JsonOut		o;
	const char *token;
	int			token_len;
	const char *channel = NULL;
	const char *account = NULL;
	int			channel_len = 0;
	int			account_len = 0;
	int64		now = (int64) time(NULL);
	Datum		result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (inspect_context == NULL)
		inspect_context = AllocSetContextCreate(TopMemoryContext, "pgcall agora inspect",
												ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(inspect_context);
	MemoryContextSwitchTo(inspect_context);

	token = trim_token(PG_GETARG_TEXT_PP(0), &token_len);
	if (!PG_ARGISNULL(1))
	{
		text	   *t = PG_GETARG_TEXT_PP(1);

		channel = VARDATA_ANY(t);
		channel_len = VARSIZE_ANY_EXHDR(t);
	}
	if (!PG_ARGISNULL(2))
	{
		text	   *t = PG_GETARG_TEXT_PP(2);

		account = VARDATA_ANY(t);
		account_len = VARSIZE_ANY_EXHDR(t);
	}

	d = palloc(sizeof(AgoraDecoded));
	switch (agora_decode(token, (size_t) token_len, d))
	{
		case AGORA_OK:
			break;
		case AGORA_ERR_MEMORY:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("%s.", d->error)));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_INVALID_TOKEN),
					 errmsg("invalid Agora token: %s", d->error),
					 errhint("Agora tokens are \"006\" or \"007\" followed by base64 text; check that the whole token was copied, unchanged.")));
	}

	initStringInfo(&buf);
	json_open(&o, &buf, NULL, NULL);
	json_str(&o, "version", d->version == 7 ? "007" : "006");
	json_str(&o, "app_id", d->app_id);
	if (app_id_is_set())
		json_bool(&o, "app_id_matches", pg_strcasecmp(d->app_id, pgcall_agora_app_id) == 0);

	if (d->version == 7)
	{
		json_int(&o, "issued_at", d->issue_ts);
		json_int(&o, "expire", d->expire);
		json_expiry(&o, (int64) d->issue_ts + d->expire, now, true);
		json_int(&o, "salt", d->salt);
		json_key(&o, "services");
		appendStringInfoChar(&buf, '[');
		for (int i = 0; i < d->nservices; i++)
			json_service(&buf, d, &d->services[i], now, i == 0);
		appendStringInfoChar(&buf, ']');
		if (d->unknown_service != 0)
		{
			json_int(&o, "unknown_service_type", d->unknown_service);
			json_int(&o, "services_not_decoded", d->declared_services - d->nservices);
		}
		if (channel != NULL || account != NULL)
		{
			const AgoraDecodedService *rtc = NULL;

			for (int i = 0; i < d->nservices && rtc == NULL; i++)
				if (d->services[i].type == AGORA_SERVICE_RTC)
					rtc = &d->services[i];
			if (channel != NULL)
				json_bool(&o, "channel_matches", rtc && bytes_equal(rtc->channel, channel, channel_len));
			if (account != NULL)
				json_bool(&o, "account_matches", rtc && bytes_equal(rtc->user, account, account_len));
		}
	}
	else
	{
		bool		rtm = d->nprivileges > 0;

		for (int i = 0; i < d->nprivileges; i++)
			rtm = rtm && d->privileges[i].id == AGORA006_RTM_LOGIN;
		json_str(&o, "kind", rtm ? "rtm" : "rtc");
		json_null(&o, "issued_at");
		json_expiry(&o, d->ts, now, true);
		json_int(&o, "salt", d->salt);
		json_int(&o, "crc_channel", d->crc_channel);
		json_int(&o, "crc_uid", d->crc_uid);
		if (channel != NULL)
			json_bool(&o, "channel_matches", agora_crc32(channel, channel_len) == d->crc_channel);
		if (channel != NULL || account != NULL)
			json_bool(&o, "account_matches",
					  agora_crc32(account ? account : "", account_len) == d->crc_uid);
		json_key(&o, "privileges");
		appendStringInfoChar(&buf, '[');
		for (int i = 0; i < d->nprivileges; i++)
			json_privilege(&buf, 6, 0, &d->privileges[i], 0, now, i == 0);
		appendStringInfoChar(&buf, ']');
	}
	if (d->trailing > 0)
		json_int(&o, "trailing_bytes", (int64) d->trailing);
	json_signature(&o, d, channel, channel_len, account ? account : "", account_len);
	json_close(&o);

	MemoryContextSwitchTo(caller);
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
	MemoryContextReset(inspect_context);
	PG_RETURN_DATUM(result);
}
