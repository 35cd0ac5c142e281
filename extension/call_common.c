/*
 * call_common.c: what the call_* functions share (calls.h): locking and
 * reading a call, its transitions, the reply, and call_expire().
 *
 * The state-changing call_* functions (call_start.c, call_answer.c,
 * call_media.c, and conference.c and admin.c) share these rules.
 *
 * Each runs as SECURITY DEFINER with a pinned search_path, acts for
 * pgcall_require_user(), and works on one call at a time under a row lock
 * on it (SELECT ... FOR UPDATE), taken before any participant row, so
 * concurrent answers, cancels and ends of one call serialize and never
 * deadlock.  Direct calls between the same two people also serialize on a
 * lock on the pair, which is how glare (both calling each other at once)
 * resolves to one call.  That lock is an object lock whose class is
 * pgcall.call's own OID, not an advisory lock: SQL can take any advisory
 * key, but no command locks an object of a class that is not a catalog.
 *
 * Nobody waits long for a call: the row lock (and the pair lock of a direct
 * call) is taken under lock_timeout = pgcall.lock_timeout, and a request
 * that would wait longer fails with P503D (retry) instead of queuing behind
 * a transaction someone keeps open.  Every participant row is written under
 * the call's lock, so the call row is the only lock a request waits for.
 *
 * A call whose ringing deadline passed is expired before anything else
 * happens to it, the same way call_expire() does it, so no function acts on
 * a call that reads would already show as missed.
 *
 * The triggers (call_triggers.c) enforce the state machines and keep the
 * clocks and the events; these functions decide who may do what and which
 * transition a request means.
 */
#include "postgres.h"

#include <ctype.h>

#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "agora.h"
#include "calls.h"
#include "pgcall.h"
#include "rowread.h"

/* --- reading and locking --------------------------------------------------- */

/*
 * The columns read_call_row() reads.  The last says whether the call reads
 * differently than it is stored: rung past its deadline
 * (pgcall.effective_call_status, where that rule is written in SQL;
 * call_json.c's builder writes it again in C for the call object, and
 * regress call_object holds the two to the same text).  Whether one of its
 * invitations does is call_has_overdue()'s question.
 */
#define CALL_COLUMNS \
	"id::text, kind, media, status, end_reason, channel_id, created_by, max_participants, is_public, " \
	"pgcall.effective_call_status(status, ring_deadline) <> status"

/* call_has_overdue's scan: stops at the first of the call's entries. */
typedef struct OverdueScan
{
	Datum		call_id;
	int			att_call;		/* pgcall_column's (0-based) */
	int			att_status;
	int			att_deadline;
	bool		found;
} OverdueScan;

static bool
overdue_row(TupleTableSlot *slot, void *arg)
{
	OverdueScan *o = arg;
	bool		isnull;
	Datum		id = slot_getattr(slot, o->att_call + 1, &isnull);
	Datum		status;
	Datum		deadline;

	if (isnull || !DatumGetBool(DirectFunctionCall2(uuid_eq, id, o->call_id)))
		return true;
	/* the entry may be an older version's: the row's own columns decide */
	status = slot_getattr(slot, o->att_status + 1, &isnull);
	deadline = slot_getattr(slot, o->att_deadline + 1, &isnull);
	o->found = !isnull && (pgcall_text_is(status, "invited") || pgcall_text_is(status, "ringing")) &&
		DatumGetTimestampTz(deadline) <= GetCurrentTransactionStartTimestamp();
	return !o->found;
}

/*
 * Whether one of the call's invitations rang past its deadline
 * (pgcall.effective_participant_status: rings_until(status, ring_deadline)
 * <= now()).  participant_ringing_idx holds only the invitations still
 * ringing, by deadline, so reading it up to now() costs what the overdue
 * invitations of every call cost (call_expire's sweep keeps them few), not
 * what the call's size does: a join to a conference of a thousand reads no
 * participant but its own.  As an SQL statement (the same rule) when the
 * current user does not read the table as its owner.
 */
static bool
call_has_overdue(const char *call_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Oid			relid = pgcall_relid("participant");
	Relation	rel;
	Snapshot	snap;
	IndexKey	key = {TIMESTAMPTZOID, TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()), true};
	OverdueScan o;

	if (!pgcall_owner_reads(relid))
	{
		Datum		values[1] = {CStringGetTextDatum(call_id)};
		bool		isnull;

		pgcall_exec(pgcall_plan(&plan,
								"SELECT EXISTS (SELECT FROM pgcall.participant p WHERE p.call_id = $1::uuid "
								"AND pgcall.effective_participant_status(p.status, p.ring_deadline) <> p.status)",
								1, types), values, NULL, false, 1);
		return DatumGetBool(pgcall_getdatum(0, 1, &isnull));
	}
	rel = table_open(relid, AccessShareLock);
	o.call_id = DirectFunctionCall1(uuid_in, CStringGetDatum(call_id));
	o.att_call = pgcall_column(RelationGetDescr(rel), "call_id");
	o.att_status = pgcall_column(RelationGetDescr(rel), "status");
	o.att_deadline = pgcall_column(RelationGetDescr(rel), "ring_deadline");
	o.found = false;
	snap = pgcall_statement_snapshot();
	pgcall_index_visit(rel, pgcall_relid("participant_ringing_idx"), &key, 1, snap, false, overdue_row, &o);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	return o.found;
}


