/*
 * ratelimit.c: per-user request limits, kept in pgcall.rate_limit.
 *
 * One row per (user, action) holds the start of the current window and how
 * many requests it has counted.  A request counts with one INSERT ... ON
 * CONFLICT DO UPDATE, which keeps the row locked to the end of the
 * transaction: concurrent requests of one user for one action are counted
 * one after the other and the count never passes the limit, on one server
 * or behind any number of bridges.  Windows are fixed: one opens at the
 * first request after the previous one closed.
 *
 * Counting is transactional.  A request that fails for any reason (this
 * limit included) takes its count back with everything else it did, so
 * only requests that succeed use up the limit, and a refused request does
 * not push the retry time further away.
 *
 * Lock order: the call_* functions count every action a request needs in
 * one pgcall_rate_limit call (one statement), before they lock any call,
 * and the rows are written in the fixed order of the table below; so two
 * requests never wait for each other's rows in opposite orders.
 *
 * Most limits count requests per user.  Some count an amount instead (the
 * people invited, the bytes of signal payload), and some are kept per call
 * as well as per user (the signals one person sends in one call): such a
 * row's scope is the call's id, and '' otherwise.
 *
 * One thing must count even when it is rolled back: looking whether
 * invitees are busy (or offline).  A caller who starts a call in a
 * transaction and rolls it back learns who is in a call, rings nobody and
 * would count nothing.  So the requests that look, besides their
 * transactional count, count in this backend's memory, which no rollback
 * undoes (pgcall_rate_limit_probe); when their transaction commits, the
 * transactional count stands for them and the memory forgets them.  So a
 * session can look and roll back at most as often as the limit allows.  A
 * new session starts afresh, but costs a login; behind the bridge every
 * request commits, so the transactional count holds there.
 *
 * Callers have an SPI connection open.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "agora.h"
#include "calls.h"
#include "pgcall.h"

typedef struct RateLimit
{
	int			action;			/* PGCALL_LIMIT_* bit */
	const char *name;			/* pgcall.rate_limit.action */
	int		   *limit;			/* the setting; 0 means no limit */
	int			window;			/* seconds */
	const char *setting;
	const char *what;			/* plural noun for the message */
	const char *per;			/* the window in words */
	bool		weighted;		/* counts the amount passed, not requests */
	bool		per_call;		/* kept per user and call (scope) */
} RateLimit;

/* Each row stores its window's length, which purge uses. */
static const RateLimit limits[] = {
	{PGCALL_LIMIT_CALL, "call", &pgcall_rate_limit_calls, 3600,
	"pgcall.rate_limit_calls", "calls created", "hour", false, false},
	{PGCALL_LIMIT_JOIN, "join", &pgcall_rate_limit_joins, 60,
	"pgcall.rate_limit_joins", "joins", "minute", false, false},
	{PGCALL_LIMIT_TOKEN, "token", &pgcall_rate_limit_tokens, 60,
	"pgcall.rate_limit_tokens", "token requests", "minute", false, false},
	{PGCALL_LIMIT_ANALYTICS, "analytics", &pgcall_rate_limit_analytics, 60,
	"pgcall.rate_limit_analytics", "analytics reports", "minute", false, false},
	{PGCALL_LIMIT_INVITE, "invite", &pgcall_rate_limit_invites, 3600,
	"pgcall.rate_limit_invites", "people invited to calls in progress", "hour", true, false},
	{PGCALL_LIMIT_MEDIA, "media", &pgcall_rate_limit_media, 60,
	"pgcall.rate_limit_media", "media changes", "minute", false, false},
	{PGCALL_LIMIT_SIGNAL, "signal", &pgcall_rate_limit_signals, 60,
	"pgcall.rate_limit_signals", "signals in one call", "minute", false, true},
	{PGCALL_LIMIT_SIGNAL_BYTES, "signal_bytes", &pgcall_rate_limit_signal_bytes, 60,
	"pgcall.rate_limit_signal_bytes", "bytes of signal payload in one call", "minute", true, true},
	{PGCALL_LIMIT_PRESENCE, "presence", &pgcall_rate_limit_presence, 60,
	"pgcall.rate_limit_presence", "presence subscriptions", "minute", false, false},
};

