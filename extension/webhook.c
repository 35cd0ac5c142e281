/*
 * webhook.c: the webhook outbox, endpoint URL rules and signatures.
 *
 * The event flush (events.c, at PRE_COMMIT, after every deferred trigger
 * ran) hands the transaction's queued events, savepoints already applied, to
 * pgcall_webhook_flush(): when an endpoint is enabled, one call of
 * pgcall.webhook_enqueue() (SQL, run as the owner of pgcall.webhook_delivery)
 * writes the deliveries of every enabled endpoint that wants them, in this
 * same transaction: a webhook exists if and only if the change committed.  The rows carry what a receiver needs, read from the
 * tables (call, caller's profile, callee's ring deadline), not the event
 * payloads.  Bridges deliver them (worker/webhook.c); docs/webhooks.md.
 *
 * Signing secrets live in pgcall.secret as "webhook:<endpoint id>" and are
 * only ever read here, to sign (webhook_sign), by SECURITY DEFINER functions
 * that no application role can make sign a body of its choice.
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pgcall.h"

int			pgcall_webhook_max_attempts = 12;
int			pgcall_webhook_timeout = 10000;
int			pgcall_webhook_response_max = 65536;
bool		pgcall_webhook_allow_private = false;
int			pgcall_webhook_backoff_base = 1000;
int			pgcall_webhook_backoff_max = 3600;
int			pgcall_webhook_retention = 7 * 86400;

typedef struct WebhookType
{
	const char *type;
	const char *description;
} WebhookType;

/*
 * What an endpoint may ask for: two events of its own for VoIP pushes, and
 * the call lifecycle.  call.signal (WebRTC messages) and participant.media
 * (mute toggles) are left out: frequent, and nothing a backend acts on.
 */
static const WebhookType webhook_types[] = {
	{"call.ring_offline", "An incoming call rings someone with no live socket: send them a VoIP push.  callee: who, with the ring deadline; caller: name and avatar."},
	{"call.ring_stopped", "Someone rung through call.ring_offline stopped ringing: stop the push ringing on every device.  reason: answered, declined, missed, busy, removed, left, cancelled or ended."},
	{"call.started", "A call was started."},
	{"call.incoming", "Someone is being called (recipients: the invitees)."},
	{"call.accepted", "Someone answered; the call is active."},
	{"call.ended", "The call ended after it was answered."},
	{"call.cancelled", "The caller hung up before anyone answered."},
	{"call.rejected", "Everyone invited declined."},
	{"call.missed", "Nobody answered before the ring timeout."},
	{"call.busy", "Everyone invited was already in a call."},
	{"call.unavailable", "Everyone invited was offline."},
	{"participant.invited", "Someone was added to the call."},
	{"participant.ringing", "A participant's device rings."},
	{"participant.joined", "A participant answered or joined."},
	{"participant.left", "A participant hung up their own part."},
	{"participant.declined", "A participant declined."},
	{"participant.missed", "A participant's invitation timed out or they were offline."},
	{"participant.busy", "A participant was in another call."},
	{"participant.removed", "An admin removed a participant."},
};

static const char *
webhook_type(const char *type)
{
	for (int i = 0; i < lengthof(webhook_types); i++)
		if (strcmp(webhook_types[i].type, type) == 0)
			return webhook_types[i].type;
	return NULL;
}

/*
 * Whether an endpoint is enabled: if none is, a commit writes no delivery
 * and need not call webhook_enqueue() at all.  As the owner of the tables.
 */
static bool
webhooks_enabled(void)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;

	pgcall_exec(pgcall_plan(&plan, "SELECT EXISTS (SELECT FROM pgcall.webhook_endpoint WHERE enabled)",
							0, NULL), NULL, NULL, true, 1);
	return DatumGetBool(pgcall_getdatum(0, 1, &isnull));
}

