/*
 * call_triggers.c: the triggers on pgcall.call and pgcall.participant.
 *
 * The BEFORE triggers own the state machines and the clocks: they refuse a
 * status change the state machine does not allow (P409B, P409C), stamp
 * answered_at, ended_at, joined_at, left_at, and keep durations (answered
 * time only: a call from answer to end, a participant summed over every
 * stretch it was joined) and, when a call ends, what it used for analytics
 * (analytics.c).  The AFTER triggers keep participant_session in step and
 * queue the events (events.c) for exactly the users concerned.
 * Whoever changes these tables, a pgcall function or a superuser by hand,
 * gets the same rules.
 *
 * Times are the transaction's start (now()), so one transaction is one
 * instant, but never earlier than the stamp they follow: a transaction that
 * began before another committed (it waited for the row lock) must not end
 * a call before it was answered or a stay before it began.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "rewrite/prs2lock.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/uuid.h"
#include "utils/json.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "pgcall.h"
#include "rowread.h"

/* Column of a trigger tuple as text, NULL when null. */
static char *
col_text(HeapTuple tup, TupleDesc desc, const char *name)
{
	return SPI_getvalue(tup, desc, SPI_fnumber(desc, name));
}

static Datum
col_datum(HeapTuple tup, TupleDesc desc, const char *name, bool *isnull)
{
	return SPI_getbinval(tup, desc, SPI_fnumber(desc, name), isnull);
}

static bool
col_bool(HeapTuple tup, TupleDesc desc, const char *name)
{
	bool		isnull;
	Datum		d = col_datum(tup, desc, name, &isnull);

	return !isnull && DatumGetBool(d);
}

/* now, or the earlier stamp col of tup if that is later. */
static TimestampTz
not_before(TimestampTz now, HeapTuple tup, TupleDesc desc, const char *col)
{
	bool		isnull;
	Datum		d = col_datum(tup, desc, col, &isnull);

	if (!isnull && DatumGetTimestampTz(d) > now)
		return DatumGetTimestampTz(d);
	return now;
}

static bool
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Changes to apply to the new tuple of a BEFORE trigger. */
typedef struct TupleEdit
{
	int			n;
	int			cols[8];
	Datum		values[8];
	bool		nulls[8];
} TupleEdit;

static void
edit_set(TupleEdit *e, TupleDesc desc, const char *name, Datum value, bool isnull)
{
	Assert(e->n < lengthof(e->cols));
	e->cols[e->n] = SPI_fnumber(desc, name);
	e->values[e->n] = value;
	e->nulls[e->n] = isnull;
	e->n++;
}

static HeapTuple
edit_apply(TupleEdit *e, HeapTuple tup, TupleDesc desc)
{
	if (e->n == 0)
		return tup;
	return heap_modify_tuple_by_cols(tup, desc, e->n, e->cols, e->values, e->nulls);
}

static void
check_trigger(FunctionCallInfo fcinfo, const char *name)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		elog(ERROR, "%s: must be called as a row trigger", name);
}

/*
 * The row a BEFORE trigger may edit, and the status before (NULL on
 * INSERT) and after the change.
 */
static HeapTuple
status_change(FunctionCallInfo fcinfo, const char *name, TupleDesc *desc,
			  char **old_status, char **new_status)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	newtup;

	check_trigger(fcinfo, name);
	*desc = td->tg_relation->rd_att;
	newtup = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	*new_status = col_text(newtup, *desc, "status");
	*old_status = TRIGGER_FIRED_BY_UPDATE(td->tg_event)
		? col_text(td->tg_trigtuple, *desc, "status") : NULL;
	return newtup;
}

/* BEFORE INSERT OR UPDATE ON pgcall.call */
static Datum
call_before(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	char	   *old_status;
	char	   *new_status;
	HeapTuple	newtup = status_change(fcinfo, "call_before", &desc, &old_status, &new_status);
	TupleEdit	edit = {0};
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	bool		answered_null;
	Datum		answered;

	if (old_status && !pgcall_transition_ok("call", old_status, new_status))
	{
		if (streq(old_status, "ended"))
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_CALL_ENDED),
					 errmsg("call has already ended"),
					 errdetail("Its status cannot change from ended to %s.", new_status)));
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TRANSITION),
				 errmsg("cannot change call status from %s to %s", old_status, new_status)));
	}

	answered = col_datum(newtup, desc, "answered_at", &answered_null);
	if (streq(new_status, "active") && !streq(old_status, "active") && answered_null)
	{
		TimestampTz at = not_before(now, newtup, desc, "created_at");

		edit_set(&edit, desc, "answered_at", TimestampTzGetDatum(at), false);
		answered = TimestampTzGetDatum(at);
		answered_null = false;
	}
	if (streq(new_status, "ended") && !streq(old_status, "ended"))
	{
		TimestampTz at = now;
		int32		duration = 0;

		if (!answered_null)
		{
			at = Max(now, DatumGetTimestampTz(answered));
			duration = (int32) ((at - DatumGetTimestampTz(answered)) / USECS_PER_SEC);
		}
		edit_set(&edit, desc, "ended_at", TimestampTzGetDatum(at), false);
		edit_set(&edit, desc, "duration_seconds", Int32GetDatum(duration), false);

		/* What the call used, for analytics: sessions still open end now. */
		{
			CallUsage	usage = pgcall_call_usage(col_text(newtup, desc, "id"));

			edit_set(&edit, desc, "participant_count", Int32GetDatum(usage.participants), false);
			edit_set(&edit, desc, "peak_participants", Int32GetDatum(usage.peak), false);
			edit_set(&edit, desc, "participant_seconds", Float8GetDatum(usage.seconds), false);
		}
	}
	return PointerGetDatum(edit_apply(&edit, newtup, desc));
}

