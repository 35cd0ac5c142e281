/*
 * turn.c: TURN REST credentials (draft-uberti-behave-turn-rest-00), the
 * scheme coturn checks with use-auth-secret:
 *
 *   username   = "<expiry unix time>:<user id>"
 *   credential = base64(HMAC-SHA1(turn secret, username))
 *
 * The result is a jsonb object whose iceServers member can be handed to
 * RTCPeerConnection as it is; uris and ttl follow Matrix's turnServer reply.
 */
#include "postgres.h"

#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/base64.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "pgcall.h"

typedef enum UrlKind
{
	URL_INVALID,
	URL_STUN,
	URL_TURN
} UrlKind;

static UrlKind
url_kind(const char *url, size_t len)
{
	static const struct
	{
		const char *scheme;
		UrlKind		kind;
	}			schemes[] = {
		{"stun:", URL_STUN}, {"stuns:", URL_STUN},
		{"turn:", URL_TURN}, {"turns:", URL_TURN},
	};

	for (size_t i = 0; i < len; i++)
		if ((unsigned char) url[i] <= 0x20 || url[i] == '"' || url[i] == '\\' ||
			url[i] == ',' || url[i] == 0x7f)
			return URL_INVALID;
	for (int i = 0; i < lengthof(schemes); i++)
	{
		size_t		n = strlen(schemes[i].scheme);

		if (len > n && strncmp(url, schemes[i].scheme, n) == 0)
			return schemes[i].kind;
	}
	return URL_INVALID;
}

/*
 * Call fn for each comma-separated URL in urls, with surrounding spaces
 * trimmed.  Stops and returns false at the first invalid or empty entry.
 */
static bool
for_each_url(const char *urls, void (*fn) (void *arg, const char *url, size_t len, UrlKind kind),
			 void *arg)
{
	const char *p = urls;

	if (*p == '\0')
		return true;
	for (;;)
	{
		const char *end = strchrnul(p, ',');
		const char *s = p;
		size_t		len;
		UrlKind		kind;

		while (s < end && *s == ' ')
			s++;
		len = end - s;
		while (len > 0 && s[len - 1] == ' ')
			len--;
		kind = url_kind(s, len);
		if (kind == URL_INVALID)
			return false;
		if (fn)
			fn(arg, s, len, kind);
		if (*end == '\0')
			return true;
		p = end + 1;
	}
}

bool
pgcall_turn_urls_are_valid(const char *urls, const char **reason)
{
	if (for_each_url(urls, NULL, NULL))
		return true;
	*reason = "must be a comma-separated list of stun:, stuns:, turn: or turns: URLs without spaces, quotes or backslashes inside";
	return false;
}

typedef struct UrlLists
{
	StringInfoData stun;
	StringInfoData turn;
} UrlLists;

static void
append_url(void *arg, const char *url, size_t len, UrlKind kind)
{
	UrlLists   *lists = arg;
	StringInfo	buf = (kind == URL_STUN) ? &lists->stun : &lists->turn;

	/* URLs hold no quote, backslash or control character: no escaping. */
	appendStringInfo(buf, "%s\"%.*s\"", buf->len > 0 ? "," : "", (int) len, url);
}

PG_FUNCTION_INFO_V1(pgcall_turn_credentials);

/*
 * turn_credentials(user_id text default null, ttl integer default null)
 *
 * Without user_id, credentials for the current user.  Naming another user
 * needs pgcall_backend.
 */
Datum
pgcall_turn_credentials(PG_FUNCTION_ARGS)
{
	const char *user_id;
	int			ttl = PG_ARGISNULL(1) ? pgcall_turn_ttl : PG_GETARG_INT32(1);
	char		secret[PGCALL_SECRET_MAX + 1];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char		credential[64];
	int			credlen;
	StringInfoData username;
	StringInfoData out;
	UrlLists	lists;
	int64		expires_at;

	if (PG_ARGISNULL(0))
		user_id = pgcall_require_user();
	else
	{
		user_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
		pgcall_check_user_id(user_id, "user_id");
		pgcall_check_may_act_for(user_id);
	}
	if (ttl < 60 || ttl > 7 * 86400)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TTL),
				 errmsg("ttl must be between 60 and 604800 seconds"),
				 errdetail("The value given is %d.", ttl),
				 errhint("Omit ttl to use pgcall.turn_ttl (%d seconds).", pgcall_turn_ttl)));

	initStringInfo(&lists.stun);
	initStringInfo(&lists.turn);
	if (pgcall_turn_urls == NULL ||
		!for_each_url(pgcall_turn_urls, append_url, &lists) ||
		lists.turn.len == 0 ||
		!pgcall_secret_copy(PGCALL_SECRET_TURN, secret, sizeof(secret)))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_TURN_NOT_CONFIGURED),
				 errmsg("TURN is not configured"),
				 errdetail("pgcall.turn_urls must name at least one turn: or turns: URL and the turn_secret must be set."),
				 errhint("As a superuser: ALTER SYSTEM SET pgcall.turn_urls = 'turn:turn.example.com:3478'; SELECT pg_reload_conf(); SELECT pgcall.set_secret('turn_secret', '<coturn static-auth-secret>');")));

	expires_at = (int64) time(NULL) + ttl;
	initStringInfo(&username);
	appendStringInfo(&username, INT64_FORMAT ":%s", expires_at, user_id);

	if (HMAC(EVP_sha1(), secret, (int) strlen(secret),
			 (const unsigned char *) username.data, username.len, mac, &maclen) == NULL)
	{
		explicit_bzero(secret, sizeof(secret));
		elog(ERROR, "HMAC-SHA1 failed");
	}
	explicit_bzero(secret, sizeof(secret));
	credlen = pg_b64_encode((const char *) mac, (int) maclen, credential, sizeof(credential) - 1);
	if (credlen < 0)
		elog(ERROR, "base64 encoding of the TURN credential failed");
	credential[credlen] = '\0';

	initStringInfo(&out);
	appendStringInfoString(&out, "{\"username\":");
	escape_json(&out, username.data);
	appendStringInfo(&out, ",\"credential\":\"%s\",\"ttl\":%d,\"expires_at\":" INT64_FORMAT,
					 credential, ttl, expires_at);
	appendStringInfo(&out, ",\"uris\":[%s],\"iceServers\":[", lists.turn.data);
	if (lists.stun.len > 0)
		appendStringInfo(&out, "{\"urls\":[%s]},", lists.stun.data);
	appendStringInfo(&out, "{\"urls\":[%s],\"username\":", lists.turn.data);
	escape_json(&out, username.data);
	appendStringInfo(&out, ",\"credential\":\"%s\"}]}", credential);

	PG_RETURN_JSONB_P(pgcall_jsonb_from_text(out.data));
}
