/*
 * calls.c: the state-changing call_* functions.
 *
 * Each runs as SECURITY DEFINER with a pinned search_path, acts for
 * pgcall_require_user_id(), and works on one call at a time under a row lock
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
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "agora.h"
#include "calls.h"
#include "pgcall.h"

#define REASON_MAX 200

static bool
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static Datum
text_datum(const char *s)
{
	return CStringGetTextDatum(s);
}

/* --- argument checks ----------------------------------------------------- */

/* 'audio', 'voice' or 'video', any case, to 'audio' or 'video'. */
static const char *
parse_media(const char *type)
{
	if (pg_strcasecmp(type, "audio") == 0 || pg_strcasecmp(type, "voice") == 0)
		return "audio";
	if (pg_strcasecmp(type, "video") == 0)
		return "video";
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_INVALID_MEDIA),
			 errmsg("call type \"%s\" is not audio or video", type),
			 errhint("Pass type => 'audio' (or 'voice') or type => 'video'.")));
	return NULL;
}

/* Optional short free text (a reason): at most 200 bytes, no control characters. */
static void
check_reason(const char *reason, const char *what)
{
	if (reason == NULL)
		return;
	if (strlen(reason) > REASON_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_REASON),
				 errmsg("%s must be at most %d bytes long", what, REASON_MAX)));
	for (const char *p = reason; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_INVALID_REASON),
					 errmsg("%s must not contain control characters", what)));
}

static char *
opt_text(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

static char *
opt_uuid(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL
		: DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(n)));
}

static char *
req_uuid(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("%s is required", name)));
	return opt_uuid(fcinfo, n);
}

static void
check_optional_id(const char *id, const char *what)
{
	if (id != NULL)
		pgcall_check_user_id(id, what);
}

/* --- reading and locking --------------------------------------------------- */

/*
 * The columns read_call_row() reads.  The last one looks at the call's own
 * participants by call_id only (an aggregate with FILTER), so the planner
 * never reaches for the partial index of everyone being rung.
 */
#define CALL_COLUMNS \
	"id::text, kind, media, status, end_reason, channel_id, created_by, max_participants, is_public, " \
	"status = 'ringing' AND ring_deadline <= pg_catalog.now(), " \
	"status <> 'ended' AND COALESCE((SELECT min(p.ring_deadline) FILTER (WHERE p.status IN ('invited', 'ringing')) " \
	"FROM pgcall.participant p WHERE p.call_id = c.id) <= pg_catalog.now(), false)"

static void
read_call_row(uint64 row, Call *c)
{
	bool		isnull;

	c->id = pgcall_getstr(row, 1);
	c->kind = pgcall_getstr(row, 2);
	c->media = pgcall_getstr(row, 3);
	c->status = pgcall_getstr(row, 4);
	c->end_reason = pgcall_getstr(row, 5);
	c->channel_id = pgcall_getstr(row, 6);
	c->created_by = pgcall_getstr(row, 7);
	c->max_participants = DatumGetInt32(pgcall_getdatum(row, 8, &isnull));
	c->is_public = DatumGetBool(pgcall_getdatum(row, 9, &isnull));
	c->ring_expired = DatumGetBool(pgcall_getdatum(row, 10, &isnull));
	c->pending_expired = DatumGetBool(pgcall_getdatum(row, 11, &isnull));
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
	Datum		values[1] = {text_datum(key)};
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
	return true;
}

static bool
lock_call(const char *call_id, Call *c)
{
	return lock_call_by(call_id, false, c);
}

static bool
lock_call_by_channel(const char *channel_id, Call *c)
{
	return lock_call_by(channel_id, true, c);
}

static Part
get_part(const char *call_id, const char *user_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {text_datum(call_id), text_datum(user_id)};
	Part		p = {0};

	if (pgcall_exec(pgcall_plan(&plan,
								"SELECT status, role, device_id FROM pgcall.participant "
								"WHERE call_id = $1::uuid AND user_id = $2",
								2, types), values, NULL, false, 1) == 1)
	{
		p.found = true;
		p.status = pgcall_getstr(0, 1);
		p.role = pgcall_getstr(0, 2);
		p.device_id = pgcall_getstr(0, 3);
	}
	return p;
}

static void
raise_not_found(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_CALL_NOT_FOUND),
			 errmsg("call not found"),
			 errdetail("No call has %s.", what)));
}

static void
raise_not_participant(const Call *c)
{
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
			 errmsg("you are not a participant of this call"),
			 errdetail("Only the people invited to call %s can do this.", c->id)));
}

static void
raise_ended(const Call *c)
{
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_CALL_ENDED),
			 errmsg("call has already ended"),
			 errdetail("Call %s ended: %s.", c->id, c->end_reason ? c->end_reason : "unknown")));
}

/* --- transitions ------------------------------------------------------------ */

static void
set_part_status(const char *call_id, const char *user_id, const char *status,
				const char *reason)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4] = {text_datum(call_id), text_datum(user_id), text_datum(status), 0};
	char		nulls[4] = {' ', ' ', ' ', reason ? ' ' : 'n'};

	if (reason)
		values[3] = text_datum(reason);
	pgcall_exec(pgcall_plan(&plan,
							"UPDATE pgcall.participant SET status = $3, reason = $4 "
							"WHERE call_id = $1::uuid AND user_id = $2",
							4, types), values, nulls, false, 0);
}

/* End the call: every participant still in it leaves, everyone rung misses it. */
static void
end_call(Call *c, const char *reason, const char *by)
{
	static SPIPlanPtr call_plan = NULL;
	static SPIPlanPtr part_plan = NULL;
	static const Oid types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3] = {text_datum(c->id), text_datum(reason), 0};
	char		nulls[3] = {' ', ' ', by ? ' ' : 'n'};

	if (by)
		values[2] = text_datum(by);
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
	c->status = "ended";
	c->end_reason = pstrdup(reason);
}

/*
 * After someone answered, declined, missed or left: end the call if nobody
 * is left in it or being rung, with the reason that tells what happened.
 */
static void
settle(Call *c, const char *by)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {text_datum(c->id), text_datum(c->created_by)};
	bool		isnull;
	int64		pending,
				joined,
				joined_others,
				declined,
				busy,
				unavailable,
				invitees;

	if (streq(c->status, "ended"))
		return;
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

	if (streq(c->status, "ringing"))
	{
		if (pending > 0 || joined_others > 0)
			return;
		if (declined > 0)
			end_call(c, "rejected", by);
		else if (busy > 0)
			end_call(c, "busy", by);
		else if (unavailable > 0 && unavailable == invitees)
			end_call(c, "unavailable", by);
		else
			end_call(c, "missed", by);
	}
	else if (streq(c->status, "active"))
	{
		if (joined == 0 || (streq(c->kind, "direct") && joined < 2))
			end_call(c, "completed", by);
	}
}

/* Expire the invitees whose ringing deadline passed, then settle the call. */
static void
expire_call(Call *c)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1] = {text_datum(c->id)};

	if (!c->pending_expired && !c->ring_expired)
		return;
	pgcall_exec(pgcall_plan(&plan,
							"UPDATE pgcall.participant SET status = 'missed', reason = 'timeout' "
							"WHERE call_id = $1::uuid AND status IN ('invited', 'ringing') "
							"AND ring_deadline <= pg_catalog.now()",
							1, types), values, NULL, false, 0);
	c->pending_expired = false;
	c->ring_expired = false;
	settle(c, NULL);
}

