/*
 * disconnect.c: participants whose last socket went away.
 *
 * A joined participant whose sockets all closed (their last one on the
 * last live bridge, or their bridge fell silent or shut down) may be back
 * in a moment: a page reload, a network change.  The bridge functions
 * (bridge_presence, bridge_heartbeat, bridge_unregister) call
 * participant_connection() whenever a user's presence on a bridge comes or
 * goes: offline, their joined participations in live calls are recorded in
 * pgcall.participant_disconnect; online again, the records go.  The rules
 * with time in them run in participant_disconnect_sweep(), which the
 * bridge calls every second like call_expire():
 *
 *   - away pgcall.disconnect_grace: the others get participant.disconnected
 *     (once; a user back within the grace produces no event);
 *   - back after that: the others get participant.reconnected;
 *   - away pgcall.disconnect_leave_after (0: never): the participant leaves
 *     with reason disconnected, and the call settles as after call_leave
 *     (a direct call ends; a caller away while it still rings cancels it).
 *
 * Online and offline are what pgcall.presence_state() says (ONLINE below),
 * read again by each step, so a record that a race between two bridges left behind (a
 * user gone from one while arriving on another) is dropped by the next
 * sweep instead of acted on.  A participant who joined again after going
 * away (over HTTP, with no socket) starts afresh: the record is dropped.
 * Only users who had a socket are ever recorded, so a backend that joins
 * its users over HTTP alone never sees them leave.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "calls.h"
#include "pgcall.h"

/*
 * Whether the user (an SQL expression) has a socket on a live bridge: what
 * pgcall.presence_state() says of online, written out so that the plans
 * here keep it (a call of the SQL function would be planned again on every
 * use, which made a presence update several times slower).
 */
#define ONLINE(user) \
	"EXISTS (SELECT 1 FROM pgcall.presence pr JOIN pgcall.bridge b ON b.id = pr.bridge_id " \
	"WHERE pr.user_id = " user " AND b.last_seen > pgcall.presence_cutoff())"

static bool
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/*
 * Who hears that user_id went away or came back: everyone else in the call
 * or being rung.  NIL when the call ended or user_id is not in it.
 */
static List *
others(const char *call_id, const char *user_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(call_id)};
	List	   *users = NIL;
	bool		joined = false;
	uint64		n;

	n = pgcall_exec(pgcall_plan(&plan,
								"SELECT p.user_id, p.status FROM pgcall.call c "
								"JOIN pgcall.participant p ON p.call_id = c.id "
								"WHERE c.id = $1::uuid AND c.status <> 'ended' "
								"AND p.status IN ('invited', 'ringing', 'joined') "
								"FOR SHARE OF c",	/* as call_signal: see call_media.c */
								1, types),
					values, NULL, false, 0);
	for (uint64 i = 0; i < n; i++)
	{
		char	   *u = pgcall_getstr(i, 1);

		if (streq(u, user_id))
			joined = streq(pgcall_getstr(i, 2), "joined");
		else
			users = lappend(users, u);
	}
	return joined ? users : NIL;
}

/* Queue participant.disconnected or participant.reconnected. */
static void
announce(const char *type, const char *call_id, const char *user_id, const char *since)
{
	List	   *audience = others(call_id, user_id);
	StringInfoData data;

	if (audience == NIL)
		return;
	initStringInfo(&data);
	appendStringInfoChar(&data, '{');
	pgcall_json_member(&data, "user_id", user_id);
	pgcall_json_member(&data, "since", since);
	appendStringInfoChar(&data, '}');
	pgcall_event_queue(type, call_id, audience, data.data, PGCALL_EVENT_CALL, user_id);
}

/* "since" of a record as ISO 8601 UTC, from column col of row. */
static char *
since_text(uint64 row, int col)
{
	bool		isnull;
	Datum		d = pgcall_getdatum(row, col, &isnull);
	char	   *buf = palloc(32);

	pgcall_format_timestamp(DatumGetTimestampTz(d), buf, 32);
	return buf;
}

PG_FUNCTION_INFO_V1(pgcall_participant_connection);