static void
read_call_row(uint64 row, Call *c)
{
	bool		isnull;

	c->id = pgcall_getstr(row, 1);
	c->kind = pgcall_call_kind_of(pgcall_getstr(row, 2));
	c->media = pgcall_getstr(row, 3);
	c->status = pgcall_call_status_of(pgcall_getstr(row, 4));
	c->end_reason = pgcall_end_reason_of(pgcall_getstr(row, 5));
	c->channel_id = pgcall_getstr(row, 6);
	c->created_by = pgcall_getstr(row, 7);
	c->max_participants = DatumGetInt32(pgcall_getdatum(row, 8, &isnull));
	c->is_public = DatumGetBool(pgcall_getdatum(row, 9, &isnull));
	c->ring_expired = DatumGetBool(pgcall_getdatum(row, 10, &isnull));
}

/*
 * Bound the waits for locks that follow: lock_timeout becomes
 * pgcall.lock_timeout unless it is already shorter, until
 * end_bounded_wait(), or the end of the (sub)transaction on error.
 */
static int
begin_bounded_wait(void)
{
	int			nestlevel = NewGUCNestLevel();

	if (pgcall_lock_timeout > 0 && (LockTimeout == 0 || LockTimeout > pgcall_lock_timeout))
	{
		char		ms[32];

		snprintf(ms, sizeof(ms), "%d", pgcall_lock_timeout);
		(void) set_config_option("lock_timeout", ms, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	return nestlevel;
}

static void
end_bounded_wait(int nestlevel)
{
	AtEOXact_GUC(true, nestlevel);
}

/*
 * In a PG_CATCH: turn a lock timeout (55P03) into P503D about what, and
 * re-throw anything else.  Nothing runs in between, so the transaction's
 * abort cleans up after the statement that failed.
 */
static void
rethrow_lock_timeout(MemoryContext cxt, const char *what)
{
	MemoryContext ecxt = MemoryContextSwitchTo(cxt);
	ErrorData  *edata = CopyErrorData();

	MemoryContextSwitchTo(ecxt);
	if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
		PG_RE_THROW();
	FlushErrorState();
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_CALL_BUSY),
			 errmsg("%s is busy", what),
			 errdetail("Another request has held it for longer than pgcall.lock_timeout (%d ms).",
					   pgcall_lock_timeout),
			 errhint("Retry in a moment.")));
}

/* Lock the call by id, or by channel; false when there is none. */
static bool
lock_call_by(const char *key, bool by_channel, Call *c)
{
	static SPIPlanPtr by_id_plan = NULL;
	static SPIPlanPtr by_channel_plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(key)};
	SPIPlanPtr	plan = by_channel
		? pgcall_plan(&by_channel_plan,
					  "SELECT " CALL_COLUMNS " FROM pgcall.call c WHERE channel_id = $1 FOR UPDATE",
					  1, types)
		: pgcall_plan(&by_id_plan,
					  "SELECT " CALL_COLUMNS " FROM pgcall.call c WHERE id = $1::uuid FOR UPDATE",
					  1, types);
	MemoryContext cxt = CurrentMemoryContext;
	int			nestlevel = begin_bounded_wait();
	uint64		n = 0;

	PG_TRY();
	{
		n = pgcall_exec(plan, values, NULL, false, 1);
	}
	PG_CATCH();
	{
		rethrow_lock_timeout(cxt, "the call");
	}
	PG_END_TRY();
	end_bounded_wait(nestlevel);
	if (n == 0)
		return false;
	read_call_row(0, c);
	c->pending_expired = c->status != CALL_ENDED && call_has_overdue(c->id);
	return true;
}

bool
pgcall_lock_call(const char *call_id, Call *c)
{
	return lock_call_by(call_id, false, c);
}

bool
pgcall_lock_call_by_channel(const char *channel_id, Call *c)
{
	return lock_call_by(channel_id, true, c);
}

Part
pgcall_get_part(const char *call_id, const char *user_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(call_id), CStringGetTextDatum(user_id)};
	Part		p = {0};

	if (pgcall_exec(pgcall_plan(&plan,
								"SELECT status, role, device_id FROM pgcall.participant "
								"WHERE call_id = $1::uuid AND user_id = $2",
								2, types), values, NULL, false, 1) == 1)
	{
		p.found = true;
		p.status = pgcall_part_status_of(pgcall_getstr(0, 1));
		p.role = pgcall_part_role_of(pgcall_getstr(0, 2));
		p.device_id = pgcall_getstr(0, 3);
	}
	return p;
}

void
pgcall_raise_call_not_found(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_CALL_NOT_FOUND),
			 errmsg("call not found"),
			 errdetail("No call has %s.", what)));
}

void
pgcall_raise_not_participant(const Call *c)
{
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
			 errmsg("you are not a participant of this call"),
			 errdetail("Only the people invited to call %s can do this.", c->id)));
}

void
pgcall_raise_call_ended(const Call *c)
{
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_CALL_ENDED),
			 errmsg("call has already ended"),
			 errdetail("Call %s ended: %s.", c->id, c->end_reason ? pgcall_end_reason_name(c->end_reason) : "unknown")));
}

/* --- transitions ------------------------------------------------------------ */

void
pgcall_set_part_status(const char *call_id, const char *user_id, PartStatus status,
					   const char *reason)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4] = {CStringGetTextDatum(call_id), CStringGetTextDatum(user_id),
	CStringGetTextDatum(pgcall_part_status_name(status)), 0};
	char		nulls[4] = {' ', ' ', ' ', reason ? ' ' : 'n'};

	if (reason)
		values[3] = CStringGetTextDatum(reason);
	pgcall_exec(pgcall_plan(&plan,
							"UPDATE pgcall.participant SET status = $3, reason = $4 "
							"WHERE call_id = $1::uuid AND user_id = $2",
							4, types), values, nulls, false, 0);
}