/* Lock a call the current user acts on, expire it if due, check they are in it. */
static Part
open_call(const char *call_id, const char *me, Call *c)
{
	Part		p;

	if (!lock_call(call_id, c))
		raise_not_found(psprintf("the id %s", call_id));
	expire_call(c);
	p = get_part(c->id, me);
	if (!p.found)
		raise_not_participant(c);
	return p;
}

/* --- results ------------------------------------------------------------------ */

static void
append_call_json(StringInfo buf, const char *call_id)
{
	char	   *json = pgcall_call_json(call_id);

	appendStringInfoString(buf, json ? json : "null");
}

/*
 * Append ,"agora":{...} with a fresh publisher token for the current user,
 * or null when Agora is not configured and required is false.
 */
static void
append_agora(StringInfo buf, const Call *c, const char *me, int ttl, bool required)
{
	int64		expires_at;
	char	   *token;

	appendStringInfoString(buf, ",\"agora\":");
	if (!required && !pgcall_agora_configured())
	{
		appendStringInfoString(buf, "null");
		return;
	}
	token = pgcall_agora_rtc_token(c->channel_id, me, true, ttl, ttl, &expires_at);
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
static Datum
call_result(const Call *c, const char *me, bool with_agora, const char *extra)
{
	StringInfoData buf;
	bool		listed;
	char	   *json;

	/* a direct call has its two people: no need to count them */
	json = pgcall_call_json_for_reply(c->id, streq(c->kind, "direct") ? -1 : PGCALL_JOIN_REPLY_PARTICIPANTS,
									  &listed);
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"call\":");
	appendStringInfoString(&buf, json ? json : "null");
	if (with_agora)
		append_agora(&buf, c, me, pgcall_agora_token_ttl, false);
	if (!listed)
	{
		char	   *mine = pgcall_participant_json(c->id, me);

		appendStringInfo(&buf, ",\"participant\":%s", mine ? mine : "null");
	}
	if (extra)
		appendStringInfoString(&buf, extra);
	appendStringInfoChar(&buf, '}');
	return pgcall_jsonb_result(&buf);
}

/* --- answering ---------------------------------------------------------------- */

/*
 * The current user answers or (re)joins a call.  answer_only restricts it to
 * someone being rung.  Idempotent for the device that already joined.
 */
static void
join_call(Call *c, const Part *p, const char *me, const char *device_id,
		  int mic_muted, int camera_off, bool answer_only)
{
	static SPIPlanPtr count_plan = NULL;
	static SPIPlanPtr join_plan = NULL;
	static SPIPlanPtr answer_plan = NULL;
	static const Oid types[5] = {TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	bool		isnull;

	if (streq(c->status, "ended"))
		raise_ended(c);
	if (streq(p->status, "removed"))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_REMOVED),
				 errmsg("you were removed from this call"),
				 errdetail("A removed participant cannot rejoin call %s.", c->id)));
	if (streq(p->status, "joined"))
	{
		if ((device_id == NULL && p->device_id == NULL) || streq(device_id, p->device_id))
			return;
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_ALREADY_ANSWERED),
				 errmsg("call already answered on another device"),
				 errdetail("You joined call %s from device %s.", c->id,
						   p->device_id ? p->device_id : "(unnamed)"),
				 errhint("Stop ringing on this device: the call was answered elsewhere.")));
	}
	if (answer_only && !streq(p->status, "invited") && !streq(p->status, "ringing"))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TRANSITION),
				 errmsg("cannot answer: your status in this call is %s", p->status),
				 errhint("Use call_join to join a call you left or declined while it lasts.")));

	values[0] = text_datum(c->id);
	pgcall_exec(pgcall_plan(&count_plan,
							"SELECT count(*) FILTER (WHERE status = 'joined') FROM pgcall.participant WHERE call_id = $1::uuid",
							1, types), values, NULL, false, 1);
	if (DatumGetInt64(pgcall_getdatum(0, 1, &isnull)) >= c->max_participants)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_CALL_FULL),
				 errmsg("call is full"),
				 errdetail("Call %s allows %d participants at once.", c->id, c->max_participants)));

	if (streq(c->status, "ringing"))
	{
		values[1] = text_datum(me);
		pgcall_exec(pgcall_plan(&answer_plan,
								"UPDATE pgcall.call SET status = 'active', answered_by = $2 WHERE id = $1::uuid",
								2, types), values, NULL, false, 0);
		c->status = "active";
	}

	if (!p->found)
	{
		/* Admitted by pgcall_conference_admits: a public conference. */
		if (mic_muted < 0 && pgcall_auto_mute_on_join(me))
			mic_muted = 1;
		pgcall_conference_add_member(c, me, device_id, mic_muted, camera_off);
		return;
	}

	/*
	 * A microphone not given follows the user's auto_mute_on_join preference
	 * (pgcall_auto_mute_on_join), read by the update itself: muted when it
	 * says so, else as it was.
	 */
	values[1] = text_datum(me);
	values[2] = device_id ? text_datum(device_id) : (Datum) 0;
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

static int
opt_bool(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? -1 : (PG_GETARG_BOOL(n) ? 1 : 0);
}

/* call_accept and call_join: the same request, answer_only or not. */
static Datum
answer(FunctionCallInfo fcinfo, bool answer_only)
{
	const char *me = pgcall_require_user_id();
	char	   *call_id = req_uuid(fcinfo, 0, "call_id");
	char	   *device_id = opt_text(fcinfo, 1);
	Call		c;
	Part		p;

	check_optional_id(device_id, "device_id");
	SPI_connect();
	pgcall_rate_limit(me, PGCALL_LIMIT_JOIN | pgcall_token_limit_if_configured());
	if (!lock_call(call_id, &c))
		raise_not_found(psprintf("the id %s", call_id));
	expire_call(&c);
	p = get_part(c.id, me);
	/* Joining is also the way into a conference (conference.c). */
	if (!p.found && (answer_only || !pgcall_conference_admits(&c)))
		raise_not_participant(&c);
	join_call(&c, &p, me, device_id, opt_bool(fcinfo, 2), opt_bool(fcinfo, 3), answer_only);
	return call_result(&c, me, true, NULL);
}

PG_FUNCTION_INFO_V1(call_accept);

/* call_accept(call_id uuid, device_id text, mic_muted boolean, camera_off boolean) */
Datum
call_accept(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(answer(fcinfo, true));
}

PG_FUNCTION_INFO_V1(call_join);

/*
 * call_join(call_id uuid, device_id text, mic_muted boolean, camera_off boolean)
 *
 * Also the way into a conference: anyone may join a public one, only those
 * invited a private one (pgcall_conference_admits).
 */
Datum
call_join(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(answer(fcinfo, false));
}

/* --- starting ------------------------------------------------------------------ */

static void
lock_pair(const char *a, const char *b)
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

/*
 * A ringing direct call from other to me, if there is one.  It starts from
 * my own invitations (few) and looks each call up by id, never from the
 * calls that ring (many, in a busy system).
 */
static char *
glare_call(const char *me, const char *other)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {text_datum(me), text_datum(other)};

	if (pgcall_exec(pgcall_plan(&plan,
								"SELECT c.id::text FROM pgcall.participant p "
								"CROSS JOIN LATERAL (SELECT c.id, c.created_at FROM pgcall.call c "
								"  WHERE c.id = p.call_id AND c.kind = 'direct' AND c.status = 'ringing' "
								"  AND c.created_by = $2 AND c.ring_deadline > pg_catalog.now()) c "
								"WHERE p.user_id = $1 AND p.status IN ('invited', 'ringing') "
								"ORDER BY c.created_at LIMIT 1",
								2, types), values, NULL, false, 1) == 0)
		return NULL;
	return pgcall_getstr(0, 1);
}