/* participant_connection(user_id text): see the top of the file. */
Datum
pgcall_participant_connection(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr online_plan = NULL;
	static SPIPlanPtr away_plan = NULL;
	static SPIPlanPtr back_plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1] = {PG_GETARG_DATUM(0)};
	char	   *user_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		isnull;
	uint64		n;

	SPI_connect();
	pgcall_exec(pgcall_plan(&online_plan,
							"SELECT " ONLINE("$1"), 1, types),
				values, NULL, false, 1);
	if (!DatumGetBool(pgcall_getdatum(0, 1, &isnull)))
		pgcall_exec(pgcall_plan(&away_plan,
								"INSERT INTO pgcall.participant_disconnect (call_id, user_id, joined_at) "
								"SELECT p.call_id, p.user_id, p.current_join FROM pgcall.participant p "
								"JOIN pgcall.call c ON c.id = p.call_id "
								"WHERE p.user_id = $1 AND p.status = 'joined' AND c.status <> 'ended' "
								"ON CONFLICT DO NOTHING",
								1, types),
					values, NULL, false, 0);
	else
	{
		n = pgcall_exec(pgcall_plan(&back_plan,
									"DELETE FROM pgcall.participant_disconnect d WHERE d.user_id = $1 "
									"RETURNING d.call_id::text, d.since, d.announced",
									1, types),
						values, NULL, false, 0);
		for (uint64 i = 0; i < n; i++)
			if (DatumGetBool(pgcall_getdatum(i, 3, &isnull)))
				announce("participant.reconnected", pgcall_getstr(i, 1), user_id,
						 since_text(i, 2));
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * Make the participants of one call (locked by the caller) who stayed away
 * past pgcall.disconnect_leave_after leave it.  Returns how many did.
 */
static int
leave_call(Call *c)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {TEXTOID, INT4OID};
	Datum		values[2] = {CStringGetTextDatum(c->id), Int32GetDatum(pgcall_disconnect_leave_after)};
	uint64		n;
	char	  **users;

	pgcall_expire_overdue(c);
	if (c->status == CALL_ENDED)
		return 0;
	n = pgcall_exec(pgcall_plan(&plan,
								"DELETE FROM pgcall.participant_disconnect d USING pgcall.participant p "
								"WHERE d.call_id = $1::uuid "
								"AND d.since <= pg_catalog.now() - pg_catalog.make_interval(secs => $2) "
								"AND p.call_id = d.call_id AND p.user_id = d.user_id "
								"AND p.status = 'joined' AND p.current_join = d.joined_at "
								"AND NOT " ONLINE("d.user_id") " "
								"RETURNING d.user_id",
								2, types),
					values, NULL, false, 0);
	users = palloc(sizeof(char *) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
		users[i] = pgcall_getstr(i, 1);
	for (uint64 i = 0; i < n && c->status != CALL_ENDED; i++)
	{
		/* as call_leave: the caller hanging up while it rings cancels it */
		if (c->status == CALL_RINGING && streq(c->created_by, users[i]))
			pgcall_end_for_everyone(c, END_CANCELLED, users[i]);
		else
		{
			pgcall_set_part_status(c->id, users[i], PART_LEFT, "disconnected");
			pgcall_settle(c, users[i]);
		}
	}
	return (int) n;
}

PG_FUNCTION_INFO_V1(pgcall_participant_disconnect_sweep);

/* participant_disconnect_sweep(): see the top of the file. */
Datum
pgcall_participant_disconnect_sweep(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr stale_plan = NULL;
	static SPIPlanPtr announce_plan = NULL;
	static SPIPlanPtr calls_plan = NULL;
	static const Oid types[1] = {INT4OID};
	Datum		values[1];
	bool		isnull;
	int			acted = 0;
	uint64		n;
	char	  **call_ids;

	SPI_connect();

	/*
	 * Back online, no longer in the call (left, removed, ended, or joined
	 * again since): drop the record, telling the others of a return they
	 * were told the absence of.
	 */
	n = pgcall_exec(pgcall_plan(&stale_plan,
								"DELETE FROM pgcall.participant_disconnect d "
								"USING pgcall.participant p, pgcall.call c "
								"WHERE p.call_id = d.call_id AND p.user_id = d.user_id AND c.id = d.call_id "
								"AND (c.status = 'ended' OR p.status <> 'joined' "
								"     OR p.current_join IS DISTINCT FROM d.joined_at "
								"     OR " ONLINE("d.user_id") ") "
								"RETURNING d.call_id::text, d.user_id, d.since, d.announced "
								"AND c.status <> 'ended' AND p.status = 'joined' AND p.current_join = d.joined_at",
								0, NULL),
					NULL, NULL, false, 0);
	for (uint64 i = 0; i < n; i++)
		if (DatumGetBool(pgcall_getdatum(i, 4, &isnull)))
		{
			announce("participant.reconnected", pgcall_getstr(i, 1), pgcall_getstr(i, 2),
					 since_text(i, 3));
			acted++;
		}

	/* Away for the grace period: tell the others, once. */
	values[0] = Int32GetDatum(pgcall_disconnect_grace);
	n = pgcall_exec(pgcall_plan(&announce_plan,
								"UPDATE pgcall.participant_disconnect d SET announced = true "
								"FROM pgcall.participant p, pgcall.call c "
								"WHERE NOT d.announced "
								"AND d.since <= pg_catalog.now() - pg_catalog.make_interval(secs => $1) "
								"AND p.call_id = d.call_id AND p.user_id = d.user_id AND p.status = 'joined' "
								"AND p.current_join = d.joined_at AND c.id = d.call_id AND c.status <> 'ended' "
								"AND NOT " ONLINE("d.user_id") " "
								"RETURNING d.call_id::text, d.user_id, d.since",
								1, types),
					values, NULL, false, 0);
	for (uint64 i = 0; i < n; i++)
	{
		announce("participant.disconnected", pgcall_getstr(i, 1), pgcall_getstr(i, 2),
				 since_text(i, 3));
		acted++;
	}

	/*
	 * Away for leave_after: leave, call by call under the call's lock.
	 * Calls another session holds are skipped, as call_expire() skips them:
	 * the next sweep gets them.
	 */
	if (pgcall_disconnect_leave_after > 0)
	{
		values[0] = Int32GetDatum(pgcall_disconnect_leave_after);
		n = pgcall_exec(pgcall_plan(&calls_plan,
									"SELECT c.id::text FROM pgcall.call c "
									"WHERE c.id IN (SELECT d.call_id FROM pgcall.participant_disconnect d "
									"  WHERE d.since <= pg_catalog.now() - pg_catalog.make_interval(secs => $1)) "
									"AND c.status <> 'ended' "
									"ORDER BY c.created_at LIMIT 1000 FOR UPDATE OF c SKIP LOCKED",
									1, types),
						values, NULL, false, 0);
		call_ids = palloc(sizeof(char *) * Max(n, 1));
		for (uint64 i = 0; i < n; i++)
			call_ids[i] = pgcall_getstr(i, 1);
		for (uint64 i = 0; i < n; i++)
		{
			Call		c;

			/* locked above: this reads the row, waiting for nobody */
			if (pgcall_lock_call(call_ids[i], &c))
				acted += leave_call(&c);
		}
	}
	SPI_finish();
	PG_RETURN_INT32(acted);
}