/* The events of webhook types as webhook_enqueue() reads them. */
static char *
webhook_events_json(const PgcallWebhookEvent *events, int nevents)
{
	StringInfoData buf;
	int			n = 0;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int e = 0; e < nevents; e++)
	{
		const PgcallWebhookEvent *ev = &events[e];

		if (webhook_type(ev->type) == NULL)
			continue;
		if (n++ > 0)
			appendStringInfoChar(&buf, ',');
		appendStringInfoString(&buf, "{\"t\":");
		escape_json(&buf, ev->type);
		appendStringInfoString(&buf, ",\"c\":");
		if (ev->call_id)
			escape_json(&buf, ev->call_id);
		else
			appendStringInfoString(&buf, "null");
		appendStringInfoString(&buf, ",\"r\":[");
		for (int i = 0; i < ev->nrecipients; i++)
		{
			if (i > 0)
				appendStringInfoChar(&buf, ',');
			escape_json(&buf, ev->recipients[i]);
		}
		appendStringInfoString(&buf, "]}");
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/*
 * Write the outbox rows of a committing transaction's events: called by the
 * event flush (events.c) at PRE_COMMIT, after every deferred trigger ran and
 * before it takes the event lock, with every event the transaction queued
 * (those addressed to nobody included: they may end an offline ring), in
 * the order they were queued.  Events that are no webhook type are left
 * out; call.incoming is also what call.ring_offline is made of, and the
 * others may end an offline ring (call.ring_stopped), which
 * webhook_enqueue() works out from the tables.
 */
void
pgcall_webhook_flush(const PgcallWebhookEvent *events, int nevents)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {TEXTOID};
	PgcallOwner owner;
	Datum		values[1];
	bool		any = false;
	Relation	rel;
	BlockNumber blocks;

	for (int e = 0; e < nevents && !any; e++)
		any = webhook_type(events[e].type) != NULL;
	if (!any)
		return;

	/*
	 * A table of endpoints that never held a row has no page: then no
	 * endpoint is enabled, and there is nothing to query (an installation
	 * without webhooks).  The events' JSON (every recipient of a large
	 * call's) is written only for enabled endpoints.
	 */
	rel = table_open(pgcall_relid("webhook_endpoint"), AccessShareLock);
	blocks = RelationGetNumberOfBlocks(rel);
	table_close(rel, NoLock);
	if (blocks == 0)
		return;

	PushActiveSnapshot(GetTransactionSnapshot());
	pgcall_enter_owner(&owner, pgcall_relid("webhook_delivery"));
	SPI_connect();
	if (webhooks_enabled())
	{
		values[0] = CStringGetTextDatum(webhook_events_json(events, nevents));
		pgcall_exec(pgcall_plan(&plan, "SELECT pgcall.webhook_enqueue($1::jsonb)", 1, types),
					values, NULL, false, 0);
	}
	SPI_finish();
	pgcall_leave_owner(&owner);
	PopActiveSnapshot();
}