/* The one who starts a call, for invite_users. */
typedef struct Creator
{
	const char *user_id;
	const char *role;
	const char *device_id;		/* or NULL */
} Creator;

/*
 * Add the users in invitees (a text[] already checked by check_invitees) to
 * a call, in the given role.  Someone joined in another live call is busy;
 * with require_online, someone without an open socket misses the call as
 * unavailable; everyone else is invited and rung until ring_timeout.
 * Returns how many were invited (and ring).  creator, for a call being
 * started, is inserted with them (see below).
 */
static int
invite_users(const char *call_id, ArrayType *invitees, const char *role, int ring_timeout,
			 bool require_online, const Creator *creator)
{
	static SPIPlanPtr probe = NULL;
	static const Oid probe_types[3] = {TEXTARRAYOID, UUIDOID, INT4OID};
	static SPIPlanPtr insert_plan = NULL;
	static SPIPlanPtr insert_with_creator_plan = NULL;
	static const Oid insert_types[9] = {TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTOID, INT4OID,
	TEXTOID, TEXTOID, TEXTOID};
	Datum		values[9];
	char		nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	Datum	   *statuses;
	Datum	   *reasons;
	bool	   *reason_nulls;
	int			dims[1];
	int			lbs[1] = {1};
	bool		isnull;
	uint64		n;
	int			invited = 0;

	values[0] = PointerGetDatum(invitees);
	values[1] = DirectFunctionCall1(uuid_in, CStringGetDatum(call_id));
	values[2] = Int32GetDatum(pgcall_presence_timeout);
	n = pgcall_exec(pgcall_plan(&probe,
								"SELECT busy.found IS NOT NULL, online.found IS NOT NULL "
								"FROM pg_catalog.unnest($1) WITH ORDINALITY AS x(u, i) "
								"LEFT JOIN LATERAL (SELECT 1 AS found FROM pgcall.participant p "
								"  JOIN pgcall.call c ON c.id = p.call_id "
								"  WHERE p.user_id = x.u AND p.status = 'joined' AND c.id <> $2 AND c.status <> 'ended' "
								"  AND NOT (c.status = 'ringing' AND c.ring_deadline <= pg_catalog.now()) LIMIT 1) busy ON true "
								"LEFT JOIN LATERAL (SELECT 1 AS found FROM pgcall.presence pr "
								"  JOIN pgcall.bridge b ON b.id = pr.bridge_id "
								"  WHERE pr.user_id = x.u AND b.last_seen > pg_catalog.now() - pg_catalog.make_interval(secs => $3) "
								"  LIMIT 1) online ON true "
								"ORDER BY x.i",
								3, probe_types), values, NULL, false, 0);
	statuses = palloc(sizeof(Datum) * n);
	reasons = palloc(sizeof(Datum) * n);
	reason_nulls = palloc0(sizeof(bool) * n);
	for (uint64 i = 0; i < n; i++)
	{
		bool		busy = DatumGetBool(pgcall_getdatum(i, 1, &isnull));
		bool		online = DatumGetBool(pgcall_getdatum(i, 2, &isnull));

		if (busy)
		{
			statuses[i] = text_datum("busy");
			reasons[i] = text_datum("busy");
		}
		else if (require_online && !online)
		{
			statuses[i] = text_datum("missed");
			reasons[i] = text_datum("unavailable");
		}
		else
		{
			statuses[i] = text_datum("invited");
			reason_nulls[i] = true;
			invited++;
		}
	}
	dims[0] = (int) n;
	values[0] = text_datum(call_id);
	values[1] = PointerGetDatum(invitees);
	values[2] = PointerGetDatum(construct_array(statuses, (int) n, TEXTOID, -1, false, TYPALIGN_INT));
	values[3] = PointerGetDatum(construct_md_array(reasons, reason_nulls, 1, dims, lbs,
												   TEXTOID, -1, false, TYPALIGN_INT));
	values[4] = text_datum(role);
	values[5] = Int32GetDatum(ring_timeout);
	if (creator == NULL)
	{
		pgcall_exec(pgcall_plan(&insert_plan,
								"INSERT INTO pgcall.participant (call_id, user_id, role, status, reason, ring_deadline) "
								"SELECT $1::uuid, u, $5, s, r, pg_catalog.now() + pg_catalog.make_interval(secs => $6) "
								"FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4)) AS x(u, s, r)",
								6, insert_types), values, NULL, false, 0);
		return invited;
	}

	/*
	 * A new call: its creator first (joined, as pgcall_call_add_creator
	 * adds them, the microphone after their auto_mute_on_join preference),
	 * then the invitees, in one statement.  Rows and their triggers go in
	 * that order, so call.started is still queued before call.incoming.
	 */
	values[6] = text_datum(creator->user_id);
	values[7] = text_datum(creator->role);
	values[8] = creator->device_id ? text_datum(creator->device_id) : (Datum) 0;
	nulls[8] = creator->device_id ? ' ' : 'n';
	pgcall_exec(pgcall_plan(&insert_with_creator_plan,
							"INSERT INTO pgcall.participant (call_id, user_id, role, status, reason, ring_deadline, "
							"device_id, mic_muted) "
							"SELECT $1::uuid, $7, $8, 'joined', NULL, NULL, $9, "
							"COALESCE((SELECT pr.auto_mute_on_join FROM pgcall.preference pr WHERE pr.user_id = $7), false) "
							"UNION ALL "
							"SELECT $1::uuid, u, $5, s, r, pg_catalog.now() + pg_catalog.make_interval(secs => $6), NULL, false "
							"FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4)) AS x(u, s, r)",
							9, insert_types), values, nulls, false, 0);
	return invited;
}

/*
 * The max_participants argument n of a function, or dflt when it is null:
 * 2 to 10000.
 */
int
pgcall_call_max_participants_arg(FunctionCallInfo fcinfo, int n, int dflt)
{
	int			max;

	if (PG_ARGISNULL(n))
		return dflt;
	max = PG_GETARG_INT32(n);
	if (max < 2 || max > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_INVITEES),
				 errmsg("max_participants must be between 2 and 10000"),
				 errdetail("The value given is %d.", max)));
	return max;
}

/*
 * The one who starts a call is in it from the start, in the given role.
 * mic_muted and camera_off are -1 (not given), 0 or 1; a microphone not
 * given follows the user's auto_mute_on_join preference (read by the insert
 * itself, as pgcall_auto_mute_on_join would, off for users without one).
 */
void
pgcall_call_add_creator(const char *call_id, const char *me, const char *role,
						const char *device_id, int mic_muted, int camera_off)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID, BOOLOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	values[0] = text_datum(call_id);
	values[1] = text_datum(me);
	values[2] = text_datum(role);
	values[3] = device_id ? text_datum(device_id) : (Datum) 0;
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

typedef struct StartArgs
{
	ArrayType  *invitees;
	const char *media;
	const char *room_id;
	int			max_participants;	/* 0: default */
	int			ring_timeout;	/* 0: default */
	int			is_group;		/* -1: decide by count */
	bool		require_online;
	const char *device_id;
} StartArgs;

