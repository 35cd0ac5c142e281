/*
 * call_start.c: starting calls and ringing people: call_start, call_invite,
 * and the session flow of seed 000 (call_session).
 *
 * Direct calls between the same two people serialize on a lock on the pair
 * (pgcall_lock_pair), which is how glare resolves to one call.
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

/*
 * A ringing direct call from other to me, if there is one (the earliest).
 * It starts from the calls I am live in (participant_live_idx: few) and
 * looks each call up by id, never from the calls that ring (many, in a
 * busy system).  Read by index (rowread.c), as the tables' owner, in a
 * snapshot taken after the pair's lock.
 */
static char *
glare_call(const char *me, const char *other)
{
	Snapshot	snap = pgcall_statement_snapshot();
	Relation	part_rel = table_open(pgcall_relid("participant"), AccessShareLock);
	Relation	call_rel = table_open(pgcall_relid("call"), AccessShareLock);
	TupleDesc	pd = RelationGetDescr(part_rel);
	TupleDesc	cd = RelationGetDescr(call_rel);
	IndexKey	key = {TEXTOID, CStringGetTextDatum(me)};
	IndexRow   *parts;
	int			n = pgcall_index_rows(part_rel, pgcall_relid("participant_live_idx"), &key, 1, snap,
									  0, false, &parts);
	Datum		found = (Datum) 0;
	TimestampTz found_at = 0;

	for (int i = 0; i < n; i++)
	{
		int			pstatus = pgcall_column(pd, "status");
		IndexKey	call_key = {UUIDOID, parts[i].values[pgcall_column(pd, "call_id")]};
		IndexRow   *c;
		TimestampTz created;

		/* p.status IN ('invited', 'ringing'): the index also holds joined, and old versions */
		if (!pgcall_row_text_is(&parts[i], pstatus, "invited") &&
			!pgcall_row_text_is(&parts[i], pstatus, "ringing"))
			continue;
		if (pgcall_index_rows(call_rel, RelationGetPrimaryKeyIndex(call_rel), &call_key, 1, snap, 1,
							  false, &c) == 0)
			continue;
		/* a direct call by other, effective_call_status(status, ring_deadline) = 'ringing' */
		if (!pgcall_row_text_is(c, pgcall_column(cd, "kind"), "direct") ||
			!pgcall_row_text_is(c, pgcall_column(cd, "created_by"), other) ||
			!pgcall_row_text_is(c, pgcall_column(cd, "status"), "ringing") ||
			pgcall_row_past(c, pgcall_column(cd, "ring_deadline")))
			continue;
		created = DatumGetTimestampTz(c->values[pgcall_column(cd, "created_at")]);
		if (found == (Datum) 0 || created < found_at)
		{
			found = c->values[pgcall_column(cd, "id")];
			found_at = created;
		}
	}
	table_close(call_rel, AccessShareLock);
	table_close(part_rel, AccessShareLock);
	UnregisterSnapshot(snap);
	return found == (Datum) 0 ? NULL : DatumGetCString(DirectFunctionCall1(uuid_out, found));
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

static void
start_call(const StartArgs *a, const char *me, Call *c, bool *glare)
{
	int			n;
	char	  **invitees = pgcall_check_invitees(a->invitees, me, &n);
	bool		direct = (n == 1 && a->is_group != 1);
	int			max = a->max_participants;
	int			ring_timeout = a->ring_timeout ? a->ring_timeout : pgcall_ring_timeout;
	char	   *call_id;
	char	   *channel_id;
	int			invited;
	CallCreator		creator;

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

		pgcall_lock_pair(me, invitees[0]);
		other_call = glare_call(me, invitees[0]);
		if (other_call)
		{
			Part		p;

			if (!pgcall_lock_call(other_call, c))
				pgcall_raise_call_not_found(psprintf("the id %s", other_call));
			p = pgcall_get_part(c->id, me);
			pgcall_join_call(c, &p, me, a->device_id, -1, -1, true);
			*glare = true;
			return;
		}
	}

	call_id = pgcall_insert_call(&(NewCall) {
		.kind = direct ? CALL_DIRECT : CALL_GROUP, .media = a->media, .room_id = a->room_id,
			.created_by = me, .max_participants = max, .ring_timeout = ring_timeout
	}, &channel_id);

	/* Who is busy shows now, even if this transaction rolls back. */
	pgcall_rate_limit_probe(me, PGCALL_LIMIT_CALL, 1);
	creator.user_id = me;
	creator.role = direct ? ROLE_CALLER : ROLE_HOST;
	creator.device_id = a->device_id;
	pgcall_triggers_fresh_call(call_id);
	invited = pgcall_invite_users(call_id, a->invitees, direct ? ROLE_CALLEE : ROLE_MEMBER, ring_timeout,
						   a->require_online, &creator);
	pgcall_triggers_fresh_call(NULL);

	if (invited == 0)
	{
		/* Nobody rings (all busy or offline): the call ends at once. */
		if (!pgcall_lock_call(call_id, c))
			elog(ERROR, "call %s vanished while starting it", call_id);
		pgcall_settle(c, NULL);
		return;
	}

	/*
	 * Someone rings, so the call is as inserted and pgcall_settle() would leave it
	 * be.  Nobody else can see, let alone lock, a row this transaction has
	 * just inserted, so there is nothing to lock or read back either; its
	 * deadlines are at least 5 seconds away (ring_timeout).
	 */
	memset(c, 0, sizeof(Call));
	c->id = call_id;
	c->kind = direct ? CALL_DIRECT : CALL_GROUP;
	c->media = pstrdup(a->media);
	c->status = CALL_RINGING;
	c->end_reason = END_NONE;
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
	a.media = pgcall_arg_media(PG_ARGISNULL(type_arg) ? "audio" : text_to_cstring(PG_GETARG_TEXT_PP(type_arg)));
	a.is_group = -1;
	return a;
}

