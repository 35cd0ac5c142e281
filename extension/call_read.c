/*
 * call_read.c: reading a call and your own history of them: call_get,
 * call_participants, call_history_delete.
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

/* --- reading one call ------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(pgcall_call_get);

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
	Datum		values[2] = {CStringGetTextDatum(call_id), CStringGetTextDatum(me)};
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
		pgcall_raise_call_not_found(psprintf("the id %s", call_id));
	if (!DatumGetBool(pgcall_getdatum(0, 1, &isnull)))
	{
		Call		c = {.id = pstrdup(call_id)};

		if (!pgcall_caller_is_admin())
			pgcall_raise_not_participant(&c);
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
pgcall_call_get(PG_FUNCTION_ARGS)
{
	Datum		result;
	const char *me = pgcall_require_user();
	char	   *call_id = pgcall_arg_required_uuid(fcinfo, 0, "call_id");
	StringInfoData buf;

	SPI_connect();
	check_may_read_call(call_id, me, "call_get");
	initStringInfo(&buf);
	pgcall_append_call_json(&buf, call_id);
	result = pgcall_jsonb_datum(&buf);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(pgcall_call_participants);

/*
 * call_participants(call_id uuid, after text, max integer): a page of the
 * participants of a call you may read with call_get, by user id.
 */
Datum
pgcall_call_participants(PG_FUNCTION_ARGS)
{
	Datum		result;
	const char *me = pgcall_require_user();
	char	   *call_id = pgcall_arg_required_uuid(fcinfo, 0, "call_id");
	char	   *after = pgcall_arg_text(fcinfo, 1);
	int			max = PG_ARGISNULL(2) ? 100 : PG_GETARG_INT32(2);
	StringInfoData buf;

	if (max < 1 || max > PGCALL_PARTICIPANTS_PAGE_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_LIMIT),
				 errmsg("max must be between 1 and %d", PGCALL_PARTICIPANTS_PAGE_MAX),
				 errdetail("The value given is %d.", max)));
	pgcall_check_optional_id(after, "after");
	SPI_connect();
	check_may_read_call(call_id, me, "call_participants");
	initStringInfo(&buf);
	appendStringInfoString(&buf, pgcall_participants_page_json(call_id, after, max));
	result = pgcall_jsonb_datum(&buf);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* --- history ---------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(pgcall_call_history_delete);

/* call_history_delete(call_id uuid): hide a call from your own history only. */
Datum
pgcall_call_history_delete(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {TEXTOID, TEXTOID};
	const char *me = pgcall_require_user();
	char	   *call_id = pgcall_arg_required_uuid(fcinfo, 0, "call_id");
	Datum		values[2] = {CStringGetTextDatum(call_id), CStringGetTextDatum(me)};
	uint64		n;
	Call		c;

	SPI_connect();
	/* Participant rows are written under the call's lock (see the top). */
	if (!pgcall_lock_call(call_id, &c))
		pgcall_raise_call_not_found(psprintf("the id %s in your history", call_id));
	n = pgcall_exec(pgcall_plan(&plan,
								"UPDATE pgcall.participant SET hidden = true "
								"WHERE call_id = $1::uuid AND user_id = $2",
								2, types), values, NULL, false, 0);
	SPI_finish();
	if (n == 0)
		pgcall_raise_call_not_found(psprintf("the id %s in your history", call_id));
	PG_RETURN_BOOL(true);
}