/* Validate and deduplicate-check the invitees; returns them as C strings. */
static char **
check_invitees(ArrayType *arr, const char *me, int *count)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	  **out;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_INVITEES),
				 errmsg("invitees must be a one-dimensional array of user ids")));
	/* Counted before anything is copied: the list may be huge. */
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (n > pgcall_max_invitees)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_TOO_MANY_INVITEES),
				 errmsg("too many invitees: %d, at most %d can be invited at once", n,
						pgcall_max_invitees),
				 errdetail("Every invitee is rung and told about everyone else in the call."),
				 errhint("Invite fewer people, or ask an administrator to raise pgcall.max_invitees.")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_INVITEES),
				 errmsg("invitees must name at least one user"),
				 errhint("Pass invitees => ARRAY['<user id>'] (over HTTP: \"invitees\": [\"<user id>\"]).")));
	out = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_INVALID_INVITEES),
					 errmsg("invitees must not contain null")));
		out[i] = TextDatumGetCString(elems[i]);
		pgcall_check_user_id(out[i], "an invitee's user id");
		if (strcmp(out[i], me) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_INVALID_INVITEES),
					 errmsg("you cannot invite yourself"),
					 errdetail("invitees contains your own user id.")));
		for (int j = 0; j < i; j++)
			if (strcmp(out[i], out[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_PGCALL_INVALID_INVITEES),
						 errmsg("invitee \"%s\" is listed twice", out[i])));
	}
	*count = n;
	return out;
}

/*
 * Create a call from me to the invitees.  Returns the call, locked; *glare
 * says that it is instead the other person's ringing call, now answered.
 */
static void
start_call(const StartArgs *a, const char *me, Call *c, bool *glare)
{
	static SPIPlanPtr insert_call = NULL;
	static const Oid call_types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID};
	int			n;
	char	  **invitees = check_invitees(a->invitees, me, &n);
	bool		direct = (n == 1 && a->is_group != 1);
	int			max = a->max_participants;
	int			ring_timeout = a->ring_timeout ? a->ring_timeout : pgcall_ring_timeout;
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	char	   *call_id;
	char	   *channel_id;
	int			invited;
	Creator		creator;

	*glare = false;
	/*
	 * max_participants caps who is joined at once, not who is invited: the
	 * first to answer get in, later ones find the call full.
	 */
	if (max == 0)
		max = direct ? 2 : pgcall_max_participants;
	if (direct && max != 2)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_INVITEES),
				 errmsg("a direct call has exactly two participants"),
				 errhint("Pass is_group => true for a group call with one invitee.")));

	if (direct)
	{
		char	   *other_call;

		lock_pair(me, invitees[0]);
		other_call = glare_call(me, invitees[0]);
		if (other_call)
		{
			Part		p;

			if (!lock_call(other_call, c))
				raise_not_found(psprintf("the id %s", other_call));
			p = get_part(c->id, me);
			join_call(c, &p, me, a->device_id, -1, -1, true);
			*glare = true;
			return;
		}
	}

	values[0] = text_datum(direct ? "direct" : "group");
	values[1] = text_datum(a->media);
	values[2] = a->room_id ? text_datum(a->room_id) : (Datum) 0;
	nulls[2] = a->room_id ? ' ' : 'n';
	values[3] = text_datum(me);
	values[4] = Int32GetDatum(max);
	values[5] = Int32GetDatum(ring_timeout);
	pgcall_exec(pgcall_plan(&insert_call,
							"WITH n AS (SELECT pg_catalog.gen_random_uuid() AS id) "
							"INSERT INTO pgcall.call (id, channel_id, kind, media, room_id, created_by, "
							"max_participants, status, ring_deadline) "
							"SELECT id, 'call-' || id::text, $1, $2, $3, $4, $5, 'ringing', "
							"pg_catalog.now() + pg_catalog.make_interval(secs => $6) FROM n "
							"RETURNING id::text, channel_id",
							6, call_types), values, nulls, false, 0);
	call_id = pgcall_getstr(0, 1);
	channel_id = pgcall_getstr(0, 2);

	/* Who is busy shows now, even if this transaction rolls back. */
	pgcall_rate_limit_probe(me, PGCALL_LIMIT_CALL, 1);
	creator.user_id = me;
	creator.role = direct ? "caller" : "host";
	creator.device_id = a->device_id;
	pgcall_triggers_fresh_call(call_id);
	invited = invite_users(call_id, a->invitees, direct ? "callee" : "member", ring_timeout,
						   a->require_online, &creator);
	pgcall_triggers_fresh_call(NULL);

	if (invited == 0)
	{
		/* Nobody rings (all busy or offline): the call ends at once. */
		if (!lock_call(call_id, c))
			elog(ERROR, "call %s vanished while starting it", call_id);
		settle(c, NULL);
		return;
	}

	/*
	 * Someone rings, so the call is as inserted and settle() would leave it
	 * be.  Nobody else can see, let alone lock, a row this transaction has
	 * just inserted, so there is nothing to lock or read back either; its
	 * deadlines are at least 5 seconds away (ring_timeout).
	 */
	memset(c, 0, sizeof(Call));
	c->id = call_id;
	c->kind = direct ? "direct" : "group";
	c->media = pstrdup(a->media);
	c->status = "ringing";
	c->end_reason = NULL;
	c->channel_id = channel_id;
	c->created_by = pstrdup(me);
	c->max_participants = max;
	c->is_public = false;
	c->ring_expired = false;
	c->pending_expired = false;
}

static StartArgs
start_args(FunctionCallInfo fcinfo, int invitees_arg, int type_arg)
{
	StartArgs	a = {0};

	if (PG_ARGISNULL(invitees_arg))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("invitees is required"),
				 errhint("Pass the user ids to call as invitees => ARRAY['<user id>'].")));
	a.invitees = PG_GETARG_ARRAYTYPE_P(invitees_arg);
	a.media = parse_media(PG_ARGISNULL(type_arg) ? "audio" : text_to_cstring(PG_GETARG_TEXT_PP(type_arg)));
	a.is_group = -1;
	return a;
}

static int
ring_timeout_arg(FunctionCallInfo fcinfo, int n)
{
	int			v;

	if (PG_ARGISNULL(n))
		return 0;
	v = PG_GETARG_INT32(n);
	if (v < 5 || v > 600)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TTL),
				 errmsg("ring_timeout must be between 5 and 600 seconds"),
				 errdetail("The value given is %d.", v),
				 errhint("Omit it to use pgcall.ring_timeout (%d seconds).", pgcall_ring_timeout)));
	return v;
}

PG_FUNCTION_INFO_V1(call_start);

/*
 * call_start(invitees text[], type text, room_id text, max_participants
 *            integer, ring_timeout integer, is_group boolean,
 *            require_online boolean, device_id text)
 */
Datum
call_start(PG_FUNCTION_ARGS)
{
	const char *me = pgcall_require_user_id();
	StartArgs	a = start_args(fcinfo, 0, 1);
	Call		c;
	bool		glare;

	a.room_id = opt_text(fcinfo, 2);
	check_optional_id(a.room_id, "room_id");
	a.max_participants = pgcall_call_max_participants_arg(fcinfo, 3, 0);
	a.ring_timeout = ring_timeout_arg(fcinfo, 4);
	a.is_group = PG_ARGISNULL(5) ? -1 : PG_GETARG_BOOL(5);
	a.require_online = PG_ARGISNULL(6) ? false : PG_GETARG_BOOL(6);
	a.device_id = opt_text(fcinfo, 7);
	check_optional_id(a.device_id, "device_id");

	SPI_connect();
	pgcall_rate_limit(me, PGCALL_LIMIT_CALL | pgcall_token_limit_if_configured());
	start_call(&a, me, &c, &glare);
	PG_RETURN_DATUM(call_result(&c, me, !streq(c.status, "ended"),
								glare ? ",\"glare\":true" : ",\"glare\":false"));
}

/*
 * Refuse to ring more people in call c than pgcall.max_invitees in all,
 * counting those invited before (every invitee's row has a ring deadline;
 * the host's and those who joined a public conference on their own do
 * not), so that invites one after the other reach no further than one
 * call_start could.
 */
