/*
 * analytics.c: what calls used (participants, peak concurrency, joined
 * time) and the administrators' reports on it.
 *
 * Usage is computed from pgcall.participant_session, exactly, by one SQL
 * function, pgcall.session_usage, for any calls over any periods: the peak
 * is the largest number of join stretches that overlap at one instant
 * (half-open intervals, so one person leaving as another joins is not an
 * overlap), found by the aggregate pgcall.peak_concurrency below.  When a call ends,
 * the call_before trigger stores its usage in the call row
 * (pgcall_call_usage), so reports over many calls read one row per call
 * and go to the sessions only for calls that are live or cross a period
 * boundary.  The reports themselves are SQL functions
 * (pgcall.analytics_report, pgcall.call_details_report); the functions
 * here check who calls them and what they ask for, then run them.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/timestamp.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#include "calls.h"
#include "pgcall.h"

#define ANALYTICS_DAYS_MAX 3660

/*
 * Usage of the call from its sessions, open ones counted until now: what
 * pgcall.session_usage gives for the whole call, by one kept plan, since it
 * runs at the end of every call.
 */
CallUsage
pgcall_call_usage(const char *call_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(call_id)};
	CallUsage	usage;
	bool		isnull;

	SPI_connect();
	pgcall_exec(pgcall_plan(&plan,
							"SELECT count(DISTINCT user_id)::integer, "
							"pgcall.peak_concurrency(joined_at, COALESCE(left_at, GREATEST(joined_at, pg_catalog.now()))), "
							"COALESCE(sum(EXTRACT(epoch FROM COALESCE(left_at, GREATEST(joined_at, pg_catalog.now())) - joined_at)), 0)::double precision "
							"FROM pgcall.participant_session WHERE call_id = $1::uuid",
							1, types), values, NULL, false, 1);
	usage.participants = DatumGetInt32(pgcall_getdatum(0, 1, &isnull));
	usage.peak = DatumGetInt32(pgcall_getdatum(0, 2, &isnull));
	usage.seconds = DatumGetFloat8(pgcall_getdatum(0, 3, &isnull));
	SPI_finish();
	return usage;
}

/* Run a report query with one result column; NULL stays NULL. */
static Datum
run_report(SPIPlanPtr plan, Datum *values, bool *isnull)
{
	Datum		d;

	pgcall_exec(plan, values, NULL, true, 1);
	d = pgcall_getdatum(0, 1, isnull);
	if (!*isnull)
		d = SPI_datumTransfer(d, false, -1);
	SPI_finish();
	return d;
}

PG_FUNCTION_INFO_V1(pgcall_admin_call_details);

/*
 * admin_call_details(call_id uuid): a call, its participants with their
 * join and leave times and joined time, and its usage.
 */
Datum
pgcall_admin_call_details(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {UUIDOID};
	Datum		values[1];
	Datum		result;
	bool		isnull;

	pgcall_require_admin();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("call_id is required")));
	values[0] = PG_GETARG_DATUM(0);
	SPI_connect();
	result = run_report(pgcall_plan(&plan, "SELECT pgcall.call_details_report($1)", 1, types),
						values, &isnull);
	if (isnull)
		pgcall_raise_call_not_found(psprintf("the id %s",
											 DatumGetCString(DirectFunctionCall1(uuid_out, values[0]))));
	PG_RETURN_DATUM(result);
}

/* The key an administrator's analytics requests are counted under. */
static const char *
admin_key(void)
{
	const char *user_id = pgcall_current_user();

	if (user_id != NULL)
		return user_id;
	return psprintf("role:%s", GetUserNameFromId(GetOuterUserId(), false));
}

PG_FUNCTION_INFO_V1(pgcall_admin_analytics);

/*
 * admin_analytics(days integer, group_by text, time_zone text): calls,
 * participants, average duration, audio and video minutes and peak
 * participants over the last days days (today included) in time_zone, one
 * row per day, week or month, and a summary.  See analytics_report in the
 * install script for what each figure counts.
 */
