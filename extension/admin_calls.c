/*
 * admin_calls.c: the call lists of the admin dashboard (web/admin.html).
 *
 * admin_calls(status, limit) lists live or recently ended calls with their
 * participants, so an administrator can pick one to read in detail
 * (admin_call_details) or act on (admin_call_end, admin_remove_participant).
 * EXECUTE is granted to pgcall_admin only and the role is checked again,
 * as for every admin_* function; the report itself is the SQL function
 * pgcall.admin_calls_report, which shows users as pgcall_user_for_admin does.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"

#include "pgcall.h"

#define ADMIN_CALLS_MAX 500

PG_FUNCTION_INFO_V1(pgcall_admin_calls);

/*
 * admin_calls(status text, limit integer): {pseudonymous, status, calls}.
 * status is 'live' (ringing or active) or 'ended'; NULL arguments take the
 * defaults ('live', 50).
 */
Datum
pgcall_admin_calls(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {TEXTOID, INT4OID};
	char	   *status = PG_ARGISNULL(0) ? "live" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	int32		limit = PG_ARGISNULL(1) ? 50 : PG_GETARG_INT32(1);
	Datum		values[2];
	Datum		result;
	bool		isnull;

	pgcall_require_admin();
	if (strcmp(status, "live") != 0 && strcmp(status, "ended") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_STATUS),
				 errmsg("status must be 'live' or 'ended'"),
				 errdetail("The value given is \"%s\".", status)));
	if (limit < 1 || limit > ADMIN_CALLS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_LIMIT),
				 errmsg("limit must be between 1 and %d", ADMIN_CALLS_MAX),
				 errdetail("The value given is %d.", limit)));

	values[0] = CStringGetTextDatum(status);
	values[1] = Int32GetDatum(limit);
	SPI_connect();
	pgcall_exec(pgcall_plan(&plan, "SELECT pgcall.admin_calls_report($1, $2)", 2, types),
				values, NULL, true, 1);
	result = pgcall_getdatum(0, 1, &isnull);
	if (isnull)
		elog(ERROR, "admin_calls_report returned null");
	result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(result);
}