static void
check_invite_total(const Call *c, int adding)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1] = {text_datum(c->id)};
	bool		isnull;
	int64		invited;

	pgcall_exec(pgcall_plan(&plan,
							"SELECT count(*) FROM pgcall.participant "
							"WHERE call_id = $1::uuid AND ring_deadline IS NOT NULL",
							1, types), values, NULL, false, 1);
	invited = DatumGetInt64(pgcall_getdatum(0, 1, &isnull));
	if (invited + adding > pgcall_max_invitees)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVITE_LIMIT),
				 errmsg("call has already rung %lld people; %d more would pass the %d allowed",
						(long long) invited, adding, pgcall_max_invitees),
				 errdetail("A call may ring at most pgcall.max_invitees people in all."),
				 errhint("Start a new call for more people, or ask an administrator to raise pgcall.max_invitees.")));
}

PG_FUNCTION_INFO_V1(call_invite);

/*
 * call_invite(call_id uuid, invitees text[], ring_timeout integer,
 *             require_online boolean): add people to a live group call.
 * Anyone in the call may invite; people already in it are refused.
 */
Datum
call_invite(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr existing = NULL;
	static const Oid types[2] = {TEXTOID, TEXTARRAYOID};
	const char *me = pgcall_require_user_id();
	char	   *call_id = req_uuid(fcinfo, 0, "call_id");
	int			ring_timeout = ring_timeout_arg(fcinfo, 2);
	bool		require_online = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);
	ArrayType  *invitees;
	Datum		values[2];
	Call		c;
	Part		p;
	int			n;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("invitees is required")));
	invitees = PG_GETARG_ARRAYTYPE_P(1);
	(void) check_invitees(invitees, me, &n);

	SPI_connect();
	pgcall_rate_limit_amount(me, PGCALL_LIMIT_INVITE, NULL, n);
	p = open_call(call_id, me, &c);
	if (streq(c.status, "ended"))
		raise_ended(&c);
	if (streq(c.kind, "direct"))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TRANSITION),
				 errmsg("a direct call has exactly two participants"),
				 errhint("Start a group call with everyone instead.")));
	pgcall_conference_check_invite(&c, me);
	if (!streq(p.status, "joined"))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
				 errmsg("you are not in this call: your status is %s", p.status),
				 errhint("Join the call before inviting others.")));
	values[0] = text_datum(c.id);
	values[1] = PointerGetDatum(invitees);
	if (pgcall_exec(pgcall_plan(&existing,
								"SELECT user_id FROM pgcall.participant "
								"WHERE call_id = $1::uuid AND user_id = ANY ($2) LIMIT 1",
								2, types), values, NULL, false, 1) == 1)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_INVITEES),
				 errmsg("\"%s\" is already a participant of this call", pgcall_getstr(0, 1)),
				 errhint("Someone who left or declined can rejoin with call_join.")));
	check_invite_total(&c, n);
	pgcall_rate_limit_probe(me, PGCALL_LIMIT_INVITE, n);
	invite_users(c.id, invitees, "member", ring_timeout ? ring_timeout : pgcall_ring_timeout,
				 require_online, NULL);
	PG_RETURN_DATUM(call_result(&c, me, false, NULL));
}

/* --- the seed-000 session flow --------------------------------------------- */

PG_FUNCTION_INFO_V1(call_session);

/*
 * call_session(other_user text, type text, channel_id text)
 *
 * Without a channel: call other_user (a direct call) and get a token.  With
 * the channel of a direct call between the two: answer it (or, for the
 * caller, get a fresh token) and get a token.
 */
Datum
call_session(PG_FUNCTION_ARGS)
{
	const char *me = pgcall_require_user_id();
	char	   *other;
	char	   *channel_id = opt_text(fcinfo, 2);
	const char *media;
	Call		c;
	StringInfoData buf;
	int64		expires_at;
	char	   *token;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("other_user is required"),
				 errhint("Pass the user id of the person to call (or who called you) as other_user.")));
	other = text_to_cstring(PG_GETARG_TEXT_PP(0));
	pgcall_check_user_id(other, "other_user");
	media = parse_media(PG_ARGISNULL(1) ? "audio" : text_to_cstring(PG_GETARG_TEXT_PP(1)));
	(void) pgcall_agora_require_app_id();

	SPI_connect();
	pgcall_rate_limit(me, (channel_id == NULL ? PGCALL_LIMIT_CALL : PGCALL_LIMIT_JOIN) |
					  PGCALL_LIMIT_TOKEN);
	if (channel_id == NULL)
	{
		StartArgs	a = {0};
		Datum		elem = text_datum(other);
		bool		glare;

		a.invitees = construct_array(&elem, 1, TEXTOID, -1, false, TYPALIGN_INT);
		a.media = media;
		a.is_group = 0;
		start_call(&a, me, &c, &glare);
	}
	else
	{
		Part		p;
		Part		o;

		if (!lock_call_by_channel(channel_id, &c))
			raise_not_found(psprintf("the channel %s", channel_id));
		expire_call(&c);
		p = get_part(c.id, me);
		o = get_part(c.id, other);
		if (!p.found || !o.found || !streq(c.kind, "direct"))
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
					 errmsg("channel %s is not a call between you and %s", channel_id, other),
					 errdetail("Only the two people in a direct call can join its channel.")));
		if (!streq(c.created_by, me))
			join_call(&c, &p, me, NULL, -1, -1, false);
		else if (streq(c.status, "ended"))
			raise_ended(&c);
	}

	token = pgcall_agora_rtc_token(c.channel_id, me, true, pgcall_agora_token_ttl,
								   pgcall_agora_token_ttl, &expires_at);
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"app_id\":");
	escape_json(&buf, pgcall_agora_require_app_id());
	appendStringInfoString(&buf, ",\"channel_id\":");
	escape_json(&buf, c.channel_id);
	appendStringInfoString(&buf, ",\"token\":");
	escape_json(&buf, token);
	appendStringInfo(&buf, ",\"expire_at\":" INT64_FORMAT ",\"type\":\"%s\",\"account\":",
					 expires_at, c.media);
	escape_json(&buf, me);
	appendStringInfo(&buf, ",\"call_id\":\"%s\",\"status\":\"%s\"", c.id, c.status);
	appendStringInfoString(&buf, ",\"call\":");
	append_call_json(&buf, c.id);
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(pgcall_jsonb_result(&buf));
}

/* --- declining, cancelling, leaving, ending ------------------------------------- */

PG_FUNCTION_INFO_V1(call_reject);

/* call_reject(call_id uuid, reason text) */
Datum
call_reject(PG_FUNCTION_ARGS)
{
	const char *me = pgcall_require_user_id();
	char	   *call_id = req_uuid(fcinfo, 0, "call_id");
	char	   *reason = opt_text(fcinfo, 1);
	Call		c;
	Part		p;

	check_reason(reason, "reason");
	SPI_connect();
	p = open_call(call_id, me, &c);
	if (streq(c.status, "ended"))
		raise_ended(&c);
	if (streq(c.created_by, me))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TRANSITION),
				 errmsg("you cannot decline your own call"),
				 errhint("Use call_cancel while it rings, or call_end.")));
	if (streq(p.status, "joined"))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_ALREADY_ANSWERED),
				 errmsg("call already answered"),
				 errdetail("You joined call %s%s%s.", c.id, p.device_id ? " from device " : "",
						   p.device_id ? p.device_id : ""),
				 errhint("Use call_leave or call_end to hang up.")));
	if (!streq(p.status, "declined"))
	{
		set_part_status(c.id, me, "declined", reason);
		settle(&c, me);
	}
	PG_RETURN_DATUM(call_result(&c, me, false, NULL));
}