/* End the call: every participant still in it leaves, everyone rung misses it. */
void
pgcall_end_for_everyone(Call *c, EndReason reason, const char *by)
{
	static SPIPlanPtr call_plan = NULL;
	static SPIPlanPtr part_plan = NULL;
	static const Oid types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3] = {CStringGetTextDatum(c->id),
	CStringGetTextDatum(pgcall_end_reason_name(reason)), 0};
	char		nulls[3] = {' ', ' ', by ? ' ' : 'n'};

	if (by)
		values[2] = CStringGetTextDatum(by);
	pgcall_exec(pgcall_plan(&call_plan,
							"UPDATE pgcall.call SET status = 'ended', end_reason = $2, ended_by = $3 "
							"WHERE id = $1::uuid",
							3, types), values, nulls, false, 0);
	pgcall_exec(pgcall_plan(&part_plan,
							"UPDATE pgcall.participant SET "
							"status = CASE status WHEN 'joined' THEN 'left' ELSE 'missed' END, "
							"reason = CASE status WHEN 'joined' THEN reason ELSE $2 END "
							"WHERE call_id = $1::uuid AND status IN ('joined', 'invited', 'ringing')",
							2, types), values, NULL, false, 0);
	c->status = CALL_ENDED;
	c->end_reason = reason;
}

/*
 * After someone answered, declined, missed or left: end the call if nobody
 * is left in it or being rung, with the reason that tells what happened.
 */
void
pgcall_settle(Call *c, const char *by)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(c->id), CStringGetTextDatum(c->created_by)};
	bool		isnull;
	int64		pending = 0,
				joined,
				joined_others = 0,
				declined = 0,
				busy = 0,
				unavailable = 0,
				invitees = 0;
	int			known;

	if (c->status == CALL_ENDED)
		return;

	/*
	 * An active call needs only how many are in it, which the participant
	 * trigger has usually just counted (pgcall_counts_known): someone
	 * leaving a call of a thousand counts nobody again.
	 */
	if (c->status == CALL_ACTIVE && pgcall_counts_known(c->id, NULL, &known))
		joined = known;
	else
	{
		pgcall_exec(pgcall_plan(&plan,
								"SELECT count(*) FILTER (WHERE status IN ('invited', 'ringing')), "
								"count(*) FILTER (WHERE status = 'joined'), "
								"count(*) FILTER (WHERE status = 'joined' AND user_id <> $2), "
								"count(*) FILTER (WHERE status = 'declined'), "
								"count(*) FILTER (WHERE status = 'busy'), "
								"count(*) FILTER (WHERE status = 'missed' AND reason = 'unavailable'), "
								"count(*) FILTER (WHERE user_id <> $2) "
								"FROM pgcall.participant WHERE call_id = $1::uuid",
								2, types), values, NULL, false, 1);
		pending = DatumGetInt64(pgcall_getdatum(0, 1, &isnull));
		joined = DatumGetInt64(pgcall_getdatum(0, 2, &isnull));
		joined_others = DatumGetInt64(pgcall_getdatum(0, 3, &isnull));
		declined = DatumGetInt64(pgcall_getdatum(0, 4, &isnull));
		busy = DatumGetInt64(pgcall_getdatum(0, 5, &isnull));
		unavailable = DatumGetInt64(pgcall_getdatum(0, 6, &isnull));
		invitees = DatumGetInt64(pgcall_getdatum(0, 7, &isnull));
	}

	if (c->status == CALL_RINGING)
	{
		if (pending > 0 || joined_others > 0)
			return;
		if (declined > 0)
			pgcall_end_for_everyone(c, END_REJECTED, by);
		else if (busy > 0)
			pgcall_end_for_everyone(c, END_BUSY, by);
		else if (unavailable > 0 && unavailable == invitees)
			pgcall_end_for_everyone(c, END_UNAVAILABLE, by);
		else
			pgcall_end_for_everyone(c, END_MISSED, by);
	}
	else if (c->status == CALL_ACTIVE)
	{
		if (joined == 0 || (c->kind == CALL_DIRECT && joined < 2))
			pgcall_end_for_everyone(c, END_COMPLETED, by);
	}
}

/* Expire the invitees whose ringing deadline passed, then settle the call. */
void
pgcall_expire_overdue(Call *c)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(c->id)};

	if (!c->pending_expired && !c->ring_expired)
		return;
	pgcall_exec(pgcall_plan(&plan,
							"UPDATE pgcall.participant SET status = 'missed', reason = 'timeout' "
							"WHERE call_id = $1::uuid "
							"AND pgcall.effective_participant_status(status, ring_deadline) <> status",
							1, types), values, NULL, false, 0);
	c->pending_expired = false;
	c->ring_expired = false;
	pgcall_settle(c, NULL);
}

/* Lock a call the current user acts on, expire it if due, check they are in it. */
Part
pgcall_open_call(const char *call_id, const char *me, Call *c)
{
	Part		p;

	if (!pgcall_lock_call(call_id, c))
		pgcall_raise_call_not_found(psprintf("the id %s", call_id));
	pgcall_expire_overdue(c);
	p = pgcall_get_part(c->id, me);
	if (!p.found)
		pgcall_raise_not_participant(c);
	return p;
}