/* BEFORE INSERT OR UPDATE ON pgcall.participant */
static Datum
participant_before(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	char	   *old_status;
	char	   *new_status;
	HeapTuple	newtup = status_change(fcinfo, "participant_before", &desc, &old_status, &new_status);
	TupleEdit	edit = {0};
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	bool		isnull;

	pgcall_counts_forget();

	if (old_status && !pgcall_transition_ok("participant", old_status, new_status))
	{
		if (streq(old_status, "removed"))
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_REMOVED),
					 errmsg("participant was removed from this call"),
					 errdetail("A removed participant cannot rejoin the call.")));
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TRANSITION),
				 errmsg("cannot change participant status from %s to %s", old_status, new_status),
				 errhint("See the participant state machine in docs/state-machine.md.")));
	}

	if (streq(new_status, "joined") && !streq(old_status, "joined"))
	{
		TimestampTz at = not_before(not_before(now, newtup, desc, "invited_at"),
									newtup, desc, "left_at");

		(void) col_datum(newtup, desc, "joined_at", &isnull);
		edit_set(&edit, desc, "current_join", TimestampTzGetDatum(at), false);
		if (isnull)
			edit_set(&edit, desc, "joined_at", TimestampTzGetDatum(at), false);
	}
	else if (streq(old_status, "joined") && !streq(new_status, "joined"))
	{
		TimestampTz since = DatumGetTimestampTz(col_datum(td->tg_trigtuple, desc, "current_join", &isnull));
		Interval   *total = DatumGetIntervalP(col_datum(newtup, desc, "joined_time", &isnull));
		Interval   *stretch = palloc0(sizeof(Interval));
		TimestampTz at = Max(now, since);

		stretch->time = at - since;
		edit_set(&edit, desc, "joined_time",
				 DirectFunctionCall2(interval_pl, IntervalPGetDatum(total),
									 IntervalPGetDatum(stretch)), false);
		edit_set(&edit, desc, "current_join", (Datum) 0, true);
		edit_set(&edit, desc, "left_at", TimestampTzGetDatum(at), false);
	}
	return PointerGetDatum(edit_apply(&edit, newtup, desc));
}

/*
 * Calls this transaction ended (call_after saw them become ended), so the
 * participant updates that close them (end_call: everyone joined leaves,
 * everyone rung misses it, one row each) need not each read the call to
 * find out: ended is final, the state machine (call_before) lets no status
 * follow it.  Kept for the local transaction ended_lxid; a rolled-back
 * subtransaction may have undone an end, so it forgets them all.
 */
#define ENDED_MAX 8

static char ended_calls[ENDED_MAX][UUID_LEN * 2 + 8];
static int	n_ended = 0;
static LocalTransactionId ended_lxid = InvalidLocalTransactionId;
static bool ended_callback = false;

static void
ended_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		n_ended = 0;
}

static void
remember_ended(const char *call_id)
{
	if (!ended_callback)
	{
		RegisterSubXactCallback(ended_subxact_callback, NULL);
		ended_callback = true;
	}
	if (ended_lxid != MyProc->lxid)
	{
		ended_lxid = MyProc->lxid;
		n_ended = 0;
	}
	if (n_ended < ENDED_MAX && strlen(call_id) < sizeof(ended_calls[0]))
		strlcpy(ended_calls[n_ended++], call_id, sizeof(ended_calls[0]));
}

static bool
ended_here(const char *call_id)
{
	if (ended_lxid != MyProc->lxid)
		return false;
	for (int i = 0; i < n_ended; i++)
		if (strcmp(ended_calls[i], call_id) == 0)
			return true;
	return false;
}

/* Whether a participant status is live: being rung or in the call. */
static bool
is_live(const char *status)
{
	return streq(status, "invited") || streq(status, "ringing") || streq(status, "joined");
}

/*
 * Column column of the pgcall.call row of id call_id, read through its
 * primary key in snap (rowread.c) by a caller that reads the table as its
 * owner; false when there is no such row or the column is null.
 */
static bool
call_column_by_key(const char *call_id, const char *column, Snapshot snap, Datum *value)
{
	Relation	call = table_open(pgcall_relid("call"), AccessShareLock);
	IndexKey	key = {UUIDOID, DirectFunctionCall1(uuid_in, CStringGetDatum(call_id))};
	int			att = pgcall_column(RelationGetDescr(call), column);
	IndexRow   *c;
	bool		found;

	found = pgcall_index_rows(call, RelationGetPrimaryKeyIndex(call), &key, 1, snap, 1, false, &c) == 1 &&
		!c->nulls[att];
	if (found)
		*value = c->values[att];
	table_close(call, AccessShareLock);
	return found;
}

/*
 * A call's participants read through the primary key's index (rowread.c)
 * rather than by a statement, where the current user reads pgcall.call and
 * pgcall.participant as their owner (pgcall's functions): every change to
 * a call lists who hears of it, 1,000 rows in a large conference.
 */
typedef struct AudienceScan
{
	int			att_user;
	int			att_status;
	bool		live;			/* invited, ringing or joined only; else all but removed */
	List	   *users;
	int			total;			/* every participant, and those joined */
	int			joined;
} AudienceScan;

static bool
audience_row(TupleTableSlot *slot, void *arg)
{
	AudienceScan *a = arg;
	bool		isnull;
	Datum		d = slot_getattr(slot, a->att_status + 1, &isnull);
	bool		joined = !isnull && pgcall_text_is(d, "joined");

	a->total++;
	if (joined)
		a->joined++;
	if (isnull ? !a->live :
		a->live ? joined || pgcall_text_is(d, "invited") || pgcall_text_is(d, "ringing") :
		!pgcall_text_is(d, "removed"))
	{
		d = slot_getattr(slot, a->att_user + 1, &isnull);
		a->users = lappend(a->users, TextDatumGetCString(d));
	}
	return true;
}