/* Before pgcall_init_gucs reserves the prefix, which drops unknown names. */
void
pgcall_init_webhook_gucs(void)
{
	DefineCustomIntVariable("pgcall.webhook_max_attempts",
							"Attempts at a webhook delivery before it is dead (pgcall.webhook_replay sends it again).",
							NULL, &pgcall_webhook_max_attempts, 12, 1, 100,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgcall.webhook_timeout",
							"How long a bridge waits for a webhook receiver's answer, from connecting to the end of the response.",
							NULL, &pgcall_webhook_timeout, 10000, 100, 60000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("pgcall.webhook_response_max",
							"Bytes of a webhook receiver's response body read at most; the connection is closed after them.",
							NULL, &pgcall_webhook_response_max, 65536, 0, 1024 * 1024,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("pgcall.webhook_allow_private",
							 "Allow webhook URLs on loopback, private and link-local addresses (never cloud metadata addresses).",
							 NULL, &pgcall_webhook_allow_private, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgcall.webhook_backoff_base",
							"Delay before the second attempt of a failed webhook delivery; it doubles with each attempt, half of it random.",
							NULL, &pgcall_webhook_backoff_base, 1000, 10, 3600 * 1000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("pgcall.webhook_backoff_max",
							"Longest delay between two attempts of a webhook delivery.",
							NULL, &pgcall_webhook_backoff_max, 3600, 1, 7 * 86400,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("pgcall.webhook_retention",
							"How long purge() keeps delivered and dead webhook deliveries and their logs.",
							NULL, &pgcall_webhook_retention, 7 * 86400, 60, 365 * 86400,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
}

/* purge(): finished deliveries older than pgcall.webhook_retention.  In SPI. */
int64
pgcall_webhook_purge_old(int32 max_rows)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {INT4OID, INT4OID};
	Datum		values[2] = {Int32GetDatum(max_rows), Int32GetDatum(pgcall_webhook_retention)};
	bool		isnull;

	pgcall_exec(pgcall_plan(&plan,
							"WITH d AS (DELETE FROM pgcall.webhook_delivery WHERE id IN ("
							"  SELECT id FROM pgcall.webhook_delivery WHERE finished_at IS NOT NULL "
							"   AND finished_at < pg_catalog.now() - pg_catalog.make_interval(secs => $2) "
							"   ORDER BY finished_at LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING 1) "
							"SELECT count(*) FROM d",
							2, types), values, NULL, false, 1);
	return DatumGetInt64(pgcall_getdatum(0, 1, &isnull));
}

PG_FUNCTION_INFO_V1(pgcall_webhook_event_types);

/* webhook_event_types() RETURNS TABLE(type, description) */
Datum
pgcall_webhook_event_types(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < lengthof(webhook_types); i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(webhook_types[i].type);
		values[1] = CStringGetTextDatum(webhook_types[i].description);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* ------------------------------------------------------------ URL rules */

typedef enum AddrClass
{
	ADDR_PUBLIC,
	ADDR_PRIVATE,				/* loopback, RFC 1918, CGNAT, ULA, link-local */
	ADDR_NEVER					/* unspecified, multicast, reserved, metadata */
} AddrClass;

/*
 * The same table as worker/webhook.c's addr_class(), which checks each
 * resolved address again when the bridge connects (a name may resolve to
 * anything, and differently later).
 */
static AddrClass
ipv4_class(const uint8 *a)
{
	if (a[0] == 169 && a[1] == 254 && a[2] == 169 && a[3] == 254)
		return ADDR_NEVER;		/* cloud metadata */
	if (a[0] == 0 || a[0] >= 224 || (a[0] == 192 && a[1] == 0 && a[2] == 0) ||
		(a[0] == 198 && (a[1] & 0xfe) == 18))
		return ADDR_NEVER;		/* this network, multicast, reserved, IETF, benchmark */
	if (a[0] == 127 || a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
		(a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254) ||
		(a[0] == 100 && (a[1] & 0xc0) == 64))
		return ADDR_PRIVATE;
	return ADDR_PUBLIC;
}

static AddrClass
ipv6_class(const uint8 *a)
{
	static const uint8 zero[10] = {0};

	if (memcmp(a, zero, 10) == 0 && ((a[10] == 0xff && a[11] == 0xff) || (a[10] == 0 && a[11] == 0)))
	{
		/* ::ffff:a.b.c.d, ::a.b.c.d, :: and ::1 */
		if (a[10] == 0 && a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1)
			return a[15] == 1 ? ADDR_PRIVATE : ADDR_NEVER;
		return ipv4_class(a + 12);
	}
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b)
		return ipv4_class(a + 12);	/* NAT64 */
	if (a[0] == 0x20 && a[1] == 0x02)
		return ipv4_class(a + 2);	/* 6to4 */
	if (a[0] == 0xfd && a[1] == 0x00 && a[2] == 0x0e && a[3] == 0xc2)
		return ADDR_NEVER;		/* fd00:ec2::/32, AWS metadata */
	if (a[0] == 0xff)
		return ADDR_NEVER;		/* multicast */
	if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
		return ADDR_PRIVATE;	/* unique local, link-local */
	return ADDR_PUBLIC;
}

static void
refuse_url(const char *url, const char *why, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_INVALID_WEBHOOK_URL),
			 errmsg("webhook URL %s: %s", url, why),
			 hint ? errhint("%s", hint) : 0));
}

#define PRIVATE_HINT "Set pgcall.webhook_allow_private = on (superuser) to deliver to loopback, private and link-local addresses, e.g. in development."

PG_FUNCTION_INFO_V1(pgcall_webhook_url_check);

/*
 * webhook_url_check(url) RETURNS text: http or https, a host, an optional
 * port, a path; no user name or password, no fragment, no control or space
 * characters.  A literal address (or localhost) must be public unless
 * pgcall.webhook_allow_private; numeric forms other than dotted quads
 * (2130706433, 0x7f.1) are refused, since resolvers read them as addresses.
 */
Datum
pgcall_webhook_url_check(PG_FUNCTION_ARGS)
{
	char	   *url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *shown;
	const char *p;
	const char *host_start;
	const char *host_end;
	const char *rest;
	char		host[256];
	size_t		hlen;
	bool		https;
	int			port = 0;
	uint8		addr[16];
	struct in_addr a4;
	AddrClass	cls = ADDR_PUBLIC;
	StringInfoData out;

	/* quote it for messages, without control characters */
	shown = pstrdup(url);
	for (char *c = shown; *c; c++)
		if (iscntrl((unsigned char) *c))
			*c = '?';
	if (strlen(shown) > 200)
		strcpy(shown + 197, "...");
	shown = quote_literal_cstr(shown);

	if (strlen(url) > 2048)
		refuse_url(shown, "longer than 2048 bytes", NULL);
	for (p = url; *p; p++)
		if ((unsigned char) *p <= ' ' || *p == 0x7f)
			refuse_url(shown, "contains a space or control character", "Percent-encode it.");
	if (pg_strncasecmp(url, "https://", 8) == 0)
		https = true;
	else if (pg_strncasecmp(url, "http://", 7) == 0)
		https = false;
	else
		refuse_url(shown, "must start with https:// or http://", NULL);
	if (strchr(url, '#'))
		refuse_url(shown, "must not have a fragment (#...)", NULL);

	host_start = url + (https ? 8 : 7);
	rest = host_start + strcspn(host_start, "/?");
	if (memchr(host_start, '@', rest - host_start))
		refuse_url(shown, "must not contain a user name or password",
				   "Authenticate the request with the Pgcall-Signature header instead.");
	if (*host_start == '[')
	{
		host_end = memchr(host_start, ']', rest - host_start);
		if (host_end == NULL)
			refuse_url(shown, "has an unterminated IPv6 address", NULL);
		hlen = host_end - host_start - 1;
		if (hlen == 0 || hlen >= sizeof(host))
			refuse_url(shown, "has no valid host", NULL);
		memcpy(host, host_start + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, addr) != 1)
			refuse_url(shown, "has an invalid IPv6 address", NULL);
		cls = ipv6_class(addr);
		p = host_end + 1;
	}
	else
	{
		host_end = host_start + strcspn(host_start, ":/?");
		hlen = host_end - host_start;
		if (hlen == 0 || hlen >= sizeof(host))
			refuse_url(shown, "has no valid host", NULL);
		for (size_t i = 0; i < hlen; i++)
		{
			char		c = pg_tolower((unsigned char) host_start[i]);

			if (!(isalnum((unsigned char) c) || c == '-' || c == '.'))
				refuse_url(shown, "has a character a host name cannot have",
						   "Use the ASCII (punycode) form of an internationalized name.");
			host[i] = c;
		}
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, addr) == 1)
		{
			cls = ipv4_class(addr);
			}
		else if (inet_aton(host, &a4) != 0)
			refuse_url(shown, "has a numeric host that is not a dotted-quad IPv4 address", NULL);
		else if (strcmp(host, "localhost") == 0 || (hlen > 10 && strcmp(host + hlen - 10, ".localhost") == 0))
			cls = ADDR_PRIVATE;
		else if (host[0] == '.' || host[0] == '-' || strstr(host, ".."))
			refuse_url(shown, "has no valid host", NULL);
		p = host_end;
	}
	if (*p == ':')
	{
		p++;
		if (!isdigit((unsigned char) *p))
			refuse_url(shown, "has an invalid port", NULL);
		while (isdigit((unsigned char) *p))
		{
			port = port * 10 + (*p++ - '0');
			if (port > 65535)
				refuse_url(shown, "has an invalid port", NULL);
		}
		if (port == 0 || (*p != '\0' && *p != '/' && *p != '?'))
			refuse_url(shown, "has an invalid port", NULL);
	}
	else if (*p != '\0' && *p != '/' && *p != '?')
		refuse_url(shown, "has no valid host", NULL);

	if (cls == ADDR_NEVER)
		refuse_url(shown, "points at an address no webhook may use (unspecified, multicast, reserved or cloud metadata)", NULL);
	if (cls == ADDR_PRIVATE && !pgcall_webhook_allow_private)
		refuse_url(shown, "points at a loopback, private or link-local address", PRIVATE_HINT);

	initStringInfo(&out);
	appendStringInfo(&out, "%s://", https ? "https" : "http");
	if (strchr(host, ':'))
		appendStringInfo(&out, "[%s]", host);
	else
		appendStringInfoString(&out, host);
	if (port)
		appendStringInfo(&out, ":%d", port);
	appendStringInfoString(&out, *p ? p : "/");
	PG_RETURN_TEXT_P(cstring_to_text(out.data));
}

