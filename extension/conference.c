/*
 * conference.c: conference calls (seed 002): titled calls that stay open
 * for people to join, public (anyone may join) or private (only those
 * invited may).
 *
 * A conference starts active with its host in it, so it follows the group
 * call rules from then on: call_join joins it (capacity, ended and removed
 * are checked there), call_leave leaves it, it ends when the last person in
 * it leaves or the host ends it, call_invite rings more people.  What
 * differs lives here: creating it, letting a stranger in
 * (pgcall_conference_admits and pgcall_conference_add_member, which
 * call_join uses), and who may invite to a private one.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/uuid.h"

#include "calls.h"
#include "pgcall.h"
#include "rowread.h"

#define TITLE_MAX 200
#define DESCRIPTION_MAX 4000

/*
 * Whether the current user may join call c without being a participant:
 * yes for a public conference; a private one raises P403C.  false for
 * every other kind of call (the caller raises P403B).
 */
bool
pgcall_conference_admits(const Call *c)
{
	if (c->kind != CALL_CONFERENCE)
		return false;
	if (c->is_public)
		return true;
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_PRIVATE_CALL),
			 errmsg("this conference is private"),
			 errdetail("Only people the host invited can join conference %s.", c->id),
			 errhint("Ask the host to invite you (call_invite).")));
	return false;
}

/*
 * In a private conference only the host invites (call_invite): being
 * invited is what lets someone in.  In a public one anyone in it may.
 */
void
pgcall_conference_check_invite(const Call *c, const char *me)
{
	if (c->kind != CALL_CONFERENCE || c->is_public || strcmp(c->created_by, me) == 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_NOT_HOST),
			 errmsg("only the host can invite people to a private conference"),
			 errdetail("Being invited is what lets someone into conference %s.", c->id)));
}

/* Add the current user to conference c as a member who joins now. */
void
pgcall_conference_add_member(const Call *c, const char *me, const char *device_id,
							 int mic_muted, int camera_off)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[5] = {UUIDOID, TEXTOID, TEXTOID, BOOLOID, BOOLOID};
	static const char *const columns[7] = {"call_id", "user_id", "device_id", "mic_muted",
	"camera_off", "role", "status"};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

	values[0] = DirectFunctionCall1(uuid_in, CStringGetDatum(c->id));
	values[1] = CStringGetTextDatum(me);
	values[2] = device_id ? CStringGetTextDatum(device_id) : (Datum) 0;
	nulls[2] = device_id ? ' ' : 'n';
	values[3] = BoolGetDatum(mic_muted > 0);
	values[4] = BoolGetDatum(camera_off > 0);
	/* for rowread.c's writer; the INSERT says them */
	values[5] = CStringGetTextDatum(pgcall_part_role_name(ROLE_MEMBER));
	values[6] = CStringGetTextDatum(pgcall_part_status_name(PART_JOINED));
	if (!pgcall_write_row(pgcall_relid("participant"), 7, columns, values, nulls))
		pgcall_exec(pgcall_plan(&plan,
								"INSERT INTO pgcall.participant (call_id, user_id, role, status, device_id, "
								"mic_muted, camera_off) VALUES ($1, $2, 'member', 'joined', $3, $4, $5)",
								5, types), values, nulls, false, 0);
}

/* Free text given by a user: length, and no control characters but newline and tab. */
static void
check_text(const char *s, const char *what, int max, bool multiline)
{
	if (strlen(s) > max)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TITLE),
				 errmsg("%s must be at most %d bytes long", what, max)));
	for (const char *p = s; *p; p++)
		if (((unsigned char) *p < 0x20 && !(multiline && (*p == '\n' || *p == '\t'))) || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_INVALID_TITLE),
					 errmsg("%s must not contain control characters", what)));
}

PG_FUNCTION_INFO_V1(pgcall_conference_create);