PG_FUNCTION_INFO_V1(pgcall_call_start);

/*
 * call_start(invitees text[], type text, room_id text, max_participants
 *            integer, ring_timeout integer, is_group boolean,
 *            require_online boolean, device_id text)
 */
Datum
pgcall_call_start(PG_FUNCTION_ARGS)
{
	Datum		result;
	const char *me = pgcall_require_user();
	StartArgs	a = start_args(fcinfo, 0, 1);
	Call		c;
	bool		glare;

	a.room_id = pgcall_arg_text(fcinfo, 2);
	pgcall_check_optional_id(a.room_id, "room_id");
	a.max_participants = pgcall_arg_max_participants(fcinfo, 3, 0);
	a.ring_timeout = pgcall_arg_ring_timeout(fcinfo, 4);
	a.is_group = PG_ARGISNULL(5) ? -1 : PG_GETARG_BOOL(5);
	a.require_online = PG_ARGISNULL(6) ? false : PG_GETARG_BOOL(6);
	a.device_id = pgcall_arg_text(fcinfo, 7);
	pgcall_check_optional_id(a.device_id, "device_id");

	SPI_connect();
	pgcall_rate_limit(me, PGCALL_LIMIT_CALL | pgcall_token_limit_if_configured());
	start_call(&a, me, &c, &glare);
	result = pgcall_call_reply(&c, me, c.status != CALL_ENDED,
								glare ? ",\"glare\":true" : ",\"glare\":false");
	SPI_finish();
	PG_RETURN_DATUM(result);
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
	Datum		values[1] = {CStringGetTextDatum(c->id)};
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

PG_FUNCTION_INFO_V1(pgcall_call_invite);

/*
 * call_invite(call_id uuid, invitees text[], ring_timeout integer,
 *             require_online boolean): add people to a live group call.
 * Anyone in the call may invite; people already in it are refused.
 */
Datum
pgcall_call_invite(PG_FUNCTION_ARGS)
{
	Datum		result;
	static SPIPlanPtr existing = NULL;
	static const Oid types[2] = {TEXTOID, TEXTARRAYOID};
	const char *me = pgcall_require_user();
	char	   *call_id = pgcall_arg_required_uuid(fcinfo, 0, "call_id");
	int			ring_timeout = pgcall_arg_ring_timeout(fcinfo, 2);
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
	(void) pgcall_check_invitees(invitees, me, &n);

	SPI_connect();
	pgcall_rate_limit_amount(me, PGCALL_LIMIT_INVITE, NULL, n);
	p = pgcall_open_call(call_id, me, &c);
	if (c.status == CALL_ENDED)
		pgcall_raise_call_ended(&c);
	if (c.kind == CALL_DIRECT)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TRANSITION),
				 errmsg("a direct call has exactly two participants"),
				 errhint("Start a group call with everyone instead.")));
	pgcall_conference_check_invite(&c, me);
	if (p.status != PART_JOINED)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
				 errmsg("you are not in this call: your status is %s", pgcall_part_status_name(p.status)),
				 errhint("Join the call before inviting others.")));
	values[0] = CStringGetTextDatum(c.id);
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
	pgcall_invite_users(c.id, invitees, ROLE_MEMBER, ring_timeout ? ring_timeout : pgcall_ring_timeout,
				 require_online, NULL);
	result = pgcall_call_reply(&c, me, false, NULL);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* --- the seed-000 session flow --------------------------------------------- */