/* ---------------------------------------------------------- signatures */

#define WEBHOOK_SECRET_PREFIX "whsec_"

static void
secret_name(char *buf, size_t size, int64 endpoint_id)
{
	snprintf(buf, size, "webhook:" INT64_FORMAT, endpoint_id);
}

PG_FUNCTION_INFO_V1(pgcall_webhook_sign);

/*
 * webhook_sign(endpoint_id, t, body) RETURNS text
 *     "t=<t>,v1=<hex HMAC-SHA256(secret, '<t>.<body>')>"
 * Raises P503E when the endpoint has no secret.
 */
Datum
pgcall_webhook_sign(PG_FUNCTION_ARGS)
{
	int64		endpoint_id = PG_GETARG_INT64(0);
	int64		t = PG_GETARG_INT64(1);
	text	   *body = PG_GETARG_TEXT_PP(2);
	char		name[48];
	char		secret[PGCALL_SECRET_MAX + 1];
	char		ts[24];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	HMAC_CTX   *ctx;
	StringInfoData out;
	int			tlen;

	secret_name(name, sizeof(name), endpoint_id);
	if (!pgcall_secret_lookup(name, secret, sizeof(secret)))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_WEBHOOK_NOT_CONFIGURED),
				 errmsg("webhook endpoint " INT64_FORMAT " has no signing secret", endpoint_id),
				 errhint("Give it one with pgcall.webhook_endpoint_rotate_secret().")));
	tlen = snprintf(ts, sizeof(ts), INT64_FORMAT, t);
	ctx = HMAC_CTX_new();
	if (ctx == NULL ||
		!HMAC_Init_ex(ctx, secret, (int) strlen(secret), EVP_sha256(), NULL) ||
		!HMAC_Update(ctx, (unsigned char *) ts, tlen) ||
		!HMAC_Update(ctx, (unsigned char *) ".", 1) ||
		!HMAC_Update(ctx, (unsigned char *) VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body)) ||
		!HMAC_Final(ctx, mac, &maclen))
	{
		HMAC_CTX_free(ctx);
		explicit_bzero(secret, sizeof(secret));
		elog(ERROR, "HMAC-SHA256 failed");
	}
	HMAC_CTX_free(ctx);
	explicit_bzero(secret, sizeof(secret));

	initStringInfo(&out);
	appendStringInfo(&out, "t=%s,v1=", ts);
	for (unsigned int i = 0; i < maclen; i++)
		appendStringInfo(&out, "%02x", mac[i]);
	PG_RETURN_TEXT_P(cstring_to_text(out.data));
}

