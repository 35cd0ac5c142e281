/*
 * presence.c: presence as events.
 *
 * Who may see whose presence is pgcall.presence_visible(viewer, subject), a
 * SQL function the extension owner may replace.  A user follows others with
 * pgcall.presence_subscribe(user_ids): a snapshot, then presence.changed
 * events.  Whatever may change a user's presence (a bridge reporting their
 * sockets, joining or leaving a call, being rung or no longer) calls
 * presence_touch; at commit events.c turns the touches of the transaction
 * into events with pgcall.presence_fanout(), one indexed query over the
 * subscriptions, the policy judging each subscriber.
 *
 * The race between a subscription and a change is closed by a table lock:
 * a commit with presence touches takes ROW EXCLUSIVE on
 * pgcall.presence_subscription before it looks for followers (commits do
 * not wait for each other), presence_subscribe SHARE ROW EXCLUSIVE before
 * it reads its snapshot.  Either the change committed first (the snapshot
 * shows it and version covers its id) or the subscription did (the commit
 * sees it and the event reaches the subscriber).  A commit whose touched
 * users nobody follows writes nothing and takes no event lock; the others
 * compute their events under the event lock, so that the last event about
 * a user read every change committed before it.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#include "calls.h"
#include "pgcall.h"

#define PRESENCE_MAX_USERS 1000

PG_FUNCTION_INFO_V1(pgcall_presence_unfiltered);

/* presence_unfiltered(): backends and administrators see everyone. */
Datum
pgcall_presence_unfiltered(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(pgcall_caller_is_backend() || pgcall_caller_is_admin());
}

PG_FUNCTION_INFO_V1(pgcall_presence_subscribe_check);

/*
 * presence_subscribe_check(user_ids text[]): P400Y or P400I for bad
 * user_ids; P429A past pgcall.rate_limit_presence (each subscription takes
 * the event lock, which every event-writing commit waits for).
 */
Datum
pgcall_presence_subscribe_check(PG_FUNCTION_ARGS)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_USER_IDS),
				 errmsg("user_ids must not be null"),
				 errhint("Pass an array of user ids; an empty array follows nobody.")));
	arr = PG_GETARG_ARRAYTYPE_P(0);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_USER_IDS),
				 errmsg("user_ids must be a one-dimensional array")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n > PRESENCE_MAX_USERS)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_USER_IDS),
				 errmsg("user_ids names %d users, more than %d", n, PRESENCE_MAX_USERS),
				 errhint("Follow fewer people at once.")));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_INVALID_USER_ID),
					 errmsg("user_ids must not contain null"),
					 errdetail("Element %d is null.", i + 1)));
		pgcall_check_user_id(TextDatumGetCString(elems[i]), "an element of user_ids");
	}
	SPI_connect();
	pgcall_rate_limit(pgcall_require_user(), PGCALL_LIMIT_PRESENCE);
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgcall_presence_touch);

/* presence_touch(subject text, call_id uuid, state boolean) */
Datum
pgcall_presence_touch(PG_FUNCTION_ARGS)
{
	const char *call_id = NULL;

	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	if (!PG_ARGISNULL(1))
		call_id = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(1)));
	pgcall_presence_changed(text_to_cstring(PG_GETARG_TEXT_PP(0)), call_id,
						  PG_ARGISNULL(2) || PG_GETARG_BOOL(2));
	PG_RETURN_VOID();
}