/*
 * conference_create(title text, description text, is_public boolean,
 *                   max_participants integer, type text, invitees text[],
 *                   room_id text, device_id text, mic_muted boolean,
 *                   camera_off boolean)
 *
 * Creates a conference with the current user in it as host, and rings the
 * invitees.  Returns {call, agora} as call_start does.
 */
Datum
pgcall_conference_create(PG_FUNCTION_ARGS)
{
	const char *me = pgcall_require_user();
	char	   *title;
	char	   *description = NULL;
	bool		is_public = PG_ARGISNULL(2) ? false : PG_GETARG_BOOL(2);
	int			max;
	const char *media;
	ArrayType  *invitees = PG_ARGISNULL(5) ? NULL : PG_GETARG_ARRAYTYPE_P(5);
	char	   *room_id = pgcall_arg_text(fcinfo, 6);
	char	   *device_id = pgcall_arg_text(fcinfo, 7);
	int			mic_muted = pgcall_arg_bool(fcinfo, 8);
	int			camera_off = PG_ARGISNULL(9) ? 0 : PG_GETARG_BOOL(9);
	char	   *call_id;
	Call		c;
	Datum		result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("title is required"),
				 errhint("Name the conference: title => 'Weekly team meeting'.")));
	title = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (title[strspn(title, " ")] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TITLE),
				 errmsg("title must not be empty")));
	check_text(title, "title", TITLE_MAX, false);
	if (!PG_ARGISNULL(1))
	{
		description = text_to_cstring(PG_GETARG_TEXT_PP(1));
		check_text(description, "description", DESCRIPTION_MAX, true);
	}
	max = pgcall_arg_max_participants(fcinfo, 3, pgcall_max_participants);
	media = pgcall_arg_media(PG_ARGISNULL(4) ? "video" : text_to_cstring(PG_GETARG_TEXT_PP(4)));
	if (invitees != NULL && ArrayGetNItems(ARR_NDIM(invitees), ARR_DIMS(invitees)) > 0)
	{
		int			n;

		(void) pgcall_check_invitees(invitees, me, &n);
	}
	pgcall_check_optional_id(room_id, "room_id");
	pgcall_check_optional_id(device_id, "device_id");

	SPI_connect();
	pgcall_rate_limit(me, PGCALL_LIMIT_CALL | pgcall_token_limit_if_configured());

	call_id = pgcall_insert_call(&(NewCall) {
		.kind = CALL_CONFERENCE, .media = media, .room_id = room_id, .created_by = me,
			.title = title, .description = description, .is_public = is_public,
			.max_participants = max, .ring_timeout = 0
	}, NULL);

	pgcall_add_creator(call_id, me, ROLE_HOST, device_id, mic_muted, camera_off);
	if (invitees != NULL && ArrayGetNItems(ARR_NDIM(invitees), ARR_DIMS(invitees)) > 0)
	{
		/* Who is busy shows now, even if this transaction rolls back. */
		pgcall_rate_limit_probe(me, PGCALL_LIMIT_CALL, 1);
		pgcall_invite_users(call_id, invitees, ROLE_MEMBER, pgcall_ring_timeout, false, NULL);
	}

	if (!pgcall_lock_call(call_id, &c))
		elog(ERROR, "conference %s vanished while creating it", call_id);
	result = pgcall_call_reply(&c, me, true, NULL);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(pgcall_call_status_arg);

/*
 * call_status_arg(status text): a call status filter given by a client,
 * lower-cased; NULL (no filter) stays NULL.  Raises P400M for anything but
 * ringing, active and ended.
 */
Datum
pgcall_call_status_arg(PG_FUNCTION_ARGS)
{
	char	   *status;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	status = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (pg_strcasecmp(status, "ringing") != 0 && pg_strcasecmp(status, "active") != 0 &&
		pg_strcasecmp(status, "ended") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_STATUS),
				 errmsg("call status \"%s\" is not one of ringing, active, ended", status)));
	PG_RETURN_TEXT_P(cstring_to_text(asc_tolower(status, strlen(status))));
}