/* --- results ------------------------------------------------------------------ */

void
pgcall_append_call_json(StringInfo buf, const char *call_id)
{
	char	   *json = pgcall_call_json_text(call_id);

	appendStringInfoString(buf, json ? json : "null");
}

/*
 * Append ,"agora":{...} with a fresh publisher token for the current user,
 * or null when Agora is not configured and required is false.
 */
void
pgcall_append_agora(StringInfo buf, const Call *c, const char *me, int ttl, bool required)
{
	int64		expires_at;
	char	   *token;

	appendStringInfoString(buf, ",\"agora\":");
	if (!required && !pgcall_agora_is_configured())
	{
		appendStringInfoString(buf, "null");
		return;
	}
	token = pgcall_agora_make_rtc_token(c->channel_id, me, true, ttl, ttl, &expires_at);
	appendStringInfoString(buf, "{\"provider\":\"agora\",\"app_id\":");
	escape_json(buf, pgcall_agora_require_app_id());
	appendStringInfoString(buf, ",\"channel_id\":");
	escape_json(buf, c->channel_id);
	appendStringInfoString(buf, ",\"account\":");
	escape_json(buf, me);
	appendStringInfoString(buf, ",\"token\":");
	escape_json(buf, token);
	appendStringInfo(buf, ",\"expires_at\":" INT64_FORMAT "}", expires_at);
}

/*
 * {"call": ..., "agora": ...}, the reply of the call_* functions that change
 * a call.  While the call lists at most PGCALL_JOIN_REPLY_PARTICIPANTS
 * people the call comes with its participants.  A larger one comes without
 * them (participant_count and joined_count instead; call_participants pages
 * the list, call_get still returns it whole) and the reply adds
 * "participant", the caller's own: joining, leaving or muting in a
 * conference then costs the same whatever its size.
 */
Datum
pgcall_call_reply(const Call *c, const char *me, bool with_agora, const char *extra)
{
	StringInfoData buf;
	bool		listed;
	char	   *json;

	/* a direct call has its two people: no need to count them */
	json = pgcall_call_json_for_reply(c->id, c->kind == CALL_DIRECT ? -1 : PGCALL_JOIN_REPLY_PARTICIPANTS,
									  &listed);
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"call\":");
	appendStringInfoString(&buf, json ? json : "null");
	if (with_agora)
		pgcall_append_agora(&buf, c, me, pgcall_agora_token_ttl, false);
	if (!listed)
	{
		char	   *mine = pgcall_participant_json(c->id, me);

		appendStringInfo(&buf, ",\"participant\":%s", mine ? mine : "null");
	}
	if (extra)
		appendStringInfoString(&buf, extra);
	appendStringInfoChar(&buf, '}');
	return pgcall_jsonb_datum(&buf);
}

/* --- joining (call_accept, call_join, call_set_status, glare) ---------------- */

/*
 * The current user answers or (re)joins a call.  answer_only restricts it to
 * someone being rung.  Idempotent for the device that already joined.
 */
void
pgcall_join_call(Call *c, const Part *p, const char *me, const char *device_id,
		  int mic_muted, int camera_off, bool answer_only)
{
	static SPIPlanPtr count_plan = NULL;
	static SPIPlanPtr join_plan = NULL;
	static SPIPlanPtr answer_plan = NULL;
	static const Oid types[5] = {TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	bool		isnull;

	if (c->status == CALL_ENDED)
		pgcall_raise_call_ended(c);
	if (p->status == PART_REMOVED)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_REMOVED),
				 errmsg("you were removed from this call"),
				 errdetail("A removed participant cannot rejoin call %s.", c->id)));
	if (p->status == PART_JOINED)
	{
		if ((device_id == NULL && p->device_id == NULL) || pgcall_streq(device_id, p->device_id))
			return;
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_ALREADY_ANSWERED),
				 errmsg("call already answered on another device"),
				 errdetail("You joined call %s from device %s.", c->id,
						   p->device_id ? p->device_id : "(unnamed)"),
				 errhint("Stop ringing on this device: the call was answered elsewhere.")));
	}
	if (answer_only && p->status != PART_INVITED && p->status != PART_RINGING)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TRANSITION),
				 errmsg("cannot answer: your status in this call is %s", pgcall_part_status_name(p->status)),
				 errhint("Use call_join to join a call you left or declined while it lasts.")));

	values[0] = CStringGetTextDatum(c->id);
	if (c->status == CALL_RINGING)
	{
		values[1] = CStringGetTextDatum(me);
		pgcall_exec(pgcall_plan(&answer_plan,
								"UPDATE pgcall.call SET status = 'active', answered_by = $2 WHERE id = $1::uuid",
								2, types), values, NULL, false, 0);
		c->status = CALL_ACTIVE;
	}

	if (!p->found)
	{
		/* Admitted by pgcall_conference_admits: a public conference. */
		if (mic_muted < 0 && pgcall_auto_mute_on_join(me))
			mic_muted = 1;
		pgcall_conference_add_member(c, me, device_id, mic_muted, camera_off);
	}
	else
	{
		/*
		 * A microphone not given follows the user's auto_mute_on_join
		 * preference (pgcall_auto_mute_on_join), read by the update itself:
		 * muted when it says so, else as it was.
		 */
		values[1] = CStringGetTextDatum(me);
		values[2] = device_id ? CStringGetTextDatum(device_id) : (Datum) 0;
		nulls[2] = device_id ? ' ' : 'n';
		values[3] = Int32GetDatum(mic_muted);
		nulls[3] = mic_muted < 0 ? 'n' : ' ';
		values[4] = Int32GetDatum(camera_off);
		nulls[4] = camera_off < 0 ? 'n' : ' ';
		pgcall_exec(pgcall_plan(&join_plan,
								"UPDATE pgcall.participant SET status = 'joined', reason = NULL, device_id = $3, "
								"mic_muted = COALESCE($4::integer::boolean, "
								"CASE WHEN (SELECT pr.auto_mute_on_join FROM pgcall.preference pr WHERE pr.user_id = $2) "
								"THEN true END, mic_muted), "
								"camera_off = COALESCE($5::integer::boolean, camera_off) "
								"WHERE call_id = $1::uuid AND user_id = $2",
								5, types), values, nulls, false, 0);
	}

	/*
	 * Room for one more: counted after the join, one more than allowed
	 * refuses it, and the error undoes the join with everything it queued.
	 * A direct call has its two participants and room for both (start_call
	 * allows it no other max_participants): it cannot be full, no need to
	 * count.  The participant trigger's audience scan has just counted
	 * everyone (pgcall_counts_known); otherwise a statement counts.
	 */
	if (c->kind != CALL_DIRECT || !p->found || c->max_participants < 2)
	{
		int			joined;

		if (!pgcall_counts_known(c->id, NULL, &joined))
		{
			pgcall_exec(pgcall_plan(&count_plan,
									"SELECT count(*) FILTER (WHERE status = 'joined') FROM pgcall.participant WHERE call_id = $1::uuid",
									1, types), values, NULL, false, 1);
			joined = (int) DatumGetInt64(pgcall_getdatum(0, 1, &isnull));
		}
		if (joined > c->max_participants)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_CALL_FULL),
					 errmsg("call is full"),
					 errdetail("Call %s allows %d participants at once.", c->id, c->max_participants)));
	}
}
/* --- the pair lock, and adding people to a call ------------------------------- */