/*
 * The participants of call_id (live: those being rung or in it; else all
 * but the removed) into *users, and, when call_status is given, the
 * call's status into it (NULL: no such call).  False, with nothing read,
 * when the current user does not read the tables as their owner.
 */
static bool
audience_by_key(const char *call_id, bool live, List **users, char **call_status)
{
	Oid			part_relid = pgcall_relid("participant");
	Oid			call_relid = pgcall_relid("call");
	Relation	part;
	Snapshot	snap;
	IndexKey	key = {UUIDOID, (Datum) 0};
	AudienceScan a;

	if (!pgcall_owner_reads(part_relid) || (call_status && !pgcall_owner_reads(call_relid)))
		return false;
	key.type = UUIDOID;
	key.value = DirectFunctionCall1(uuid_in, CStringGetDatum(call_id));
	snap = pgcall_statement_snapshot();
	if (call_status)
	{
		Datum		status;

		*call_status = call_column_by_key(call_id, "status", snap, &status)
			? TextDatumGetCString(status) : NULL;
	}
	part = table_open(part_relid, AccessShareLock);
	a.att_user = pgcall_column(RelationGetDescr(part), "user_id");
	a.att_status = pgcall_column(RelationGetDescr(part), "status");
	a.live = live;
	a.users = NIL;
	a.total = a.joined = 0;
	if (!call_status || *call_status)
	{
		pgcall_index_visit(part, RelationGetPrimaryKeyIndex(part), &key, 1, snap, false, audience_row, &a);
		pgcall_counts_seen(call_id, a.total, a.joined);
	}
	table_close(part, AccessShareLock);
	UnregisterSnapshot(snap);
	*users = a.users;
	return true;
}

/*
 * Users who hear about a change to one participant: everyone still in the
 * call or being rung, plus the participant (for their other devices).
 * Returns NIL when the call has ended: its end event already went out and
 * the participants that closing it touched need no event of their own.
 */
static List *
participant_audience(const char *call_id, const char *subject)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1];
	List	   *users = NIL;
	uint64		n;
	char	   *call_status;

	if (ended_here(call_id))
		return NIL;
	if (audience_by_key(call_id, true, &users, &call_status))
		return call_status == NULL || streq(call_status, "ended") ? NIL :
			lappend(users, pstrdup(subject));

	values[0] = CStringGetTextDatum(call_id);
	n = pgcall_exec(pgcall_plan(&plan,
								"SELECT c.status, p.user_id, p.status FROM pgcall.call c "
								"LEFT JOIN pgcall.participant p ON p.call_id = c.id "
								"WHERE c.id = $1::uuid",
								1, types),
					values, NULL, false, 0);
	if (n == 0 || streq(pgcall_getstr(0, 1), "ended"))
		return NIL;
	for (uint64 i = 0; i < n; i++)
	{
		char	   *status = pgcall_getstr(i, 3);

		if (streq(status, "invited") || streq(status, "ringing") || streq(status, "joined"))
			users = lappend(users, pgcall_getstr(i, 2));
	}
	return lappend(users, pstrdup(subject));
}

/*
 * The call whose invitees start_call (call_start.c) is inserting, in the local
 * transaction fresh_lxid: it was created by this transaction a moment ago,
 * so its created_at is now(), the invited_at of those invitees.
 */
static char fresh_call[UUID_LEN * 2 + 8];
static LocalTransactionId fresh_lxid = InvalidLocalTransactionId;

/* start_call: call_id's invitees follow (NULL: done). */
void
pgcall_triggers_fresh_call(const char *call_id)
{
	if (call_id == NULL || strlen(call_id) >= sizeof(fresh_call))
	{
		fresh_lxid = InvalidLocalTransactionId;
		return;
	}
	strlcpy(fresh_call, call_id, sizeof(fresh_call));
	fresh_lxid = MyProc->lxid;
}

/*
 * Whether a participant joins a call that already existed before this
 * transaction (call_invite), rather than being invited as it starts.
 */
static bool
added_later(const char *call_id, HeapTuple tup, TupleDesc desc)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {TEXTOID, TIMESTAMPTZOID};
	bool		isnull;
	Datum		values[2];

	/* An invitee of the call start_call is creating: created_at = invited_at. */
	if (fresh_lxid != InvalidLocalTransactionId && fresh_lxid == MyProc->lxid &&
		strcmp(call_id, fresh_call) == 0)
		return false;

	values[1] = col_datum(tup, desc, "invited_at", &isnull);
	if (pgcall_owner_reads(pgcall_relid("call")))
	{
		Snapshot	snap = pgcall_statement_snapshot();
		Datum		created;
		bool		later;

		later = !isnull && call_column_by_key(call_id, "created_at", snap, &created) &&
			DatumGetTimestampTz(created) < DatumGetTimestampTz(values[1]);
		UnregisterSnapshot(snap);
		return later;
	}
	values[0] = CStringGetTextDatum(call_id);
	return pgcall_exec(pgcall_plan(&plan,
								   "SELECT 1 FROM pgcall.call WHERE id = $1::uuid AND created_at < $2",
								   2, types),
					   values, NULL, false, 1) == 1;
}

/*
 * Users who hear about a change to the call itself: every participant but
 * those removed from it, who were told with participant.removed and no
 * longer read the call.
 */
static List *
call_audience(const char *call_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1];
	List	   *users = NIL;
	uint64		n;

	if (audience_by_key(call_id, false, &users, NULL))
		return users;
	values[0] = CStringGetTextDatum(call_id);
	n = pgcall_exec(pgcall_plan(&plan,
								"SELECT user_id FROM pgcall.participant "
								"WHERE call_id = $1::uuid AND status <> 'removed'",
								1, types),
					values, NULL, false, 0);
	for (uint64 i = 0; i < n; i++)
		users = lappend(users, pgcall_getstr(i, 1));
	return users;
}