static void
raise_limited(const RateLimit *rl, TimestampTz window_start)
{
	TimestampTz retry_at = window_start + (TimestampTz) rl->window * USECS_PER_SEC;
	int64		wait = Max((retry_at - GetCurrentTransactionStartTimestamp() + USECS_PER_SEC - 1) / USECS_PER_SEC, 1);
	char		at[40];

	pgcall_format_timestamp(retry_at, at, sizeof(at));
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_RATE_LIMITED),
			 errmsg("rate limit exceeded: at most %d %s per %s, retry in " INT64_FORMAT " seconds",
					*rl->limit, rl->what, rl->per, wait),
			 errdetail("Retry after %s.", at),
			 errhint("Wait " INT64_FORMAT " seconds.  The limit is the setting %s.", wait,
					 rl->setting)));
}

/*
 * Count one request of each action in actions for user_id, in one
 * statement; raise P429A when one of them is over its limit.
 */
void
pgcall_rate_limit(const char *user_id, int actions)
{
	pgcall_rate_limit_amount(user_id, actions, NULL, 1);
}

/*
 * The same, where weighted limits count amount (at least 1) and per-call
 * limits count in the call call_id.
 */
void
pgcall_rate_limit_amount(const char *user_id, int actions, const char *call_id, int32 amount)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[5] = {TEXTOID, TEXTARRAYOID, INT4ARRAYOID, TEXTARRAYOID, INT4ARRAYOID};
	Datum		names[lengthof(limits)];
	Datum		windows[lengthof(limits)];
	Datum		scopes[lengthof(limits)];
	Datum		amounts[lengthof(limits)];
	Datum		values[5];
	int			n = 0;
	uint64		rows;
	const RateLimit *exceeded = NULL;
	TimestampTz exceeded_start = 0;

	for (int i = 0; i < lengthof(limits); i++)
		if ((actions & limits[i].action) && *limits[i].limit > 0)
		{
			if (limits[i].per_call && call_id == NULL)
				elog(ERROR, "rate limit %s needs a call", limits[i].name);
			names[n] = CStringGetTextDatum(limits[i].name);
			windows[n] = Int32GetDatum(limits[i].window);
			scopes[n] = CStringGetTextDatum(limits[i].per_call ? call_id : "");
			amounts[n] = Int32GetDatum(limits[i].weighted ? Max(amount, 1) : 1);
			n++;
		}
	if (n == 0)
		return;

	values[0] = CStringGetTextDatum(user_id);
	values[1] = PointerGetDatum(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(windows, n, INT4OID, 4, true, TYPALIGN_INT));
	values[3] = PointerGetDatum(construct_array(scopes, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[4] = PointerGetDatum(construct_array(amounts, n, INT4OID, 4, true, TYPALIGN_INT));
	rows = pgcall_exec(pgcall_plan(&plan,
								   "INSERT INTO pgcall.rate_limit AS r (user_id, action, scope, window_seconds, window_start, hits) "
								   "SELECT $1, a.action, a.scope, a.secs, pg_catalog.now(), a.amount "
								   "FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), "
								   "  pg_catalog.unnest($5)) WITH ORDINALITY AS a(action, secs, scope, amount, i) "
								   "ORDER BY a.i "
								   "ON CONFLICT (user_id, action, scope) DO UPDATE SET "
								   "window_seconds = EXCLUDED.window_seconds, "
								   "window_start = CASE WHEN r.window_start <= pg_catalog.now() "
								   "  - pg_catalog.make_interval(secs => EXCLUDED.window_seconds) "
								   "  THEN pg_catalog.now() ELSE r.window_start END, "
								   "hits = CASE WHEN r.window_start <= pg_catalog.now() "
								   "  - pg_catalog.make_interval(secs => EXCLUDED.window_seconds) "
								   "  THEN EXCLUDED.hits ELSE r.hits + EXCLUDED.hits END "
								   "RETURNING action, hits, window_start",
								   5, types), values, NULL, false, 0);

	/* Of the limits passed, report the first in the table's order. */
	for (uint64 r = 0; r < rows; r++)
	{
		char	   *action = pgcall_getstr(r, 1);
		bool		isnull;
		int32		hits = DatumGetInt32(pgcall_getdatum(r, 2, &isnull));
		TimestampTz start = DatumGetTimestampTz(pgcall_getdatum(r, 3, &isnull));

		for (int i = 0; i < lengthof(limits); i++)
			if (strcmp(limits[i].name, action) == 0 && hits > *limits[i].limit &&
				(exceeded == NULL || &limits[i] < exceeded))
			{
				exceeded = &limits[i];
				exceeded_start = start;
			}
	}
	if (exceeded)
		raise_limited(exceeded, exceeded_start);
}

/* Probe counts of the users this backend acted for lately, not transactional. */
#define PROBE_SLOTS 32

typedef struct ProbeCount
{
	char		user_id[PGCALL_USER_ID_MAX + 1];
	int			action;
	TimestampTz window_start;	/* 0: slot unused */
	int64		hits;			/* rolled back, and pending */
	int64		pending;		/* counted by the current transaction */
} ProbeCount;

static ProbeCount probe_counts[PROBE_SLOTS];
static bool probe_callback_registered = false;

/* At commit, the transactional count stands for the pending looks. */
static void
probe_xact_callback(XactEvent event, void *arg)
{
	bool		committed = event == XACT_EVENT_COMMIT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PREPARE;

	if (!committed && event != XACT_EVENT_ABORT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	for (int i = 0; i < PROBE_SLOTS; i++)
	{
		if (committed)
			probe_counts[i].hits -= probe_counts[i].pending;
		probe_counts[i].pending = 0;
	}
}

/*
 * Count amount of action (a weighted limit counts amount, another one) for
 * user_id in this backend, whatever becomes of the transaction; raise P429A
 * past the limit.  The least recently opened window gives its slot up to a
 * new user.
 */
void
pgcall_rate_limit_probe(const char *user_id, int action, int32 amount)
{
	const RateLimit *rl = NULL;
	ProbeCount *slot = NULL;
	ProbeCount *oldest = &probe_counts[0];
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	for (int i = 0; i < lengthof(limits) && rl == NULL; i++)
		if (limits[i].action == action)
			rl = &limits[i];
	if (rl == NULL || rl->per_call)
		elog(ERROR, "no probe limit for action %d", action);
	if (*rl->limit <= 0)
		return;
	if (!rl->weighted)
		amount = 1;
	if (!probe_callback_registered)
	{
		RegisterXactCallback(probe_xact_callback, NULL);
		probe_callback_registered = true;
	}

	for (int i = 0; i < PROBE_SLOTS && slot == NULL; i++)
	{
		ProbeCount *p = &probe_counts[i];

		if (p->window_start != 0 && p->action == action && strcmp(p->user_id, user_id) == 0)
			slot = p;
		else if (p->window_start < oldest->window_start)
			oldest = p;
	}
	if (slot == NULL)
	{
		slot = oldest;
		strlcpy(slot->user_id, user_id, sizeof(slot->user_id));
		slot->action = action;
		slot->window_start = 0;
		slot->pending = 0;
	}
	if (slot->window_start <= now - (TimestampTz) rl->window * USECS_PER_SEC)
	{
		slot->window_start = now;
		slot->hits = 0;
		slot->pending = 0;
	}
	if (slot->hits + amount > *rl->limit)
		raise_limited(rl, slot->window_start);
	slot->hits += amount;
	slot->pending += amount;
}

/* PGCALL_LIMIT_TOKEN when the call_* functions will hand out a token. */
int
pgcall_token_limit_if_configured(void)
{
	return pgcall_agora_is_configured() ? PGCALL_LIMIT_TOKEN : 0;
}