PG_FUNCTION_INFO_V1(pgcall_call_session);

/*
 * call_session(other_user text, type text, channel_id text)
 *
 * Without a channel: call other_user (a direct call) and get a token.  With
 * the channel of a direct call between the two: answer it (or, for the
 * caller, get a fresh token) and get a token.
 */
Datum
pgcall_call_session(PG_FUNCTION_ARGS)
{
	Datum		result;
	const char *me = pgcall_require_user();
	char	   *other;
	char	   *channel_id = pgcall_arg_text(fcinfo, 2);
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
	media = pgcall_arg_media(PG_ARGISNULL(1) ? "audio" : text_to_cstring(PG_GETARG_TEXT_PP(1)));
	(void) pgcall_agora_require_app_id();

	SPI_connect();
	pgcall_rate_limit(me, (channel_id == NULL ? PGCALL_LIMIT_CALL : PGCALL_LIMIT_JOIN) |
					  PGCALL_LIMIT_TOKEN);
	if (channel_id == NULL)
	{
		StartArgs	a = {0};
		Datum		elem = CStringGetTextDatum(other);
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

		if (!pgcall_lock_call_by_channel(channel_id, &c))
			pgcall_raise_call_not_found(psprintf("the channel %s", channel_id));
		pgcall_expire_overdue(&c);
		p = pgcall_get_part(c.id, me);
		o = pgcall_get_part(c.id, other);
		if (!p.found || !o.found || c.kind != CALL_DIRECT)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_NOT_PARTICIPANT),
					 errmsg("channel %s is not a call between you and %s", channel_id, other),
					 errdetail("Only the two people in a direct call can join its channel.")));
		if (!pgcall_streq(c.created_by, me))
			pgcall_join_call(&c, &p, me, NULL, -1, -1, false);
		else if (c.status == CALL_ENDED)
			pgcall_raise_call_ended(&c);
	}

	token = pgcall_agora_make_rtc_token(c.channel_id, me, true, pgcall_agora_token_ttl,
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
	appendStringInfo(&buf, ",\"call_id\":\"%s\",\"status\":\"%s\"", c.id, pgcall_call_status_name(c.status));
	appendStringInfoString(&buf, ",\"call\":");
	pgcall_append_call_json(&buf, c.id);
	appendStringInfoChar(&buf, '}');
	result = pgcall_jsonb_datum(&buf);
	SPI_finish();
	PG_RETURN_DATUM(result);
}