/*
 * Whether participant_session can be written without a statement
 * (rowread.c's writer): the current user writes it as its owner, with
 * row-level security not forced; its columns are the four pgcall made; and
 * its only triggers are the checks of its foreign key to
 * pgcall.participant, which hold for the row session_open writes.  A
 * trigger or a column added by hand sends the row through the INSERT.
 */
static bool
session_writer_applies(Relation rel)
{
	static const char *const names[4] = {"call_id", "user_id", "joined_at", "left_at"};
	static const Oid types[4] = {UUIDOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			participant = pgcall_relid("participant");
	int			n = 0;

	if (!pgcall_owner_reads(RelationGetRelid(rel)))
		return false;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		if (n == 4 || i != n || strcmp(NameStr(att->attname), names[n]) != 0 ||
			att->atttypid != types[n])
			return false;
		n++;
	}
	if (n != 4)
		return false;
	for (int i = 0; rel->trigdesc && i < rel->trigdesc->numtriggers; i++)
	{
		Trigger    *t = &rel->trigdesc->triggers[i];

		if (!t->tgisinternal || t->tgconstrrelid != participant ||
			(t->tgfoid != F_RI_FKEY_CHECK_INS && t->tgfoid != F_RI_FKEY_CHECK_UPD))
			return false;
	}
	return true;
}

/* Whether participant_session has the row (call_id, user_id, joined_at). */
static bool
session_exists(Relation rel, Datum call_id, Datum user_id, Datum joined_at)
{
	IndexKey	keys[2] = {{UUIDOID, call_id}, {TEXTOID, user_id}};
	Snapshot	snap = pgcall_statement_snapshot();
	IndexRow   *rows;
	int			n = pgcall_index_rows(rel, RelationGetPrimaryKeyIndex(rel), keys, 2, snap, 0, false,
									  &rows);
	int			att = pgcall_column(RelationGetDescr(rel), "joined_at");
	bool		found = false;

	for (int i = 0; i < n && !found; i++)
		found = DatumGetTimestampTz(rows[i].values[att]) == DatumGetTimestampTz(joined_at);
	UnregisterSnapshot(snap);
	return found;
}

/*
 * The session row written straight into participant_session, without the
 * statement and the foreign key's check an INSERT would run (about 80,000
 * instructions of a call_session): the participant row it references is
 * the one this trigger fires for, written by this transaction in this
 * statement, which no other transaction can see, let alone delete.  False
 * when the writer does not apply, or (for a participant joined again) when
 * the row exists and the INSERT's ON CONFLICT must continue it.
 */
static bool
session_write(Datum call_id, Datum user_id, Datum joined_at, bool new_row)
{
	Relation	rel = table_open(pgcall_relid("participant_session"), RowExclusiveLock);
	RowWriter	w;
	TupleTableSlot *slot;

	if (!session_writer_applies(rel) ||
		(!new_row && session_exists(rel, call_id, user_id, joined_at)) ||
		!pgcall_writer_open(&w, rel))
	{
		table_close(rel, NoLock);
		return false;
	}
	slot = w.slot;
	ExecClearTuple(slot);
	for (int i = 0; i < slot->tts_tupleDescriptor->natts; i++)
		slot->tts_isnull[i] = true;
	slot->tts_values[0] = call_id;
	slot->tts_values[1] = user_id;
	slot->tts_values[2] = joined_at;
	slot->tts_isnull[0] = slot->tts_isnull[1] = slot->tts_isnull[2] = false;
	ExecStoreVirtualTuple(slot);
	pgcall_writer_insert(&w);
	pgcall_writer_close(&w);
	table_close(rel, NoLock);
	return true;
}

/*
 * Open a join session.  Leaving and joining again at the same instant (one
 * transaction) continues the session rather than adding an empty one.  A
 * participant joined as it is inserted (a call's creator, a conference's
 * new member) has no session yet (they go with its row: ON DELETE
 * CASCADE), so its session is a plain INSERT, without the speculative
 * insertion (an index probe and one more WAL record) of ON CONFLICT.
 */
static void
session_open(const char *call_id, const char *user_id, Datum joined_at, bool new_row)
{
	static SPIPlanPtr plan = NULL;
	static SPIPlanPtr new_plan = NULL;
	static const Oid types[3] = {TEXTOID, TEXTOID, TIMESTAMPTZOID};
	Datum		values[3];

	if (session_write(DirectFunctionCall1(uuid_in, CStringGetDatum(call_id)),
					  CStringGetTextDatum(user_id), joined_at, new_row))
		return;
	values[0] = CStringGetTextDatum(call_id);
	values[1] = CStringGetTextDatum(user_id);
	values[2] = joined_at;
	if (new_row)
		pgcall_exec(pgcall_plan(&new_plan,
								"INSERT INTO pgcall.participant_session (call_id, user_id, joined_at) "
								"VALUES ($1::uuid, $2, $3)",
								3, types),
					values, NULL, false, 0);
	else
		pgcall_exec(pgcall_plan(&plan,
								"INSERT INTO pgcall.participant_session (call_id, user_id, joined_at) "
								"VALUES ($1::uuid, $2, $3) "
								"ON CONFLICT (call_id, user_id, joined_at) DO UPDATE SET left_at = NULL",
								3, types),
					values, NULL, false, 0);
}

static void
session_close(const char *call_id, const char *user_id, Datum left_at)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[3] = {TEXTOID, TEXTOID, TIMESTAMPTZOID};
	Datum		values[3];

	values[0] = CStringGetTextDatum(call_id);
	values[1] = CStringGetTextDatum(user_id);
	values[2] = left_at;
	pgcall_exec(pgcall_plan(&plan,
							"UPDATE pgcall.participant_session SET left_at = $3 "
							"WHERE call_id = $1::uuid AND user_id = $2 AND left_at IS NULL",
							3, types),
				values, NULL, false, 0);
}