PG_FUNCTION_INFO_V1(pgcall_webhook_new_secret);

/* webhook_new_secret(endpoint_id) RETURNS text: "whsec_" and 64 hex digits */
Datum
pgcall_webhook_new_secret(PG_FUNCTION_ARGS)
{
	int64		endpoint_id = PG_GETARG_INT64(0);
	unsigned char raw[32];
	char		value[sizeof(WEBHOOK_SECRET_PREFIX) + 64];
	char	   *stored;
	char		name[48];
	text	   *result;

	if (!pg_strong_random(raw, sizeof(raw)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random webhook secret")));
	strcpy(value, WEBHOOK_SECRET_PREFIX);
	for (int i = 0; i < (int) sizeof(raw); i++)
		snprintf(value + strlen(WEBHOOK_SECRET_PREFIX) + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
	result = cstring_to_text(value);
	stored = pstrdup(value);
	explicit_bzero(value, sizeof(value));
	secret_name(name, sizeof(name), endpoint_id);
	pgcall_secret_store(name, stored);
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(pgcall_webhook_has_secret);

Datum
pgcall_webhook_has_secret(PG_FUNCTION_ARGS)
{
	char		name[48];
	char		secret[PGCALL_SECRET_MAX + 1];
	bool		found;

	secret_name(name, sizeof(name), PG_GETARG_INT64(0));
	found = pgcall_secret_lookup(name, secret, sizeof(secret));
	explicit_bzero(secret, sizeof(secret));
	PG_RETURN_BOOL(found);
}
