/*
 * call_answer.c: answering, declining, cancelling, leaving and ending a
 * call: call_accept, call_join, call_reject, call_cancel, call_leave,
 * call_end and the participant status API call_set_status.
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

/*
 * The call a participant acts on while it is going on: locked, its overdue
 * ringing expired, me in it (P403B otherwise), not ended (P409B).
 */
static Part
open_live_call(const char *call_id, const char *me, Call *c)
{
	Part		p = pgcall_open_call(call_id, me, c);

	if (c->status == CALL_ENDED)
		pgcall_raise_call_ended(c);
	return p;
}

/* call_accept and call_join: the same request, answer_only or not. */
static Datum
answer(FunctionCallInfo fcinfo, bool answer_only)
{
	Datum		result;
	const char *me = pgcall_require_user();
	char	   *call_id = pgcall_arg_required_uuid(fcinfo, 0, "call_id");
	char	   *device_id = pgcall_arg_text(fcinfo, 1);
	Call		c;
	Part		p;

	pgcall_check_optional_id(device_id, "device_id");
	SPI_connect();
	pgcall_rate_limit(me, PGCALL_LIMIT_JOIN | pgcall_token_limit_if_configured());
	if (!pgcall_lock_call(call_id, &c))
		pgcall_raise_call_not_found(psprintf("the id %s", call_id));
	pgcall_expire_overdue(&c);
	p = pgcall_get_part(c.id, me);
	/* Joining is also the way into a conference (conference.c). */
	if (!p.found && (answer_only || !pgcall_conference_admits(&c)))
		pgcall_raise_not_participant(&c);
	pgcall_join_call(&c, &p, me, device_id, pgcall_arg_bool(fcinfo, 2), pgcall_arg_bool(fcinfo, 3), answer_only);
	result = pgcall_call_reply(&c, me, true, NULL);
	SPI_finish();
	return result;
}

PG_FUNCTION_INFO_V1(pgcall_call_accept);

/* call_accept(call_id uuid, device_id text, mic_muted boolean, camera_off boolean) */
Datum
pgcall_call_accept(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(answer(fcinfo, true));
}

PG_FUNCTION_INFO_V1(pgcall_call_join);

/*
 * call_join(call_id uuid, device_id text, mic_muted boolean, camera_off boolean)
 *
 * Also the way into a conference: anyone may join a public one, only those
 * invited a private one (pgcall_conference_admits).
 */
Datum
pgcall_call_join(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(answer(fcinfo, false));
}

/* --- declining, cancelling, leaving, ending ------------------------------------- */

PG_FUNCTION_INFO_V1(pgcall_call_reject);

/* call_reject(call_id uuid, reason text) */
Datum
pgcall_call_reject(PG_FUNCTION_ARGS)
{
	Datum		result;
	const char *me = pgcall_require_user();
	char	   *call_id = pgcall_arg_required_uuid(fcinfo, 0, "call_id");
	char	   *reason = pgcall_arg_text(fcinfo, 1);
	Call		c;
	Part		p;

	pgcall_check_reason(reason, "reason");
	SPI_connect();
	p = open_live_call(call_id, me, &c);
	if (pgcall_streq(c.created_by, me))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TRANSITION),
				 errmsg("you cannot decline your own call"),
				 errhint("Use call_cancel while it rings, or call_end.")));
	if (p.status == PART_JOINED)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_ALREADY_ANSWERED),
				 errmsg("call already answered"),
				 errdetail("You joined call %s%s%s.", c.id, p.device_id ? " from device " : "",
						   p.device_id ? p.device_id : ""),
				 errhint("Use call_leave or call_end to hang up.")));
	if (p.status != PART_DECLINED)
	{
		pgcall_set_part_status(c.id, me, PART_DECLINED, reason);
		pgcall_settle(&c, me);
	}
	result = pgcall_call_reply(&c, me, false, NULL);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(pgcall_call_cancel);

/* call_cancel(call_id uuid): the caller hangs up before anyone answered. */
Datum
pgcall_call_cancel(PG_FUNCTION_ARGS)
{
	Datum		result;
	const char *me = pgcall_require_user();
	char	   *call_id = pgcall_arg_required_uuid(fcinfo, 0, "call_id");
	Call		c;

	SPI_connect();
	(void) pgcall_open_call(call_id, me, &c);
	if (!pgcall_streq(c.created_by, me))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_HOST),
				 errmsg("only the caller can cancel a call"),
				 errhint("Use call_reject to decline a call you are invited to.")));
	if (c.status == CALL_ENDED)
		pgcall_raise_call_ended(&c);
	if (c.status == CALL_ACTIVE)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_ALREADY_ANSWERED),
				 errmsg("call already answered"),
				 errhint("Use call_end to hang up a call in progress.")));
	pgcall_end_for_everyone(&c, END_CANCELLED, me);
	result = pgcall_call_reply(&c, me, false, NULL);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(pgcall_call_leave);