static void
json_text_or_null(StringInfo buf, const char *v)
{
	if (v)
		escape_json(buf, v);
	else
		appendStringInfoString(buf, "null");
}

/*
 * Whether pgcall.user_profile is pgcall.profile as the extension made it,
 * not another source given to use_profile_source(): its one rule selects
 * user_id, display_name and avatar_url of pgcall.profile (attribute
 * numbers atts), without a condition or anything else around it.
 */
static bool
profile_is_default(Oid profile, const int atts[3])
{
	Relation	view = table_open(pgcall_relid("user_profile"), AccessShareLock);
	bool		ok = false;
	Query	   *q;
	RangeTblRef *from;
	RangeTblEntry *rte;

	if (view->rd_rules == NULL || view->rd_rules->numLocks != 1 ||
		list_length(view->rd_rules->rules[0]->actions) != 1)
		goto done;
	q = linitial_node(Query, view->rd_rules->rules[0]->actions);
	if (q->commandType != CMD_SELECT || q->jointree == NULL || q->jointree->quals != NULL ||
		list_length(q->jointree->fromlist) != 1 || !IsA(linitial(q->jointree->fromlist), RangeTblRef) ||
		q->hasAggs || q->hasWindowFuncs || q->hasTargetSRFs || q->hasSubLinks || q->hasRowSecurity ||
		q->cteList != NIL || q->groupClause != NIL || q->havingQual != NULL ||
		q->distinctClause != NIL || q->sortClause != NIL || q->limitCount != NULL ||
		q->limitOffset != NULL || q->setOperations != NULL || list_length(q->targetList) != 3)
		goto done;
	from = linitial_node(RangeTblRef, q->jointree->fromlist);
	rte = rt_fetch(from->rtindex, q->rtable);
	if (rte->rtekind != RTE_RELATION || rte->relid != profile || rte->tablesample ||
		(rte->inh && has_subclass(profile)))
		goto done;
	for (int i = 0; i < 3; i++)
	{
		TargetEntry *te = list_nth_node(TargetEntry, q->targetList, i);
		Var		   *v = (Var *) te->expr;

		if (te->resjunk || !IsA(v, Var) || v->varno != from->rtindex || v->varlevelsup != 0 ||
			v->varattno != atts[i] + 1)
			goto done;
	}
	ok = true;
done:
	table_close(view, AccessShareLock);
	return ok;
}

/*
 * The caller's {"id", "name", "avatar"} read by key, without SQL, when
 * pgcall.user_profile is the default source (pgcall.profile) and the
 * current user reads both tables as their owner: such a read cannot fail
 * as a user's source can, so it needs neither a statement nor the
 * subtransaction around it (about 80,000 instructions per invitee rung).
 * Returns false when it does not apply; otherwise sets *found, *id, *name
 * and *avatar as the query of append_caller would.
 */
static bool
caller_by_key(const char *call_id, bool *found, char **id, char **name, char **avatar)
{
	Oid			profile_id = pgcall_relid("profile");
	Relation	profile;
	TupleDesc	pd;
	int			atts[3];
	Snapshot	snap;
	IndexKey	pkey = {TEXTOID, (Datum) 0};
	IndexRow   *p;

	if (!pgcall_owner_reads(profile_id) || !pgcall_owner_reads(pgcall_relid("call")))
		return false;
	profile = table_open(profile_id, AccessShareLock);
	pd = RelationGetDescr(profile);
	atts[0] = pgcall_column(pd, "user_id");
	atts[1] = pgcall_column(pd, "display_name");
	atts[2] = pgcall_column(pd, "avatar_url");
	if (!profile_is_default(profile_id, atts))
	{
		table_close(profile, AccessShareLock);
		return false;
	}
	snap = pgcall_statement_snapshot();
	*found = false;
	if (call_column_by_key(call_id, "created_by", snap, &pkey.value) &&
		pgcall_index_rows(profile, RelationGetPrimaryKeyIndex(profile), &pkey, 1, snap, 1, false,
						  &p) == 1)
	{
		*found = true;
		*id = (char *) pgcall_row_text(p, atts[0]);
		*name = (char *) pgcall_row_text(p, atts[1]);
		*avatar = (char *) pgcall_row_text(p, atts[2]);
	}
	UnregisterSnapshot(snap);
	table_close(profile, AccessShareLock);
	return true;
}

/*
 * The caller of a call as call.incoming shows it: {"id", "name", "avatar"}
 * from pgcall.user_profile (the profile source) for the call's creator,
 * appended to buf under "caller"; null when the source has no row for
 * them.  Read with the privileges of the function that rings (the
 * extension's owner), as webhook payloads read it: the caller's own name
 * and avatar go to the people they ring.  In a subtransaction: a source
 * that fails to read (42xxx: privileges; 22xxx: its values) gives null and
 * a WARNING rather than failing the call.
 */