void
pgcall_lock_pair(const char *a, const char *b)
{
	LOCKTAG		tag;
	StringInfoData key;
	uint32		h;

	if (strcmp(a, b) > 0)
	{
		const char *t = a;

		a = b;
		b = t;
	}
	initStringInfo(&key);
	appendStringInfo(&key, "%s", a);
	appendStringInfoChar(&key, '\0');
	appendStringInfo(&key, "%s", b);
	h = hash_bytes((const unsigned char *) key.data, key.len);
	SET_LOCKTAG_OBJECT(tag, MyDatabaseId, pgcall_relid("call"), h, 0);
	{
		MemoryContext cxt = CurrentMemoryContext;
		int			nestlevel = begin_bounded_wait();

		PG_TRY();
		{
			(void) LockAcquire(&tag, ExclusiveLock, false, false);
		}
		PG_CATCH();
		{
			rethrow_lock_timeout(cxt, "a call between you and the same person");
		}
		PG_END_TRY();
		end_bounded_wait(nestlevel);
	}
}

/* A one-dimensional text[] of n values (nulls: which are null, or NULL for none). */
static Datum
text_array(Datum *values, bool *nulls, int n)
{
	return PointerGetDatum(construct_md_array(values, nulls, 1, &n, (int[]) {1}, TEXTOID, -1, false,
											  TYPALIGN_INT));
}

/*
 * Whether each invitee is busy (joined to another call that has not ended)
 * and online (a socket open on a bridge heard from within
 * pgcall.presence_timeout), read by index (rowread.c) as the tables' owner:
 * a few index probes per invitee instead of a statement.
 */
typedef struct Probe
{
	Snapshot	snap;
	Datum		call_id;		/* the call being joined: not busy with it */
	Relation	part;
	Relation	call;
	Relation	presence;
	Relation	bridge;
	Oid			live_idx;
	TimestampTz seen_after;
} Probe;

static void
probe_open(Probe *pr, const char *call_id)
{
	pr->snap = pgcall_statement_snapshot();
	pr->call_id = DirectFunctionCall1(uuid_in, CStringGetDatum(call_id));
	pr->part = table_open(pgcall_relid("participant"), AccessShareLock);
	pr->call = table_open(pgcall_relid("call"), AccessShareLock);
	pr->presence = NULL;
	pr->bridge = NULL;
	pr->live_idx = pgcall_relid("participant_live_idx");
	pr->seen_after = GetCurrentTransactionStartTimestamp() -
		(TimestampTz) pgcall_presence_timeout * USECS_PER_SEC;
}

static void
probe_close(Probe *pr)
{
	table_close(pr->part, AccessShareLock);
	table_close(pr->call, AccessShareLock);
	if (pr->presence)
	{
		table_close(pr->presence, AccessShareLock);
		table_close(pr->bridge, AccessShareLock);
	}
	UnregisterSnapshot(pr->snap);
}

/* The call of id call_id has not ended (pgcall.effective_call_status <> 'ended'). */
static bool
probe_call_live(Probe *pr, Datum call_id)
{
	TupleDesc	d = RelationGetDescr(pr->call);
	IndexKey	key = {UUIDOID, call_id};
	IndexRow   *c;

	if (pgcall_index_rows(pr->call, RelationGetPrimaryKeyIndex(pr->call), &key, 1, pr->snap, 1,
						  false, &c) == 0)
		return false;
	if (pgcall_row_text_is(c, pgcall_column(d, "status"), "ended"))
		return false;
	return !(pgcall_row_text_is(c, pgcall_column(d, "status"), "ringing") &&
			 pgcall_row_past(c, pgcall_column(d, "ring_deadline")));
}