Datum
pgcall_admin_analytics(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[3] = {INT4OID, TEXTOID, TEXTOID};
	int32		days = PG_ARGISNULL(0) ? 30 : PG_GETARG_INT32(0);
	char	   *group_by = PG_ARGISNULL(1) ? "day" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *time_zone = PG_ARGISNULL(2) ? "UTC" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	const char *unit = NULL;
	Datum		values[3];
	Datum		result;
	bool		isnull;

	pgcall_require_admin();
	if (days < 1 || days > ANALYTICS_DAYS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_PERIOD),
				 errmsg("days must be between 1 and %d", ANALYTICS_DAYS_MAX),
				 errdetail("The value given is %d.", days)));
	if (pg_strcasecmp(group_by, "day") == 0)
		unit = "day";
	else if (pg_strcasecmp(group_by, "week") == 0)
		unit = "week";
	else if (pg_strcasecmp(group_by, "month") == 0)
		unit = "month";
	else
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_PERIOD),
				 errmsg("group_by \"%s\" is not day, week or month", group_by)));
	if (strlen(time_zone) > 64 || pg_tzset(time_zone) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_PERIOD),
				 errmsg("time zone \"%s\" is not recognized", time_zone),
				 errhint("Use a name from pg_timezone_names, such as UTC or Europe/Berlin.")));

	SPI_connect();
	pgcall_rate_limit(admin_key(), PGCALL_LIMIT_ANALYTICS);
	values[0] = Int32GetDatum(days);
	values[1] = CStringGetTextDatum(unit);
	values[2] = CStringGetTextDatum(time_zone);
	result = run_report(pgcall_plan(&plan, "SELECT pgcall.analytics_report($1, $2, $3)", 3, types),
						values, &isnull);
	if (isnull)
		elog(ERROR, "analytics_report returned null");
	PG_RETURN_DATUM(result);
}

/*
 * peak_concurrency(starts_at timestamptz, ends_at timestamptz): the
 * aggregate behind every peak pgcall reports: the most intervals
 * [starts_at, ends_at) that overlap at one instant.  Half-open: an interval
 * ending when another starts does not overlap it, and an empty one never
 * counts.  Rows with a NULL bound are ignored.
 *
 * The state collects the bounds in the aggregate's memory context; the
 * final function sorts starts and ends and sweeps them, ends first at equal
 * times.
 */
typedef struct PeakState
{
	int			n;
	int			cap;
	TimestampTz *starts;
	TimestampTz *ends;
} PeakState;

PG_FUNCTION_INFO_V1(pgcall_peak_concurrency_step);

Datum
pgcall_peak_concurrency_step(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	PeakState  *state = PG_ARGISNULL(0) ? NULL : (PeakState *) PG_GETARG_POINTER(0);
	TimestampTz a,
				z;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "peak_concurrency_step called in non-aggregate context");
	if (state == NULL)
	{
		state = MemoryContextAllocZero(aggcontext, sizeof(PeakState));
		state->cap = 16;
		state->starts = MemoryContextAlloc(aggcontext, sizeof(TimestampTz) * state->cap);
		state->ends = MemoryContextAlloc(aggcontext, sizeof(TimestampTz) * state->cap);
	}
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(state);
	a = PG_GETARG_TIMESTAMPTZ(1);
	z = PG_GETARG_TIMESTAMPTZ(2);
	if (a >= z)
		PG_RETURN_POINTER(state);
	if (state->n == state->cap)
	{
		state->cap *= 2;
		state->starts = repalloc(state->starts, sizeof(TimestampTz) * state->cap);
		state->ends = repalloc(state->ends, sizeof(TimestampTz) * state->cap);
	}
	state->starts[state->n] = a;
	state->ends[state->n] = z;
	state->n++;
	PG_RETURN_POINTER(state);
}

static int
compare_timestamps(const void *a, const void *b)
{
	TimestampTz x = *(const TimestampTz *) a;
	TimestampTz y = *(const TimestampTz *) b;

	return (x > y) - (x < y);
}

PG_FUNCTION_INFO_V1(pgcall_peak_concurrency_final);

Datum
pgcall_peak_concurrency_final(PG_FUNCTION_ARGS)
{
	PeakState  *state = PG_ARGISNULL(0) ? NULL : (PeakState *) PG_GETARG_POINTER(0);
	int			level = 0;
	int			peak = 0;
	int			j = 0;

	if (state == NULL)
		PG_RETURN_INT32(0);
	/* The final function may run more than once: sorting again is harmless. */
	qsort(state->starts, state->n, sizeof(TimestampTz), compare_timestamps);
	qsort(state->ends, state->n, sizeof(TimestampTz), compare_timestamps);
	for (int i = 0; i < state->n; i++)
	{
		while (state->ends[j] <= state->starts[i])
		{
			level--;
			j++;
		}
		level++;
		peak = Max(peak, level);
	}
	PG_RETURN_INT32(peak);
}