static void
append_caller(StringInfo buf, const char *call_id)
{
	MemoryContext mcx = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	char	   *volatile id = NULL;
	char	   *volatile name = NULL;
	char	   *volatile avatar = NULL;
	volatile bool found = false;
	bool		by_key_found;
	char	   *by_key[3] = {NULL, NULL, NULL};

	if (caller_by_key(call_id, &by_key_found, &by_key[0], &by_key[1], &by_key[2]))
	{
		found = by_key_found;
		id = by_key[0];
		name = by_key[1];
		avatar = by_key[2];
		goto append;
	}

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(mcx);
	PG_TRY();
	{
		static SPIPlanPtr plan = NULL;
		static const Oid types[1] = {TEXTOID};
		Datum		values[1] = {CStringGetTextDatum(call_id)};

		/*
		 * A kept plan (it was planned again on every call, a third of a
		 * call_start's planning): use_profile_source() replaces the view,
		 * which invalidates it.
		 */
		if (pgcall_exec(pgcall_plan(&plan,
									"SELECT up.user_id, up.display_name, up.avatar_url "
									"FROM pgcall.call c JOIN pgcall.user_profile up "
									"ON up.user_id = c.created_by WHERE c.id = $1::uuid LIMIT 1",
									1, types), values, NULL, false, 1) == 1)
		{
			HeapTuple	t = SPI_tuptable->vals[0];
			TupleDesc	d = SPI_tuptable->tupdesc;
			char	   *v;

			found = true;
			if ((v = SPI_getvalue(t, d, 1)) != NULL)
				id = MemoryContextStrdup(mcx, v);
			if ((v = SPI_getvalue(t, d, 2)) != NULL)
				name = MemoryContextStrdup(mcx, v);
			if ((v = SPI_getvalue(t, d, 3)) != NULL)
				avatar = MemoryContextStrdup(mcx, v);
		}
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(mcx);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(mcx);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(mcx);
		CurrentResourceOwner = owner;
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION &&
			ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			ReThrowError(edata);
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("call.incoming names no caller: the profile source failed: %s", edata->message),
				 errhint("Check the source given to pgcall.use_profile_source().")));
		FreeErrorData(edata);
		found = false;
	}
	PG_END_TRY();

append:
	if (buf->len > 1)
		appendStringInfoChar(buf, ',');
	appendStringInfoString(buf, "\"caller\":");
	if (!found)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	appendStringInfoString(buf, "{\"id\":");
	json_text_or_null(buf, id);
	appendStringInfoString(buf, ",\"name\":");
	json_text_or_null(buf, name);
	appendStringInfoString(buf, ",\"avatar\":");
	json_text_or_null(buf, avatar);
	appendStringInfoChar(buf, '}');
}

/* AFTER INSERT OR UPDATE ON pgcall.participant */
static Datum
participant_after(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	newtup;
	HeapTuple	oldtup = NULL;
	char	   *call_id;
	char	   *user_id;
	char	   *role;
	char	   *new_status;
	char	   *old_status = NULL;
	StringInfoData data;
	bool		isnull;

	check_trigger(fcinfo, "participant_after");
	desc = td->tg_relation->rd_att;
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		oldtup = td->tg_trigtuple;
		newtup = td->tg_newtuple;
		old_status = col_text(oldtup, desc, "status");
	}
	else
		newtup = td->tg_trigtuple;
	call_id = col_text(newtup, desc, "call_id");
	user_id = col_text(newtup, desc, "user_id");
	role = col_text(newtup, desc, "role");
	new_status = col_text(newtup, desc, "status");

	SPI_connect();

	if (streq(new_status, "joined") && !streq(old_status, "joined"))
		session_open(call_id, user_id, col_datum(newtup, desc, "current_join", &isnull), oldtup == NULL);
	else if (streq(old_status, "joined") && !streq(new_status, "joined"))
		session_close(call_id, user_id, col_datum(newtup, desc, "left_at", &isnull));

	/*
	 * Presence: joining or leaving changes in_call; being rung or in the
	 * call, or no longer, changes whom the default policy lets see whom.
	 */
	if (is_live(old_status) != is_live(new_status))
		pgcall_presence_changed(user_id, call_id,
							  streq(old_status, "joined") != streq(new_status, "joined"));
	else if (streq(old_status, "joined") != streq(new_status, "joined"))
		pgcall_presence_changed(user_id, NULL, true);

	initStringInfo(&data);
	appendStringInfoChar(&data, '{');
	pgcall_json_member(&data, "user_id", user_id);

	if (oldtup == NULL)
	{
		/* A new participant: the invitee is rung, the caller is told. */
		if (streq(new_status, "invited") || streq(new_status, "ringing"))
		{
			StringInfoData incoming;

			/* one call.incoming for all invitees rung alike: no user_id */
			initStringInfo(&incoming);
			appendStringInfoChar(&incoming, '{');
			pgcall_json_member(&incoming, "status", new_status);
			append_caller(&incoming, call_id);
			appendStringInfoChar(&incoming, '}');
			pgcall_event_queue("call.incoming", call_id, list_make1(user_id), incoming.data,
							   PGCALL_EVENT_FULL_CALL, NULL);
			pgcall_json_member(&data, "status", new_status);
			appendStringInfoChar(&data, '}');
			if (added_later(call_id, newtup, desc))
			{
				List	   *others = NIL;
				ListCell   *lc;

				foreach(lc, participant_audience(call_id, user_id))
					if (!streq(lfirst(lc), user_id))
						others = lappend(others, lfirst(lc));
				if (others != NIL)
					pgcall_event_queue("participant.invited", call_id, others, data.data,
									   PGCALL_EVENT_CALL, user_id);
			}
		}
		else if (streq(role, "caller") || streq(role, "host"))
		{
			pgcall_json_member(&data, "status", new_status);
			appendStringInfoChar(&data, '}');
			pgcall_event_queue("call.started", call_id, list_make1(user_id), data.data,
							   PGCALL_EVENT_FULL_CALL, NULL);
		}
		else
		{
			List	   *audience = participant_audience(call_id, user_id);

			pgcall_json_member(&data, "status", new_status);
			pgcall_json_member(&data, "previous", NULL);
			pgcall_json_member(&data, "reason", col_text(newtup, desc, "reason"));
			pgcall_json_member(&data, "device_id", col_text(newtup, desc, "device_id"));
			appendStringInfoChar(&data, '}');
			if (audience != NIL)
				pgcall_event_queue(psprintf("participant.%s", new_status), call_id, audience,
								   data.data, PGCALL_EVENT_CALL, user_id);
		}
	}
	else if (!streq(old_status, new_status))
	{
		List	   *audience = participant_audience(call_id, user_id);

		pgcall_json_member(&data, "status", new_status);
		pgcall_json_member(&data, "previous", old_status);
		pgcall_json_member(&data, "reason", col_text(newtup, desc, "reason"));
		pgcall_json_member(&data, "device_id", col_text(newtup, desc, "device_id"));
		appendStringInfoChar(&data, '}');
		if (audience != NIL)
			pgcall_event_queue(psprintf("participant.%s", new_status), call_id, audience,
							   data.data, PGCALL_EVENT_CALL, user_id);
	}
	else if (col_bool(oldtup, desc, "mic_muted") != col_bool(newtup, desc, "mic_muted") ||
			 col_bool(oldtup, desc, "camera_off") != col_bool(newtup, desc, "camera_off") ||
			 col_bool(oldtup, desc, "sharing_screen") != col_bool(newtup, desc, "sharing_screen"))
	{
		List	   *audience = participant_audience(call_id, user_id);

		pgcall_json_bool(&data, "mic_muted", col_bool(newtup, desc, "mic_muted"));
		pgcall_json_bool(&data, "camera_off", col_bool(newtup, desc, "camera_off"));
		pgcall_json_bool(&data, "sharing_screen", col_bool(newtup, desc, "sharing_screen"));
		appendStringInfoChar(&data, '}');
		if (audience != NIL)
			pgcall_event_queue("participant.media", call_id, audience, data.data,
							   PGCALL_EVENT_CALL, user_id);
	}

	SPI_finish();
	return PointerGetDatum(NULL);
}