static bool
probe_busy(Probe *pr, Datum user)
{
	TupleDesc	d = RelationGetDescr(pr->part);
	IndexKey	key = {TEXTOID, user};
	IndexRow   *rows;
	int			n = pgcall_index_rows(pr->part, pr->live_idx, &key, 1, pr->snap, 0, false, &rows);

	for (int i = 0; i < n; i++)
	{
		Datum		call_id = rows[i].values[pgcall_column(d, "call_id")];

		/*
		 * The calls the user is live in, joined or being rung; the index is
		 * partial, so the row's visible version may even have left.
		 */
		if (!pgcall_row_text_is(&rows[i], pgcall_column(d, "status"), "joined") ||
			DatumGetBool(DirectFunctionCall2(uuid_eq, call_id, pr->call_id)))
			continue;
		if (probe_call_live(pr, call_id))
			return true;
	}
	return false;
}

static bool
probe_online(Probe *pr, Datum user)
{
	IndexKey	key = {TEXTOID, user};
	IndexRow   *rows;
	int			n;

	if (pr->presence == NULL)
	{
		pr->presence = table_open(pgcall_relid("presence"), AccessShareLock);
		pr->bridge = table_open(pgcall_relid("bridge"), AccessShareLock);
	}
	n = pgcall_index_rows(pr->presence, RelationGetPrimaryKeyIndex(pr->presence), &key, 1, pr->snap,
						  0, false, &rows);
	for (int i = 0; i < n; i++)
	{
		TupleDesc	pd = RelationGetDescr(pr->presence);
		TupleDesc	bd = RelationGetDescr(pr->bridge);
		IndexKey	bkey = {UUIDOID, rows[i].values[pgcall_column(pd, "bridge_id")]};
		IndexRow   *b;
		int			seen = pgcall_column(bd, "last_seen");

		if (pgcall_index_rows(pr->bridge, RelationGetPrimaryKeyIndex(pr->bridge), &bkey, 1, pr->snap,
							  1, false, &b) > 0 &&
			DatumGetTimestampTz(b->values[seen]) > pr->seen_after)
			return true;
	}
	return false;
}

/*
 * A new call's id: a UUID of version 7 (RFC 9562), the Unix time in
 * milliseconds in its first 48 bits, then 74 random bits.  Every index
 * keyed by a call id (the call's, its channel's, its participants', their
 * sessions' and the events') then grows at its right edge, in pages
 * already in memory and already written since the last checkpoint,
 * instead of touching one page at random per call, which after a
 * checkpoint puts that page's whole image in the WAL the commit flushes
 * (docs/benchmarks.md, "time-ordered call ids").  74 random bits keep ids
 * as hard to guess as before for anyone who has not seen them.
 */
Datum
pgcall_new_call_id(void)
{
	pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));
	uint64		ms = (uint64) (GetCurrentTimestamp() / 1000) +
		(uint64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;

	if (!pg_strong_random(u->data + 6, UUID_LEN - 6))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not draw random bits for a call id"),
				 errhint("Check the server's source of randomness (OpenSSL).")));
	for (int i = 0; i < 6; i++)
		u->data[i] = (uint8) (ms >> (8 * (5 - i)));
	u->data[6] = (u->data[6] & 0x0f) | 0x70;	/* version 7 */
	u->data[8] = (u->data[8] & 0x3f) | 0x80;	/* variant 10 */
	return UUIDPGetDatum(u);
}

/*
 * Write a new call's row; returns its id, and its channel in *channel_id
 * when given.  The id is drawn here and the
 * ring deadline computed (now() is the transaction's start), so the row is
 * plain values: rowread.c's writer puts it in (its triggers fired) where it
 * applies, else its INSERT, a plain VALUES row (docs/benchmarks.md, "a lean
 * call" and "fewer statements in a call").
 */
char *
pgcall_insert_call(const NewCall *nc, char **channel_id)
{
	static const char *const columns[12] = {"id", "channel_id", "kind", "media", "room_id",
		"created_by", "title", "description", "is_public", "max_participants", "status",
	"ring_deadline"};
	static const Oid types[12] = {UUIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	TEXTOID, BOOLOID, INT4OID, TEXTOID, TIMESTAMPTZOID};
	static SPIPlanPtr plan = NULL;
	Datum		v[12];
	char		n[12] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	char	   *call_id;
	char	   *channel;

	v[0] = pgcall_new_call_id();
	call_id = DatumGetCString(DirectFunctionCall1(uuid_out, v[0]));
	channel = psprintf("call-%s", call_id);
	v[1] = CStringGetTextDatum(channel);
	v[2] = CStringGetTextDatum(pgcall_call_kind_name(nc->kind));
	v[3] = CStringGetTextDatum(nc->media);
	v[4] = nc->room_id ? CStringGetTextDatum(nc->room_id) : (Datum) 0;
	n[4] = nc->room_id ? ' ' : 'n';
	v[5] = CStringGetTextDatum(nc->created_by);
	v[6] = nc->title ? CStringGetTextDatum(nc->title) : (Datum) 0;
	n[6] = nc->title ? ' ' : 'n';
	v[7] = nc->description ? CStringGetTextDatum(nc->description) : (Datum) 0;
	n[7] = nc->description ? ' ' : 'n';
	v[8] = BoolGetDatum(nc->is_public);
	v[9] = Int32GetDatum(nc->max_participants);
	v[10] = CStringGetTextDatum(pgcall_call_status_name(nc->ring_timeout > 0 ? CALL_RINGING : CALL_ACTIVE));
	v[11] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp() +
								(TimestampTz) nc->ring_timeout * USECS_PER_SEC);
	n[11] = nc->ring_timeout > 0 ? ' ' : 'n';
	if (!pgcall_write_row(pgcall_relid("call"), 12, columns, v, n))
		pgcall_exec(pgcall_plan(&plan,
								"INSERT INTO pgcall.call (id, channel_id, kind, media, room_id, created_by, "
								"title, description, is_public, max_participants, status, ring_deadline) "
								"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
								12, types), v, n, false, 0);
	if (channel_id)
		*channel_id = channel;
	return call_id;
}