PG_FUNCTION_INFO_V1(call_cancel);

/* call_cancel(call_id uuid): the caller hangs up before anyone answered. */
Datum
call_cancel(PG_FUNCTION_ARGS)
{
	const char *me = pgcall_require_user_id();
	char	   *call_id = req_uuid(fcinfo, 0, "call_id");
	Call		c;

	SPI_connect();
	(void) open_call(call_id, me, &c);
	if (!streq(c.created_by, me))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_HOST),
				 errmsg("only the caller can cancel a call"),
				 errhint("Use call_reject to decline a call you are invited to.")));
	if (streq(c.status, "ended"))
		raise_ended(&c);
	if (streq(c.status, "active"))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_ALREADY_ANSWERED),
				 errmsg("call already answered"),
				 errhint("Use call_end to hang up a call in progress.")));
	end_call(&c, "cancelled", me);
	PG_RETURN_DATUM(call_result(&c, me, false, NULL));
}

PG_FUNCTION_INFO_V1(call_leave);

/* call_leave(call_id uuid): hang up your own part of the call. */
Datum
call_leave(PG_FUNCTION_ARGS)
{
	const char *me = pgcall_require_user_id();
	char	   *call_id = req_uuid(fcinfo, 0, "call_id");
	Call		c;
	Part		p;

	SPI_connect();
	p = open_call(call_id, me, &c);
	if (streq(c.status, "ended"))
		raise_ended(&c);
	if (!streq(p.status, "joined"))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TRANSITION),
				 errmsg("you are not in this call: your status is %s", p.status),
				 errhint("Use call_reject to decline a call that rings.")));
	if (streq(c.status, "ringing") && streq(c.created_by, me))
		end_call(&c, "cancelled", me);
	else
	{
		set_part_status(c.id, me, "left", NULL);
		settle(&c, me);
	}
	PG_RETURN_DATUM(call_result(&c, me, false, NULL));
}

PG_FUNCTION_INFO_V1(call_end);

/*
 * call_end(call_id uuid, channel_id text, reason text)
 *
 * Ends the call for everyone.  In a direct call either person may; in a
 * group call only the host.  While it rings, the caller's end is a cancel
 * and the callee's a decline.  reason is completed (default) or failed.
 */
Datum
call_end(PG_FUNCTION_ARGS)
{
	const char *me = pgcall_require_user_id();
	char	   *call_id = opt_uuid(fcinfo, 0);
	char	   *channel_id = opt_text(fcinfo, 1);
	char	   *reason = opt_text(fcinfo, 2);
	Call		c;
	Part		p;
	StringInfoData extra;

	if ((call_id == NULL) == (channel_id == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("pass either call_id or channel_id"),
				 errdetail("Exactly one of them identifies the call to end.")));
	if (reason && !streq(reason, "completed") && !streq(reason, "failed"))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_REASON),
				 errmsg("end reason \"%s\" is not completed or failed", reason),
				 errhint("Use failed when the media connection could not be established or broke.")));

	SPI_connect();
	if (call_id)
	{
		if (!lock_call(call_id, &c))
			raise_not_found(psprintf("the id %s", call_id));
	}
	else if (!lock_call_by_channel(channel_id, &c))
		raise_not_found(psprintf("the channel %s", channel_id));
	expire_call(&c);
	p = get_part(c.id, me);
	if (!p.found)
		raise_not_participant(&c);
	if (streq(c.status, "ended"))
		raise_ended(&c);
	if (!streq(c.kind, "direct") && !streq(c.created_by, me))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_HOST),
				 errmsg("only the host can end a group call for everyone"),
				 errhint("Use call_leave to hang up your own part of the call.")));

	if (streq(c.status, "ringing"))
	{
		if (streq(c.created_by, me))
			end_call(&c, "cancelled", me);
		else
		{
			set_part_status(c.id, me, "declined", NULL);
			settle(&c, me);
		}
	}
	else
		end_call(&c, reason ? reason : "completed", me);

	initStringInfo(&extra);
	appendStringInfo(&extra, ",\"call_id\":\"%s\",\"channel_id\":", c.id);
	escape_json(&extra, c.channel_id);
	PG_RETURN_DATUM(call_result(&c, me, false, extra.data));
}

/* --- status and media -------------------------------------------------------- */

PG_FUNCTION_INFO_V1(call_set_status);

/*
 * call_set_status(call_id uuid, status text, reason text): the participant
 * status API of seed 001.  joined answers or rejoins, declined rejects, left
 * leaves; ringing tells the caller that a device rings; missed and busy
 * settle an invitation from the device's side.
 */
Datum
call_set_status(PG_FUNCTION_ARGS)
{
	const char *me = pgcall_require_user_id();
	char	   *call_id = req_uuid(fcinfo, 0, "call_id");
	char	   *status = opt_text(fcinfo, 1);
	char	   *reason = opt_text(fcinfo, 2);
	Call		c;
	Part		p;

	if (status == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("status is required")));
	if (!streq(status, "invited") && !streq(status, "ringing") && !streq(status, "joined") &&
		!streq(status, "left") && !streq(status, "declined") && !streq(status, "missed") &&
		!streq(status, "busy"))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_STATUS),
				 errmsg("participant status \"%s\" is not one of invited, ringing, joined, left, declined, missed, busy", status)));
	check_reason(reason, "reason");

	SPI_connect();
	if (streq(status, "joined"))
		pgcall_rate_limit(me, PGCALL_LIMIT_JOIN);
	p = open_call(call_id, me, &c);
	if (streq(c.status, "ended"))
		raise_ended(&c);
	if (streq(status, "joined"))
	{
		/* This API names no device: joined again is joined already. */
		if (!streq(p.status, "joined"))
			join_call(&c, &p, me, NULL, -1, -1, false);
	}
	else if (streq(status, "left") && streq(c.status, "ringing") && streq(c.created_by, me))
		end_call(&c, "cancelled", me);
	else if (!streq(status, p.status))
	{
		if (streq(c.created_by, me) && !streq(status, "left"))
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_INVALID_TRANSITION),
					 errmsg("the caller's status can only become left"),
					 errhint("Use call_cancel or call_end to stop your own call.")));
		set_part_status(c.id, me, status, reason);
		settle(&c, me);
	}
	PG_RETURN_DATUM(call_result(&c, me, false, NULL));
}

PG_FUNCTION_INFO_V1(call_set_media);

/*
 * call_set_media(call_id uuid, mic_muted boolean, camera_off boolean, sharing_screen boolean)
 *
 * Counts against pgcall.rate_limit_media; a request that changes nothing
 * writes nothing and tells nobody.
 */