/* Event type announcing that a call ended for the given reason. */
static const char *
end_event_type(const char *reason)
{
	if (streq(reason, "cancelled"))
		return "call.cancelled";
	if (streq(reason, "rejected"))
		return "call.rejected";
	if (streq(reason, "missed"))
		return "call.missed";
	if (streq(reason, "busy"))
		return "call.busy";
	if (streq(reason, "unavailable"))
		return "call.unavailable";
	return "call.ended";
}

/* AFTER UPDATE ON pgcall.call */
static Datum
call_after(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	char	   *old_status;
	char	   *new_status;
	char	   *call_id;
	StringInfoData data;
	ListCell   *lc;

	check_trigger(fcinfo, "call_after");
	if (!TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		return PointerGetDatum(NULL);
	desc = td->tg_relation->rd_att;
	old_status = col_text(td->tg_trigtuple, desc, "status");
	new_status = col_text(td->tg_newtuple, desc, "status");
	if (streq(old_status, new_status))
		return PointerGetDatum(NULL);
	call_id = col_text(td->tg_newtuple, desc, "id");

	SPI_connect();
	initStringInfo(&data);
	appendStringInfoChar(&data, '{');
	if (streq(new_status, "active"))
	{
		pgcall_json_member(&data, "by", col_text(td->tg_newtuple, desc, "answered_by"));
		appendStringInfoChar(&data, '}');
		pgcall_event_queue("call.accepted", call_id, call_audience(call_id), data.data,
						   PGCALL_EVENT_CALL, NULL);
	}
	else if (streq(new_status, "ended"))
	{
		char	   *reason = col_text(td->tg_newtuple, desc, "end_reason");

		pgcall_json_member(&data, "reason", reason);
		pgcall_json_member(&data, "by", col_text(td->tg_newtuple, desc, "ended_by"));
		appendStringInfo(&data, ",\"duration_seconds\":%s",
						 col_text(td->tg_newtuple, desc, "duration_seconds"));
		appendStringInfoChar(&data, '}');
		pgcall_event_queue(end_event_type(reason), call_id, call_audience(call_id), data.data,
						   PGCALL_EVENT_FULL_CALL, NULL);
		remember_ended(call_id);
		/* nobody shares the call any more, nor is in it */
		foreach(lc, call_audience(call_id))
			pgcall_presence_changed(lfirst(lc), call_id, true);
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * The row checks of pgcall.call (call_row_check) and pgcall.participant
 * (participant_row_check): every rule of a row in one call of one C
 * function on its columns.  PostgreSQL reads each check of a table back
 * from its stored text and plans it again in every statement that writes
 * the table; eight checks on a call and four on a participant were about a
 * tenth of a call_session (docs/benchmarks.md, "the row checks"), one
 * function of the columns is a fraction of that.  Each rule passes a null
 * as CHECK does; a failure is check_violation (23514) naming the
 * constraint, with the rule that failed in its detail.
 */
static bool
text_is(text *t, const char *s)
{
	int			len = VARSIZE_ANY_EXHDR(t);

	return (int) strlen(s) == len && memcmp(VARDATA_ANY(t), s, len) == 0;
}

/* whether t is one of list (NULL-terminated); a null is (as with IN) */
static bool
text_in_list(FunctionCallInfo fcinfo, int arg, const char *const *list)
{
	if (PG_ARGISNULL(arg))
		return true;
	for (; *list; list++)
		if (text_is(PG_GETARG_TEXT_PP(arg), *list))
			return true;
	return false;
}

/* whether argument arg is the text s (false when null) */
static bool
arg_is(FunctionCallInfo fcinfo, int arg, const char *s)
{
	return !PG_ARGISNULL(arg) && text_is(PG_GETARG_TEXT_PP(arg), s);
}

static void
row_check_failed(const char *table, const char *constraint, const char *rule)
{
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("new row for relation \"%s\" violates check constraint \"%s\"", table, constraint),
			 errdetail("%s", rule),
			 errhint("Only pgcall's functions write pgcall.%s; use them.", table),
			 err_generic_string(PG_DIAG_SCHEMA_NAME, "pgcall"),
			 err_generic_string(PG_DIAG_TABLE_NAME, table),
			 err_generic_string(PG_DIAG_CONSTRAINT_NAME, constraint)));
}

#define CALL_CHECK(ok, rule) \
	do { if (!(ok)) row_check_failed("call", "call_row_check", rule); } while (0)
#define PARTICIPANT_CHECK(ok, rule) \
	do { if (!(ok)) row_check_failed("participant", "participant_row_check", rule); } while (0)

PG_FUNCTION_INFO_V1(pgcall_call_row_check);

/*
 * call_row_check(kind, media, status, end_reason, ended_at, ring_deadline,
 * max_participants): the rules of a pgcall.call row.
 */
Datum
pgcall_call_row_check(PG_FUNCTION_ARGS)
{
	static const char *const kinds[] = {"direct", "group", "conference", NULL};
	static const char *const media[] = {"audio", "video", NULL};
	static const char *const statuses[] = {"ringing", "active", "ended", NULL};
	static const char *const reasons[] = {"completed", "cancelled", "rejected", "missed",
	"busy", "unavailable", "failed", "terminated", NULL};
	bool		ended = arg_is(fcinfo, 2, "ended");

	CALL_CHECK(text_in_list(fcinfo, 0, kinds), "kind is direct, group or conference.");
	CALL_CHECK(text_in_list(fcinfo, 1, media), "media is audio or video.");
	CALL_CHECK(text_in_list(fcinfo, 2, statuses), "status is ringing, active or ended.");
	CALL_CHECK(text_in_list(fcinfo, 3, reasons),
			   "end_reason is completed, cancelled, rejected, missed, busy, unavailable, failed or terminated.");
	CALL_CHECK(PG_ARGISNULL(6) || (PG_GETARG_INT32(6) >= 2 && PG_GETARG_INT32(6) <= 10000),
			   "max_participants is between 2 and 10000.");
	if (!PG_ARGISNULL(2))
	{
		CALL_CHECK(ended == !PG_ARGISNULL(3), "end_reason is set when, and only when, status is ended.");
		CALL_CHECK(ended == !PG_ARGISNULL(4), "ended_at is set when, and only when, status is ended.");
		CALL_CHECK(!arg_is(fcinfo, 2, "ringing") || !PG_ARGISNULL(5),
				   "A ringing call has a ring_deadline.");
	}
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(pgcall_participant_row_check);

/* participant_row_check(role, status, current_join, ring_deadline): the rules of a pgcall.participant row */
Datum
pgcall_participant_row_check(PG_FUNCTION_ARGS)
{
	static const char *const roles[] = {"caller", "callee", "host", "member", NULL};
	static const char *const statuses[] = {"invited", "ringing", "joined", "left",
	"declined", "missed", "busy", "removed", NULL};

	PARTICIPANT_CHECK(text_in_list(fcinfo, 0, roles), "role is caller, callee, host or member.");
	PARTICIPANT_CHECK(text_in_list(fcinfo, 1, statuses),
					  "status is invited, ringing, joined, left, declined, missed, busy or removed.");
	if (!PG_ARGISNULL(1))
	{
		PARTICIPANT_CHECK(arg_is(fcinfo, 1, "joined") == !PG_ARGISNULL(2),
						  "current_join is set when, and only when, status is joined.");
		PARTICIPANT_CHECK(!(arg_is(fcinfo, 1, "invited") || arg_is(fcinfo, 1, "ringing")) ||
						  !PG_ARGISNULL(3),
						  "An invited or ringing participant has a ring_deadline.");
	}
	PG_RETURN_BOOL(true);
}

/*
 * The value checks of 0.1.0 (pgcall.is_call_kind and the others): its
 * install script, which never changes, declares them, so the library keeps
 * them for installing 0.1.0 and updating it (the update drops them with
 * their constraints).  STRICT: a null passes, as with IN.
 */
#define VALUE_CHECK(fn, ...) \
PG_FUNCTION_INFO_V1(fn); \
Datum \
fn(PG_FUNCTION_ARGS) \
{ \
	static const char *const list[] = {__VA_ARGS__, NULL}; \
	PG_RETURN_BOOL(text_in_list(fcinfo, 0, list)); \
}

VALUE_CHECK(pgcall_is_call_kind, "direct", "group", "conference")
VALUE_CHECK(pgcall_is_call_media, "audio", "video")
VALUE_CHECK(pgcall_is_call_status, "ringing", "active", "ended")
VALUE_CHECK(pgcall_is_call_end_reason, "completed", "cancelled", "rejected", "missed",
			"busy", "unavailable", "failed", "terminated")
VALUE_CHECK(pgcall_is_participant_role, "caller", "callee", "host", "member")
VALUE_CHECK(pgcall_is_participant_status, "invited", "ringing", "joined", "left",
			"declined", "missed", "busy", "removed")

PG_FUNCTION_INFO_V1(pgcall_event_call_check);

/* event_call_check(type text, call_id): (call_id IS NULL) = (type = 'presence.changed') */
Datum
pgcall_event_call_check(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_BOOL(text_is(PG_GETARG_TEXT_PP(0), "presence.changed") == PG_ARGISNULL(1));
}

/*
 * The trigger functions carry no SET search_path, which fmgr would set and
 * restore around every row (some 9,000 instructions each time): each pins
 * pg_catalog, pg_temp itself unless it is pinned already, as it is inside
 * every pgcall function that writes these tables.  A direct write by the
 * tables' owner gets it pinned here, before any statement runs.
 */
#define PINNED_TRIGGER(fn, body) \
PG_FUNCTION_INFO_V1(fn); \
Datum \
fn(PG_FUNCTION_ARGS) \
{ \
	int			level = pgcall_pin_search_path(); \
	Datum		result = body(fcinfo); \
\
	pgcall_unpin_search_path(level); \
	return result; \
}

PINNED_TRIGGER(pgcall_call_before, call_before)
PINNED_TRIGGER(pgcall_call_after, call_after)
PINNED_TRIGGER(pgcall_participant_before, participant_before)
PINNED_TRIGGER(pgcall_participant_after, participant_after)