/* The participant rows of pgcall_invite_users, a column each. */
typedef struct PartRows
{
	int			n;
	Datum		call_id;		/* uuid, the same for all */
	Datum	   *user_id;
	Datum	   *role;
	Datum	   *status;
	Datum	   *reason;
	bool	   *reason_null;
	Datum	   *ring_deadline;
	bool	   *ring_deadline_null;
	Datum	   *device_id;
	bool	   *device_id_null;
	Datum	   *mic_muted;
	bool		new_call;		/* the call was inserted by this transaction */
} PartRows;

/*
 * The rows written without the statement (rowread.c: pgcall_write_rows,
 * their row triggers fired), or false where that does not apply.
 */
static bool
write_participants(const PartRows *p)
{
	static const char *const names[8] = {"call_id", "user_id", "role", "status", "reason",
		"ring_deadline", "device_id", "mic_muted"};
	Datum	   *values = palloc(sizeof(Datum) * 8 * p->n);
	bool	   *nulls = palloc0(sizeof(bool) * 8 * p->n);

	for (int r = 0; r < p->n; r++)
	{
		Datum	   *v = &values[r * 8];
		bool	   *n = &nulls[r * 8];

		v[0] = p->call_id;
		v[1] = p->user_id[r];
		v[2] = p->role[r];
		v[3] = p->status[r];
		v[4] = p->reason[r];
		n[4] = p->reason_null[r];
		v[5] = p->ring_deadline[r];
		n[5] = p->ring_deadline_null[r];
		v[6] = p->device_id[r];
		n[6] = p->device_id_null[r];
		v[7] = p->mic_muted[r];
	}
	/* a new call's row is this transaction's own: its foreign key holds */
	return pgcall_write_rows(pgcall_relid("participant"), 8, names, p->n, values, nulls,
							 p->new_call ? pgcall_relid("call") : InvalidOid);
}

/*
 * Add the users in invitees (a text[] already checked by check_invitees) to
 * a call, in the given role.  Someone joined in another live call is busy;
 * with require_online, someone without an open socket misses the call as
 * unavailable; everyone else is invited and rung until ring_timeout.
 * Returns how many were invited (and ring).  creator, for a call being
 * started, is inserted with them (see below).
 */
