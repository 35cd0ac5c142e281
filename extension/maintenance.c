/*
 * maintenance.c: retention (pgcall.purge) and the profile source
 * (pgcall.use_profile_source).
 *
 * purge deletes at most max_rows events, max_rows calls and max_rows
 * closed rate-limit windows per call, oldest first, each in one short
 * statement, and says whether more remain, so a scheduler (the bridge,
 * pg_cron through pgcall.purge_batches) calls it repeatedly in separate
 * transactions and live traffic never waits behind a long delete.  Rows
 * another purge holds are skipped, so several bridges may purge at once.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "pgcall.h"

PG_FUNCTION_INFO_V1(pgcall_purge);

/*
 * purge(max_rows integer) RETURNS jsonb
 *     {events_deleted, calls_deleted, rate_limits_deleted, webhooks_deleted, more}
 */
Datum
pgcall_purge(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr events_plan = NULL;
	static SPIPlanPtr horizon_plan = NULL;
	static SPIPlanPtr calls_plan = NULL;
	static SPIPlanPtr limits_plan = NULL;
	static const Oid types[2] = {INT4OID, INT4OID};
	static const Oid horizon_types[1] = {INT8OID};
	int32		max_rows = PG_ARGISNULL(0) ? 10000 : PG_GETARG_INT32(0);
	Datum		values[2];
	bool		isnull;
	int64		events_deleted;
	int64		calls_deleted = 0;
	int64		limits_deleted;
	int64		webhooks_deleted;
	Datum		max_id;
	bool		max_null;
	StringInfoData buf;
	Datum		result;

	if (max_rows < 1 || max_rows > 1000000)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_LIMIT),
				 errmsg("max_rows must be between 1 and 1000000"),
				 errdetail("The value given is %d.", max_rows)));

	/*
	 * Events: the max_rows oldest by id (event ids follow commit order, so
	 * these are the oldest events, read through event_pkey), those of them
	 * past the retention.  A young event among them (a long transaction's)
	 * stays; the walk never reads more than max_rows events.
	 */
	SPI_connect();
	values[0] = Int32GetDatum(max_rows);
	values[1] = Int32GetDatum(pgcall_event_retention);
	pgcall_exec(pgcall_plan(&events_plan,
							"WITH d AS (DELETE FROM pgcall.event WHERE id IN ("
							"  SELECT e.id FROM pgcall.event e WHERE e.id IN ("
							"    SELECT w.id FROM (SELECT id, created_at FROM pgcall.event "
							"                       ORDER BY id LIMIT $1) w "
							"     WHERE w.created_at < pg_catalog.now() - pg_catalog.make_interval(secs => $2)) "
							"   FOR UPDATE OF e SKIP LOCKED) RETURNING id) "
							"SELECT count(*), max(id) FROM d",
							2, types), values, NULL, false, 1);
	events_deleted = DatumGetInt64(pgcall_getdatum(0, 1, &isnull));
	max_id = pgcall_getdatum(0, 2, &max_null);
	if (!max_null)
	{
		Datum		hv[1] = {max_id};

		pgcall_exec(pgcall_plan(&horizon_plan,
								"UPDATE pgcall.event_purged SET through_id = GREATEST(through_id, $1)",
								1, horizon_types), hv, NULL, false, 0);
	}

	/*
	 * A call stays a day longer than its events (whose time may be a little
	 * after the call's end): events_since finds the events of a large call
	 * through its participant rows.
	 */
	if (pgcall_history_retention > 0)
	{
		static const Oid call_types[3] = {INT4OID, INT4OID, INT4OID};
		Datum		cv[3] = {Int32GetDatum(max_rows), Int32GetDatum(pgcall_history_retention),
							 Int32GetDatum(pgcall_event_retention)};

		pgcall_exec(pgcall_plan(&calls_plan,
								"WITH d AS (DELETE FROM pgcall.call WHERE id IN ("
								"  SELECT id FROM pgcall.call WHERE status = 'ended' "
								"   AND ended_at < pg_catalog.now() - pg_catalog.make_interval(days => $2) "
								"   AND ended_at < pg_catalog.now() - pg_catalog.make_interval(secs => $3 + 86400) "
								"   ORDER BY ended_at LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id) "
								"SELECT count(*) FROM d",
								3, call_types), cv, NULL, false, 1);
		calls_deleted = DatumGetInt64(pgcall_getdatum(0, 1, &isnull));
	}

	pgcall_exec(pgcall_plan(&limits_plan,
							"WITH d AS (DELETE FROM pgcall.rate_limit WHERE (user_id, action, scope) IN ("
							"  SELECT user_id, action, scope FROM pgcall.rate_limit "
							"   WHERE window_start <= pg_catalog.now() - pg_catalog.make_interval(secs => window_seconds) "
							"   LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING 1) "
							"SELECT count(*) FROM d",
							1, types), values, NULL, false, 1);
	limits_deleted = DatumGetInt64(pgcall_getdatum(0, 1, &isnull));

	webhooks_deleted = pgcall_webhook_purge_old(max_rows);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"events_deleted\":" INT64_FORMAT ",\"calls_deleted\":" INT64_FORMAT
					 ",\"rate_limits_deleted\":" INT64_FORMAT ",\"webhooks_deleted\":" INT64_FORMAT
					 ",\"more\":%s}",
					 events_deleted, calls_deleted, limits_deleted, webhooks_deleted,
					 (events_deleted == max_rows || calls_deleted == max_rows ||
					  limits_deleted == max_rows || webhooks_deleted == max_rows) ? "true" : "false");
	result = SPI_datumTransfer(JsonbPGetDatum(pgcall_jsonb_from_text(buf.data)), false, -1);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* The name of column attname of rel, quoted, after checking it exists. */
