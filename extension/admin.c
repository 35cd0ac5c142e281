/*
 * admin.c: what administrators (members of pgcall_admin) do to other
 * people's calls: end them, and remove someone from them.
 *
 * EXECUTE on these functions is granted to pgcall_admin only, and each
 * checks the role again (pgcall_require_admin), so a grant made by mistake
 * does not open them to end users.  They lock and change calls with the
 * same code as the call_* functions (calls.h).  Whatever they return shows
 * users as pgcall_user_for_admin does: as pseudonyms when pgcall.pseudonymize
 * is on.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "calls.h"
#include "pgcall.h"

/* Raise P403F unless the session's role is pgcall_admin or a superuser. */
void
pgcall_require_admin(void)
{
	if (!pgcall_caller_is_admin())
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_NOT_ADMIN),
				 errmsg("only administrators can do this"),
				 errdetail("The current role is not a member of pgcall_admin."),
				 errhint("Call as a role granted pgcall_admin.")));
}

/* A user as admin-facing output shows them. */
const char *
pgcall_user_for_admin(const char *user_id)
{
	if (user_id == NULL || !pgcall_pseudonymize)
		return user_id;
	return pgcall_pseudonym_of(user_id);
}

/*
 * Lock the call, expire it if due; P404A when there is none.  Unlike
 * pgcall_open_call, the administrator need not be in it.
 */
static void
open_call_as_admin(const char *call_id, Call *c)
{
	if (!pgcall_lock_call(call_id, c))
		pgcall_raise_call_not_found(psprintf("the id %s", call_id));
	pgcall_expire_overdue(c);
}

/* "call_id", "status", "end_reason", "ended_at" and "duration_seconds" of the call. */
static void
append_call_state(StringInfo buf, const char *call_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(call_id)};

	pgcall_exec(pgcall_plan(&plan,
							"SELECT status, end_reason, "
							"pg_catalog.to_char(ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
							"duration_seconds::text FROM pgcall.call WHERE id = $1::uuid",
							1, types), values, NULL, false, 1);
	pgcall_json_member(buf, "call_id", call_id);
	pgcall_json_member(buf, "status", pgcall_getstr(0, 1));
	pgcall_json_member(buf, "end_reason", pgcall_getstr(0, 2));
	pgcall_json_member(buf, "ended_at", pgcall_getstr(0, 3));
	appendStringInfo(buf, ",\"duration_seconds\":%s",
					 pgcall_getstr(0, 4) ? pgcall_getstr(0, 4) : "null");
}

PG_FUNCTION_INFO_V1(pgcall_admin_call_end);

/*
 * admin_call_end(call_id uuid): end any call for everyone, as terminated.
 * Returns {call_id, status, end_reason, ended_at, duration_seconds}.
 */
Datum
pgcall_admin_call_end(PG_FUNCTION_ARGS)
{
	char	   *call_id = pgcall_arg_required_uuid(fcinfo, 0, "call_id");
	Call		c;
	StringInfoData buf;
	Datum		result;

	pgcall_require_admin();
	SPI_connect();
	open_call_as_admin(call_id, &c);
	if (c.status == CALL_ENDED)
		pgcall_raise_call_ended(&c);
	pgcall_end_for_everyone(&c, END_TERMINATED, pgcall_current_user());

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	append_call_state(&buf, c.id);
	appendStringInfoChar(&buf, '}');
	result = pgcall_jsonb_datum(&buf);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* The user id of the participant of call_id whose pseudonym is pseudonym, or NULL. */
static char *
user_by_pseudonym(const char *call_id, const char *pseudonym)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(call_id)};
	uint64		n;
	char	  **users;

	n = pgcall_exec(pgcall_plan(&plan,
								"SELECT user_id FROM pgcall.participant WHERE call_id = $1::uuid",
								1, types), values, NULL, false, 0);
	users = palloc(sizeof(char *) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
		users[i] = pgcall_getstr(i, 1);
	for (uint64 i = 0; i < n; i++)
		if (strcmp(pgcall_pseudonym_of(users[i]), pseudonym) == 0)
			return users[i];
	return NULL;
}

PG_FUNCTION_INFO_V1(pgcall_admin_remove_participant);

/*
 * admin_remove_participant(call_id uuid, user_id text, pseudonym text,
 *                          reason text)
 *
 * Removes one participant, named by user id or by pseudonym (only by
 * pseudonym while pgcall.pseudonymize is on: an answer about a user id
 * would tell whether that person was in the call), from a live
 * call for good: they leave it if they were in it, stop ringing if they
 * were rung, get a participant.removed event about themselves telling their
 * client to leave, and cannot join it again.  A direct call cannot go on without one of its two
 * people and ends as terminated; other calls settle as after a leave.
 * Removing someone already removed changes nothing.
 */
Datum
pgcall_admin_remove_participant(PG_FUNCTION_ARGS)
{
	char	   *call_id = pgcall_arg_required_uuid(fcinfo, 0, "call_id");
	char	   *user_id = pgcall_arg_text(fcinfo, 1);
	char	   *pseudonym = pgcall_arg_text(fcinfo, 2);
	char	   *reason = PG_ARGISNULL(3) ? "removed by an administrator" : text_to_cstring(PG_GETARG_TEXT_PP(3));
	const char *by = pgcall_current_user();
	Call		c;
	Part		p;
	bool		already;
	StringInfoData buf;
	Datum		result;

	pgcall_require_admin();
	if ((user_id == NULL) == (pseudonym == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("pass either user_id or pseudonym"),
				 errdetail("Exactly one of them names the participant to remove.")));
	if (user_id && pgcall_pseudonymize)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_PSEUDONYMS_ONLY),
				 errmsg("administrators name participants by pseudonym while pgcall.pseudonymize is on"),
				 errdetail("A user id is not accepted, whether or not that person is in the call."),
				 errhint("Pass pseudonym => the participant's pseudonym from pgcall.admin_call_details.")));
	if (user_id)
		pgcall_check_user_id(user_id, "user_id");
	pgcall_check_reason(reason, "reason");

	SPI_connect();
	open_call_as_admin(call_id, &c);
	if (pseudonym)
		user_id = user_by_pseudonym(c.id, pseudonym);
	p = user_id ? pgcall_get_part(c.id, user_id) : (Part) {0};
	if (!p.found)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_PARTICIPANT_NOT_FOUND),
				 errmsg("participant not found"),
				 errdetail("Call %s has no participant %s.", c.id,
						   pseudonym ? pseudonym : user_id)));
	if (c.status == CALL_ENDED)
		pgcall_raise_call_ended(&c);

	already = p.status == PART_REMOVED;
	if (!already)
	{
		/* The trigger tells everyone, them included: participant.removed. */
		pgcall_set_part_status(c.id, user_id, PART_REMOVED, reason);

		if (c.kind == CALL_DIRECT)
			pgcall_end_for_everyone(&c, END_TERMINATED, by);
		else
			pgcall_settle(&c, by);
	}

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	pgcall_json_member(&buf, "user_id", pgcall_user_for_admin(user_id));
	appendStringInfo(&buf, ",\"already_removed\":%s", already ? "true" : "false");
	pgcall_json_member(&buf, "call_status", pgcall_call_status_name(c.status));
	appendStringInfoChar(&buf, '}');
	result = pgcall_jsonb_datum(&buf);
	SPI_finish();
	PG_RETURN_DATUM(result);
}