int
pgcall_invite_users(const char *call_id, ArrayType *invitees, PartRole role, int ring_timeout,
					bool require_online, const CallCreator *creator)
{
	static SPIPlanPtr insert_plan = NULL;
	static const Oid insert_types[8] = {UUIDOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		TEXTARRAYOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID, BOOLARRAYOID};
	Datum		values[8];
	Datum	   *users;
	int			n;
	int			rows;
	int			first;
	PartRows	p;
	Datum		invitee_role = CStringGetTextDatum(pgcall_part_role_name(role));
	Datum		deadline = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp() +
											   (TimestampTz) ring_timeout * USECS_PER_SEC);
	Probe		probe;
	int			invited = 0;

	deconstruct_array(invitees, TEXTOID, -1, false, TYPALIGN_INT, &users, NULL, &n);
	first = creator ? 1 : 0;
	rows = n + first;
	p.n = rows;
	p.new_call = creator != NULL;
	p.call_id = DirectFunctionCall1(uuid_in, CStringGetDatum(call_id));
	p.user_id = palloc(sizeof(Datum) * rows);
	p.role = palloc(sizeof(Datum) * rows);
	p.status = palloc(sizeof(Datum) * rows);
	p.reason = palloc0(sizeof(Datum) * rows);
	p.ring_deadline = palloc(sizeof(Datum) * rows);
	p.device_id = palloc0(sizeof(Datum) * rows);
	p.mic_muted = palloc(sizeof(Datum) * rows);
	p.reason_null = palloc(sizeof(bool) * rows);
	p.ring_deadline_null = palloc(sizeof(bool) * rows);
	p.device_id_null = palloc(sizeof(bool) * rows);

	/*
	 * A new call: its creator first (joined, as pgcall_add_creator adds
	 * them, the microphone after their auto_mute_on_join preference), then
	 * the invitees, in one statement.  Rows and their triggers go in that
	 * order, so call.started is still queued before call.incoming.
	 */
	if (creator)
	{
		p.user_id[0] = CStringGetTextDatum(creator->user_id);
		p.role[0] = CStringGetTextDatum(pgcall_part_role_name(creator->role));
		p.status[0] = CStringGetTextDatum(pgcall_part_status_name(PART_JOINED));
		p.reason_null[0] = true;
		p.ring_deadline_null[0] = true;
		p.device_id_null[0] = creator->device_id == NULL;
		if (creator->device_id)
			p.device_id[0] = CStringGetTextDatum(creator->device_id);
		p.mic_muted[0] = BoolGetDatum(pgcall_auto_mute_on_join(creator->user_id));
	}

	probe_open(&probe, call_id);
	for (int i = 0; i < n; i++)
	{
		int			r = first + i;

		p.user_id[r] = users[i];
		p.role[r] = invitee_role;
		p.ring_deadline[r] = deadline;
		p.ring_deadline_null[r] = false;
		p.device_id_null[r] = true;
		p.mic_muted[r] = BoolGetDatum(false);
		p.reason_null[r] = false;
		if (probe_busy(&probe, users[i]))
		{
			p.status[r] = CStringGetTextDatum(pgcall_part_status_name(PART_BUSY));
			p.reason[r] = CStringGetTextDatum("busy");
		}
		else if (require_online && !probe_online(&probe, users[i]))
		{
			p.status[r] = CStringGetTextDatum(pgcall_part_status_name(PART_MISSED));
			p.reason[r] = CStringGetTextDatum("unavailable");
		}
		else
		{
			p.status[r] = CStringGetTextDatum(pgcall_part_status_name(PART_INVITED));
			p.reason_null[r] = true;
			invited++;
		}
	}
	probe_close(&probe);

	if (write_participants(&p))
		return invited;

	/*
	 * Every column is computed here (the deadline too: now() is the
	 * transaction's start), so the statement is the rows of the arrays, no
	 * expression but the unnests to start in each execution.
	 */
	values[0] = p.call_id;
	values[1] = text_array(p.user_id, NULL, rows);
	values[2] = text_array(p.role, NULL, rows);
	values[3] = text_array(p.status, NULL, rows);
	values[4] = text_array(p.reason, p.reason_null, rows);
	values[5] = PointerGetDatum(construct_md_array(p.ring_deadline, p.ring_deadline_null, 1, &rows,
												   (int[]) {1}, TIMESTAMPTZOID, sizeof(TimestampTz),
												   true, TYPALIGN_DOUBLE));
	values[6] = text_array(p.device_id, p.device_id_null, rows);
	values[7] = PointerGetDatum(construct_array(p.mic_muted, rows, BOOLOID, 1, true, TYPALIGN_CHAR));
	pgcall_exec(pgcall_plan(&insert_plan,
							"INSERT INTO pgcall.participant (call_id, user_id, role, status, reason, "
							"ring_deadline, device_id, mic_muted) "
							"SELECT $1, u, r, s, re, d, dev, m "
							"FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), "
							"pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7), "
							"pg_catalog.unnest($8)) AS x(u, r, s, re, d, dev, m)",
							8, insert_types), values, NULL, false, 0);
	return invited;
}

/*
 * The one who starts a call is in it from the start, in the given role.
 * mic_muted and camera_off are -1 (not given), 0 or 1; a microphone not
 * given follows the user's auto_mute_on_join preference (read by the insert
 * itself, as pgcall_auto_mute_on_join would, off for users without one).
 */
void
pgcall_add_creator(const char *call_id, const char *me, PartRole role,
				   const char *device_id, int mic_muted, int camera_off)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID, BOOLOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	values[0] = CStringGetTextDatum(call_id);
	values[1] = CStringGetTextDatum(me);
	values[2] = CStringGetTextDatum(pgcall_part_role_name(role));
	values[3] = device_id ? CStringGetTextDatum(device_id) : (Datum) 0;
	nulls[3] = device_id ? ' ' : 'n';
	values[4] = BoolGetDatum(mic_muted > 0);
	nulls[4] = mic_muted < 0 ? 'n' : ' ';
	values[5] = BoolGetDatum(camera_off > 0);
	pgcall_exec(pgcall_plan(&plan,
							"INSERT INTO pgcall.participant (call_id, user_id, role, status, device_id, "
							"mic_muted, camera_off) VALUES ($1::uuid, $2, $3, 'joined', $4, "
							"COALESCE($5, (SELECT pr.auto_mute_on_join FROM pgcall.preference pr "
							"WHERE pr.user_id = $2), false), $6)",
							6, types), values, nulls, false, 0);
}

/* --- expiry ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(pgcall_call_expire);

/*
 * call_expire(): mark every invitation rung past its deadline as missed and
 * end the calls that leaves with nobody.  Skips calls another session has
 * locked (it will expire them itself, or the next sweep will), so any
 * number of sweepers can run at once.  Returns the number of calls touched.
 */
Datum
pgcall_call_expire(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	uint64		n;
	Call	   *calls;

	SPI_connect();
	n = pgcall_exec(pgcall_plan(&plan,
								"SELECT " CALL_COLUMNS " FROM pgcall.call c "
								"WHERE c.id IN (SELECT p.call_id FROM pgcall.participant p "
								"  WHERE pgcall.rings_until(p.status, p.ring_deadline) <= pg_catalog.now()) "
								"AND c.status <> 'ended' "
								"ORDER BY c.created_at LIMIT 1000 FOR UPDATE OF c SKIP LOCKED",
								0, NULL), NULL, NULL, false, 0);
	calls = palloc(sizeof(Call) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		read_call_row(i, &calls[i]);
		/* the query chose calls with an invitation past its deadline */
		calls[i].pending_expired = true;
	}
	for (uint64 i = 0; i < n; i++)
		pgcall_expire_overdue(&calls[i]);
	SPI_finish();
	PG_RETURN_INT32((int32) n);
}