static const char *
column_expr(Oid relid, Name attname, const char *what)
{
	AttrNumber	attnum;

	if (attname == NULL)
		return "NULL";
	attnum = get_attnum(relid, NameStr(*attname));
	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s column \"%s\" does not exist in %s", what, NameStr(*attname),
						get_rel_name(relid)),
				 errhint("Name columns of the table or view you pass as source.")));
	return quote_identifier(NameStr(*attname));
}

/*
 * WARN about each pgcall role that may read call logs but not the columns
 * of relid that the profile view names.
 */
static void
warn_unreadable(Oid relid, FunctionCallInfo fcinfo)
{
	static const char *const roles[] = {"pgcall_user", "pgcall_backend"};
	StringInfoData cols;

	initStringInfo(&cols);
	for (int i = 1; i <= 3; i++)
		if (!PG_ARGISNULL(i))
			appendStringInfo(&cols, "%s%s", cols.len ? ", " : "",
							 quote_identifier(NameStr(*PG_GETARG_NAME(i))));
	for (int r = 0; r < lengthof(roles); r++)
	{
		Oid			role = get_role_oid(roles[r], true);
		bool		ok = true;

		if (!OidIsValid(role))
			continue;
		for (int i = 1; i <= 3 && ok; i++)
			if (!PG_ARGISNULL(i))
			{
				AttrNumber	attnum = get_attnum(relid, NameStr(*PG_GETARG_NAME(i)));

				ok = pg_attribute_aclcheck(relid, attnum, role, ACL_SELECT) == ACLCHECK_OK ||
					pg_class_aclcheck(relid, role, ACL_SELECT) == ACLCHECK_OK;
			}
		if (!ok)
			ereport(WARNING,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("%s cannot read the profile source %s", roles[r], get_rel_name(relid)),
					 errdetail("pgcall.user_profile reads it with the privileges of whoever reads call logs."),
					 errhint("GRANT SELECT (%s) ON %s TO %s;", cols.data,
							 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
														get_rel_name(relid)),
							 roles[r])));
	}
}

PG_FUNCTION_INFO_V1(pgcall_use_profile_source);

/*
 * use_profile_source(source regclass, id_column name, name_column name,
 *                    avatar_column name): point pgcall.user_profile, where
 * call logs find display names and avatars, at the app's own table.  NULL
 * source goes back to pgcall.profile.  Superusers only.
 *
 * The view is security_invoker: each reader reads the source with their own
 * privileges and under its row-level security, so pointing pgcall at a
 * users table exposes to pgcall's roles no more of it than they could
 * already read.  The roles that cannot read the columns get a WARNING
 * naming them, with the GRANT to run (call logs fail for them until then).
 */
Datum
pgcall_use_profile_source(PG_FUNCTION_ARGS)
{
	StringInfoData sql;
	int			rc;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser may change the profile source")));
	initStringInfo(&sql);
	if (PG_ARGISNULL(0))
		appendStringInfoString(&sql,
							   "CREATE OR REPLACE VIEW pgcall.user_profile WITH (security_invoker = true) AS "
							   "SELECT user_id, display_name, avatar_url FROM pgcall.profile");
	else
	{
		Oid			relid = PG_GETARG_OID(0);

		if (PG_ARGISNULL(1))
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
					 errmsg("id_column is required"),
					 errhint("Name the column that holds the user ids pgcall sees.")));
		appendStringInfo(&sql,
						 "CREATE OR REPLACE VIEW pgcall.user_profile WITH (security_invoker = true) AS "
						 "SELECT (%s)::text AS user_id, (%s)::text AS display_name, (%s)::text AS avatar_url FROM %s",
						 column_expr(relid, PG_GETARG_NAME(1), "id"),
						 column_expr(relid, PG_ARGISNULL(2) ? NULL : PG_GETARG_NAME(2), "name"),
						 column_expr(relid, PG_ARGISNULL(3) ? NULL : PG_GETARG_NAME(3), "avatar"),
						 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													get_rel_name(relid)));
		warn_unreadable(relid, fcinfo);
	}
	SPI_connect();
	rc = SPI_execute(sql.data, false, 0);
	if (rc < 0)
		elog(ERROR, "could not replace pgcall.user_profile: %s", SPI_result_code_string(rc));
	SPI_finish();
	PG_RETURN_VOID();
}