Datum
call_set_media(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[5] = {TEXTOID, TEXTOID, BOOLOID, BOOLOID, BOOLOID};
	const char *me = pgcall_require_user_id();
	char	   *call_id = req_uuid(fcinfo, 0, "call_id");
	Call		c;
	Part		p;
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	if (PG_ARGISNULL(1) && PG_ARGISNULL(2) && PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("pass at least one of mic_muted, camera_off and sharing_screen")));
	SPI_connect();
	pgcall_rate_limit(me, PGCALL_LIMIT_MEDIA);
	p = open_call(call_id, me, &c);
	if (streq(c.status, "ended"))
		raise_ended(&c);
	if (!streq(p.status, "joined") && !streq(p.status, "invited") && !streq(p.status, "ringing"))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TRANSITION),
				 errmsg("you are not in this call: your status is %s", p.status),
				 errhint("Join the call first with call_join.")));
	values[0] = text_datum(c.id);
	values[1] = text_datum(me);
	for (int i = 0; i < 3; i++)
	{
		values[2 + i] = PG_ARGISNULL(1 + i) ? (Datum) 0 : PG_GETARG_DATUM(1 + i);
		nulls[2 + i] = PG_ARGISNULL(1 + i) ? 'n' : ' ';
	}
	pgcall_exec(pgcall_plan(&plan,
							"UPDATE pgcall.participant SET mic_muted = COALESCE($3, mic_muted), "
							"camera_off = COALESCE($4, camera_off), sharing_screen = COALESCE($5, sharing_screen) "
							"WHERE call_id = $1::uuid AND user_id = $2 "
							"AND (mic_muted, camera_off, sharing_screen) IS DISTINCT FROM "
							"(COALESCE($3, mic_muted), COALESCE($4, camera_off), COALESCE($5, sharing_screen))",
							5, types), values, nulls, false, 0);
	PG_RETURN_DATUM(call_result(&c, me, false, NULL));
}

PG_FUNCTION_INFO_V1(call_media_session);

/* call_media_session(call_id uuid, ttl integer): a fresh Agora token for this call. */
Datum
call_media_session(PG_FUNCTION_ARGS)
{
	const char *me = pgcall_require_user_id();
	char	   *call_id = req_uuid(fcinfo, 0, "call_id");
	int			ttl = PG_ARGISNULL(1) ? pgcall_agora_token_ttl : PG_GETARG_INT32(1);
	Call		c;
	Part		p;
	StringInfoData buf;

	/* A participant may ask for a shorter token, never a longer one. */
	if (ttl > pgcall_agora_token_ttl)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TTL),
				 errmsg("ttl must be at most pgcall.agora_token_ttl (%d seconds)", pgcall_agora_token_ttl),
				 errdetail("The value given is %d.", ttl),
				 errhint("Omit ttl for a token of the configured lifetime, and ask for a fresh one before it expires.")));
	(void) pgcall_agora_require_app_id();
	SPI_connect();
	pgcall_rate_limit(me, PGCALL_LIMIT_TOKEN);
	p = open_call(call_id, me, &c);
	if (streq(c.status, "ended"))
		raise_ended(&c);
	if (!streq(p.status, "joined") && !streq(p.status, "invited") && !streq(p.status, "ringing"))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
				 errmsg("you are not in this call: your status is %s", p.status),
				 errhint("Join the call with call_join before asking for a media session.")));
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"call_id\":");
	escape_json(&buf, c.id);
	append_agora(&buf, &c, me, ttl, true);
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(pgcall_jsonb_result(&buf));
}

/* --- signaling ------------------------------------------------------------------ */

static bool
in_call(const char *status)
{
	return streq(status, "invited") || streq(status, "ringing") || streq(status, "joined");
}

PG_FUNCTION_INFO_V1(call_signal);

/*
 * call_signal(call_id uuid, to_user text, kind text, payload jsonb)
 *
 * Relays a WebRTC message to another participant of the same live call as
 * a call.signal event.  Payloads up to pgcall.signal_max_bytes (16 KiB: an
 * SDP offer with audio, simulcast video and data is 5 to 10 KB): SDPs do
 * not fit in NOTIFY, so they travel in the event log and NOTIFY carries
 * only ids.  Every row is disk, so each sender has a budget per call,
 * pgcall.rate_limit_signals signals and pgcall.rate_limit_signal_bytes
 * bytes a minute, counted once the call and both people are checked (a
 * request about a call it cannot signal in counts nothing, and leaves no
 * row behind).
 */
Datum
call_signal(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[3] = {TEXTOID, TEXTOID, TEXTOID};
	static const char *const kinds[] = {"offer", "answer", "candidate", "end_of_candidates",
	"renegotiate", NULL};
	const char *me = pgcall_require_user_id();
	char	   *call_id = req_uuid(fcinfo, 0, "call_id");
	char	   *to_user;
	char	   *kind;
	char	   *payload = "null";
	size_t		payload_len = 4;
	bool		known = false;
	Datum		values[3];
	uint64		n;
	char	   *call_status = NULL;
	char	   *end_reason = NULL;
	char	   *my_status = NULL;
	char	   *their_status = NULL;
	StringInfoData data;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("to_user is required")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("kind is required"),
				 errhint("kind is offer, answer, candidate, end_of_candidates or renegotiate.")));
	to_user = text_to_cstring(PG_GETARG_TEXT_PP(1));
	kind = text_to_cstring(PG_GETARG_TEXT_PP(2));
	pgcall_check_user_id(to_user, "to_user");
	for (int i = 0; kinds[i]; i++)
		known |= streq(kind, kinds[i]);
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_SIGNAL),
				 errmsg("signal kind \"%s\" is unknown", kind),
				 errhint("kind is offer, answer, candidate, end_of_candidates or renegotiate.")));
	if (strcmp(to_user, me) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_SIGNAL),
				 errmsg("you cannot signal yourself"),
				 errhint("to_user names the other participant.")));
	if (!PG_ARGISNULL(3))
	{
		Jsonb	   *j = PG_GETARG_JSONB_P(3);

		/*
		 * Refuse a huge value before printing it: the binary form is never
		 * more than about six times the text (a small number, "1,", takes
		 * 12 bytes), so eight times the limit leaves room.
		 */
		if (VARSIZE(j) > (Size) pgcall_signal_max_bytes * 8)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_PAYLOAD_TOO_LARGE),
					 errmsg("signal payload is larger than the %d bytes allowed", pgcall_signal_max_bytes),
					 errhint("Send ICE candidates one by one or in small batches; the limit is the setting pgcall.signal_max_bytes.")));
		payload = JsonbToCString(NULL, &j->root, VARSIZE(j));
		payload_len = strlen(payload);
		if (payload_len > (size_t) pgcall_signal_max_bytes)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_PAYLOAD_TOO_LARGE),
					 errmsg("signal payload is %zu bytes, more than the %d allowed",
							payload_len, pgcall_signal_max_bytes),
					 errhint("Send ICE candidates one by one or in small batches; the limit is the setting pgcall.signal_max_bytes.")));
	}

	SPI_connect();
	values[0] = text_datum(call_id);
	values[1] = text_datum(me);
	values[2] = text_datum(to_user);
	n = pgcall_exec(pgcall_plan(&plan,
								"SELECT CASE WHEN c.status = 'ringing' AND c.ring_deadline <= pg_catalog.now() "
								"THEN 'ended' ELSE c.status END, c.end_reason, "
								"(SELECT status FROM pgcall.participant WHERE call_id = c.id AND user_id = $2), "
								"(SELECT status FROM pgcall.participant WHERE call_id = c.id AND user_id = $3) "
								"FROM pgcall.call c WHERE c.id = $1::uuid",
								3, types), values, NULL, false, 1);
	if (n == 1)
	{
		call_status = pgcall_getstr(0, 1);
		end_reason = pgcall_getstr(0, 2);
		my_status = pgcall_getstr(0, 3);
		their_status = pgcall_getstr(0, 4);
	}
	if (n == 0)
		raise_not_found(psprintf("the id %s", call_id));
	if (my_status == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
				 errmsg("you are not a participant of this call")));
	if (streq(call_status, "ended"))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_CALL_ENDED),
				 errmsg("call has already ended"),
				 errdetail("Call %s ended: %s.", call_id, end_reason ? end_reason : "missed")));
	if (!in_call(my_status))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
				 errmsg("you are not in this call: your status is %s", my_status)));
	if (!in_call(their_status))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
				 errmsg("%s is not in this call", to_user),
				 errdetail("Signals go only to participants who are in the call or being rung.")));
	pgcall_rate_limit_amount(me, PGCALL_LIMIT_SIGNAL | PGCALL_LIMIT_SIGNAL_BYTES, call_id,
							 (int32) payload_len);

	initStringInfo(&data);
	appendStringInfoString(&data, "{\"from\":");
	escape_json(&data, me);
	appendStringInfoString(&data, ",\"to\":");
	escape_json(&data, to_user);
	appendStringInfoString(&data, ",\"kind\":");
	escape_json(&data, kind);
	appendStringInfo(&data, ",\"payload\":%s}", payload);
	pgcall_event_queue("call.signal", call_id, list_make1(to_user), data.data,
					   PGCALL_EVENT_NO_CALL, NULL);
	SPI_finish();
	PG_RETURN_VOID();
}

