/*
 * agora_inspect.c: pgcall.agora_token_inspect(token, app_id, certificate),
 * a token decoded (agora_token.c) and written out as JSON: its services,
 * privileges and expiries, and whether its signature matches.
 */
#include "postgres.h"

#include <time.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "agora.h"
#include "agora_token.h"
#include "pgcall.h"

/* Where inspect works: reset on every call. */
static MemoryContext inspect_context = NULL;

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
	if (pgcall_agora_app_id_is_set())
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
	result = JsonbPGetDatum(pgcall_jsonb_from_text(buf.data));
	MemoryContextReset(inspect_context);
	PG_RETURN_DATUM(result);
}