/* call_leave(call_id uuid): hang up your own part of the call. */
Datum
pgcall_call_leave(PG_FUNCTION_ARGS)
{
	Datum		result;
	const char *me = pgcall_require_user();
	char	   *call_id = pgcall_arg_required_uuid(fcinfo, 0, "call_id");
	Call		c;
	Part		p;

	SPI_connect();
	p = open_live_call(call_id, me, &c);
	if (p.status != PART_JOINED)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TRANSITION),
				 errmsg("you are not in this call: your status is %s", pgcall_part_status_name(p.status)),
				 errhint("Use call_reject to decline a call that rings.")));
	if (c.status == CALL_RINGING && pgcall_streq(c.created_by, me))
		pgcall_end_for_everyone(&c, END_CANCELLED, me);
	else
	{
		pgcall_set_part_status(c.id, me, PART_LEFT, NULL);
		pgcall_settle(&c, me);
	}
	result = pgcall_call_reply(&c, me, false, NULL);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(pgcall_call_end);

/*
 * call_end(call_id uuid, channel_id text, reason text)
 *
 * Ends the call for everyone.  In a direct call either person may; in a
 * group call only the host.  While it rings, the caller's end is a cancel
 * and the callee's a decline.  reason is completed (default) or failed.
 */
Datum
pgcall_call_end(PG_FUNCTION_ARGS)
{
	Datum		result;
	const char *me = pgcall_require_user();
	char	   *call_id = pgcall_arg_uuid(fcinfo, 0);
	char	   *channel_id = pgcall_arg_text(fcinfo, 1);
	char	   *reason = pgcall_arg_text(fcinfo, 2);
	EndReason	end_reason = END_COMPLETED;
	Call		c;
	Part		p;
	StringInfoData extra;

	if ((call_id == NULL) == (channel_id == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("pass either call_id or channel_id"),
				 errdetail("Exactly one of them identifies the call to end.")));
	if (reason && !(pgcall_end_reason_lookup(reason, &end_reason) &&
					(end_reason == END_COMPLETED || end_reason == END_FAILED)))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_REASON),
				 errmsg("end reason \"%s\" is not completed or failed", reason),
				 errhint("Use failed when the media connection could not be established or broke.")));

	SPI_connect();
	if (call_id)
	{
		if (!pgcall_lock_call(call_id, &c))
			pgcall_raise_call_not_found(psprintf("the id %s", call_id));
	}
	else if (!pgcall_lock_call_by_channel(channel_id, &c))
		pgcall_raise_call_not_found(psprintf("the channel %s", channel_id));
	pgcall_expire_overdue(&c);
	p = pgcall_get_part(c.id, me);
	if (!p.found)
		pgcall_raise_not_participant(&c);
	if (c.status == CALL_ENDED)
		pgcall_raise_call_ended(&c);
	if (c.kind != CALL_DIRECT && !pgcall_streq(c.created_by, me))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_HOST),
				 errmsg("only the host can end a group call for everyone"),
				 errhint("Use call_leave to hang up your own part of the call.")));

	if (c.status == CALL_RINGING)
	{
		if (pgcall_streq(c.created_by, me))
			pgcall_end_for_everyone(&c, END_CANCELLED, me);
		else
		{
			pgcall_set_part_status(c.id, me, PART_DECLINED, NULL);
			pgcall_settle(&c, me);
		}
	}
	else
		pgcall_end_for_everyone(&c, end_reason, me);

	initStringInfo(&extra);
	appendStringInfo(&extra, ",\"call_id\":\"%s\",\"channel_id\":", c.id);
	escape_json(&extra, c.channel_id);
	result = pgcall_call_reply(&c, me, false, extra.data);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* --- the participant status API ---------------------------------------------- */

PG_FUNCTION_INFO_V1(pgcall_call_set_status);

/*
 * call_set_status(call_id uuid, status text, reason text): the participant
 * status API of seed 001.  joined answers or rejoins, declined rejects, left
 * leaves; ringing tells the caller that a device rings; missed and busy
 * settle an invitation from the device's side.
 */
Datum
pgcall_call_set_status(PG_FUNCTION_ARGS)
{
	Datum		result;
	const char *me = pgcall_require_user();
	char	   *call_id = pgcall_arg_required_uuid(fcinfo, 0, "call_id");
	char	   *status = pgcall_arg_text(fcinfo, 1);
	char	   *reason = pgcall_arg_text(fcinfo, 2);
	PartStatus	to;
	Call		c;
	Part		p;

	if (status == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("status is required")));
	if (!pgcall_part_status_lookup(status, &to) || to == PART_REMOVED)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_STATUS),
				 errmsg("participant status \"%s\" is not one of invited, ringing, joined, left, declined, missed, busy", status)));
	pgcall_check_reason(reason, "reason");

	SPI_connect();
	if (to == PART_JOINED)
		pgcall_rate_limit(me, PGCALL_LIMIT_JOIN);
	p = open_live_call(call_id, me, &c);
	if (to == PART_JOINED)
	{
		/* This API names no device: joined again is joined already. */
		if (p.status != PART_JOINED)
			pgcall_join_call(&c, &p, me, NULL, -1, -1, false);
	}
	else if (to == PART_LEFT && c.status == CALL_RINGING && pgcall_streq(c.created_by, me))
		pgcall_end_for_everyone(&c, END_CANCELLED, me);
	else if (to != p.status)
	{
		if (pgcall_streq(c.created_by, me) && to != PART_LEFT)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_INVALID_TRANSITION),
					 errmsg("the caller's status can only become left"),
					 errhint("Use call_cancel or call_end to stop your own call.")));
		pgcall_set_part_status(c.id, me, to, reason);
		pgcall_settle(&c, me);
	}
	result = pgcall_call_reply(&c, me, false, NULL);
	SPI_finish();
	PG_RETURN_DATUM(result);
}