/* --- reading one call ------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(call_get);

/*
 * Whether me may read call_id (call_get, call_participants): one of its
 * participants (someone removed from it is no longer one), or an
 * administrator while pseudonyms are off.  SPI must be connected.
 */
static void
check_may_read_call(const char *call_id, const char *me, const char *fn)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {text_datum(call_id), text_datum(me)};
	bool		isnull;

	/*
	 * An administrator can name any user as the current one (the sub claim),
	 * so while pseudonyms are on, any answer here would be about plain ids.
	 */
	if (pgcall_pseudonymize && pgcall_caller_is_admin() && !pgcall_caller_is_backend())
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_PSEUDONYMS_ONLY),
				 errmsg("administrators cannot read calls with %s while pgcall.pseudonymize is on", fn),
				 errdetail("An administrator may name any user as the current one, so any answer would be about plain user ids."),
				 errhint("Use pgcall.admin_call_details, which shows users by pseudonym.")));

	if (pgcall_exec(pgcall_plan(&plan,
								"SELECT EXISTS (SELECT 1 FROM pgcall.participant p "
								"WHERE p.call_id = c.id AND p.user_id = $2 AND p.status <> 'removed') "
								"FROM pgcall.call c WHERE c.id = $1::uuid",
								2, types), values, NULL, false, 1) == 0)
		raise_not_found(psprintf("the id %s", call_id));
	if (!DatumGetBool(pgcall_getdatum(0, 1, &isnull)))
	{
		Call		c = {.id = pstrdup(call_id)};

		if (!pgcall_caller_is_admin())
			raise_not_participant(&c);
		if (pgcall_pseudonymize)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
					 errmsg("you are not a participant of this call"),
					 errdetail("pgcall.pseudonymize is on, so administrators see other people's calls only with pseudonyms."),
					 errhint("Use pgcall.admin_call_details.")));
	}
}

/*
 * call_get(call_id uuid): the call as its participants see it.  Someone
 * removed from it is no longer one of them.
 */
Datum
call_get(PG_FUNCTION_ARGS)
{
	const char *me = pgcall_require_user_id();
	char	   *call_id = req_uuid(fcinfo, 0, "call_id");
	StringInfoData buf;

	SPI_connect();
	check_may_read_call(call_id, me, "call_get");
	initStringInfo(&buf);
	append_call_json(&buf, call_id);
	PG_RETURN_DATUM(pgcall_jsonb_result(&buf));
}

PG_FUNCTION_INFO_V1(call_participants);

/*
 * call_participants(call_id uuid, after text, max integer): a page of the
 * participants of a call you may read with call_get, by user id.
 */
Datum
call_participants(PG_FUNCTION_ARGS)
{
	const char *me = pgcall_require_user_id();
	char	   *call_id = req_uuid(fcinfo, 0, "call_id");
	char	   *after = opt_text(fcinfo, 1);
	int			max = PG_ARGISNULL(2) ? 100 : PG_GETARG_INT32(2);
	StringInfoData buf;

	if (max < 1 || max > PGCALL_PARTICIPANTS_PAGE_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_LIMIT),
				 errmsg("max must be between 1 and %d", PGCALL_PARTICIPANTS_PAGE_MAX),
				 errdetail("The value given is %d.", max)));
	check_optional_id(after, "after");
	SPI_connect();
	check_may_read_call(call_id, me, "call_participants");
	initStringInfo(&buf);
	appendStringInfoString(&buf, pgcall_participants_page_json(call_id, after, max));
	PG_RETURN_DATUM(pgcall_jsonb_result(&buf));
}

/* --- history ---------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(call_history_delete);

/* call_history_delete(call_id uuid): hide a call from your own history only. */
Datum
call_history_delete(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {TEXTOID, TEXTOID};
	const char *me = pgcall_require_user_id();
	char	   *call_id = req_uuid(fcinfo, 0, "call_id");
	Datum		values[2] = {text_datum(call_id), text_datum(me)};
	uint64		n;
	Call		c;

	SPI_connect();
	/* Participant rows are written under the call's lock (see the top). */
	if (!lock_call(call_id, &c))
		raise_not_found(psprintf("the id %s in your history", call_id));
	n = pgcall_exec(pgcall_plan(&plan,
								"UPDATE pgcall.participant SET hidden = true "
								"WHERE call_id = $1::uuid AND user_id = $2",
								2, types), values, NULL, false, 0);
	SPI_finish();
	if (n == 0)
		raise_not_found(psprintf("the id %s in your history", call_id));
	PG_RETURN_BOOL(true);
}

/* --- expiry ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(call_expire);

/*
 * call_expire(): mark every invitation rung past its deadline as missed and
 * end the calls that leaves with nobody.  Skips calls another session has
 * locked (it will expire them itself, or the next sweep will), so any
 * number of sweepers can run at once.  Returns the number of calls touched.
 */
Datum
call_expire(PG_FUNCTION_ARGS)
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
		read_call_row(i, &calls[i]);
	for (uint64 i = 0; i < n; i++)
		expire_call(&calls[i]);
	SPI_finish();
	PG_RETURN_INT32((int32) n);
}

/* --- shared with conference.c and admin.c (calls.h) --------------------------- */

bool
pgcall_call_lock(const char *call_id, Call *c)
{
	return lock_call(call_id, c);
}

void
pgcall_call_expire(Call *c)
{
	expire_call(c);
}

Part
pgcall_call_part(const char *call_id, const char *user_id)
{
	return get_part(call_id, user_id);
}

void
pgcall_call_set_part_status(const char *call_id, const char *user_id, const char *status,
							const char *reason)
{
	set_part_status(call_id, user_id, status, reason);
}

void
pgcall_call_end(Call *c, const char *reason, const char *by)
{
	end_call(c, reason, by);
}

void
pgcall_call_settle(Call *c, const char *by)
{
	settle(c, by);
}

void
pgcall_call_raise_not_found(const char *what)
{
	raise_not_found(what);
}

void
pgcall_call_raise_ended(const Call *c)
{
	raise_ended(c);
}

const char *
pgcall_call_parse_media(const char *type)
{
	return parse_media(type);
}

char	  **
pgcall_call_check_invitees(ArrayType *invitees, const char *me, int *count)
{
	return check_invitees(invitees, me, count);
}

void
pgcall_call_invite_users(const char *call_id, ArrayType *invitees, const char *role)
{
	invite_users(call_id, invitees, role, pgcall_ring_timeout, false, NULL);
}

/* Finishes the SPI connection, like the call_* functions' own results. */
Datum
pgcall_call_result(const Call *c, const char *me, bool with_agora, const char *extra)
{
	return call_result(c, me, with_agora, extra);
}
