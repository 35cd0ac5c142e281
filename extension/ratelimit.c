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
 * one pgcall_rate_limit call, before they lock any call, and the actions
 * are counted in the fixed order of the table below; so two requests never
 * wait for each other's rows in opposite orders.
 *
 * Callers have an SPI connection open.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
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
} RateLimit;

/* Every window is at most RATE_WINDOW_MAX seconds; purge relies on it. */
static const RateLimit limits[] = {
	{PGCALL_LIMIT_CALL, "call", &pgcall_rate_limit_calls, 3600,
	"pgcall.rate_limit_calls", "calls created", "hour"},
	{PGCALL_LIMIT_JOIN, "join", &pgcall_rate_limit_joins, 60,
	"pgcall.rate_limit_joins", "joins", "minute"},
	{PGCALL_LIMIT_TOKEN, "token", &pgcall_rate_limit_tokens, 60,
	"pgcall.rate_limit_tokens", "token requests", "minute"},
	{PGCALL_LIMIT_ANALYTICS, "analytics", &pgcall_rate_limit_analytics, 60,
	"pgcall.rate_limit_analytics", "analytics reports", "minute"},
};

static void
count_request(const RateLimit *rl, const char *user_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		values[3];
	bool		isnull;
	int32		hits;
	TimestampTz window_start;
	TimestampTz retry_at;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	int64		wait;
	char		at[40];

	values[0] = CStringGetTextDatum(user_id);
	values[1] = CStringGetTextDatum(rl->name);
	values[2] = Int32GetDatum(rl->window);
	pgcall_exec(pgcall_plan(&plan,
							"INSERT INTO pgcall.rate_limit AS r (user_id, action, window_start, hits) "
							"VALUES ($1, $2, pg_catalog.now(), 1) "
							"ON CONFLICT (user_id, action) DO UPDATE SET "
							"window_start = CASE WHEN r.window_start <= pg_catalog.now() - pg_catalog.make_interval(secs => $3) "
							"  THEN pg_catalog.now() ELSE r.window_start END, "
							"hits = CASE WHEN r.window_start <= pg_catalog.now() - pg_catalog.make_interval(secs => $3) "
							"  THEN 1 ELSE r.hits + 1 END "
							"RETURNING hits, window_start",
							3, types), values, NULL, false, 0);
	hits = DatumGetInt32(pgcall_getdatum(0, 1, &isnull));
	window_start = DatumGetTimestampTz(pgcall_getdatum(0, 2, &isnull));
	if (hits <= *rl->limit)
		return;

	retry_at = window_start + (TimestampTz) rl->window * USECS_PER_SEC;
	wait = Max((retry_at - now + USECS_PER_SEC - 1) / USECS_PER_SEC, 1);
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
 * Count one request of each action in actions for user_id; raise P429A
 * when one of them is over its limit.
 */
void
pgcall_rate_limit(const char *user_id, int actions)
{
	for (int i = 0; i < lengthof(limits); i++)
		if ((actions & limits[i].action) && *limits[i].limit > 0)
			count_request(&limits[i], user_id);
}

/* PGCALL_LIMIT_TOKEN when the call_* functions will hand out a token. */
int
pgcall_token_limit_if_configured(void)
{
	return pgcall_agora_configured() ? PGCALL_LIMIT_TOKEN : 0;
}
