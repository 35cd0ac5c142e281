/*
 * spi_util.c: prepared SPI plans kept for the life of the backend, and
 * small conveniences around them.
 *
 * Every statement pgcall runs through SPI is schema-qualified and prepared
 * once per backend under a pinned search_path (the calling functions carry
 * SET search_path), so a caller's search_path can neither change what runs
 * nor which operators a plan binds.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"

#include "pgcall.h"

/*
 * Prepare sql on first use and keep it.  *plan caches the result; callers
 * keep one static SPIPlanPtr per statement.
 */
SPIPlanPtr
pgcall_plan(SPIPlanPtr *plan, const char *sql, int nargs, const Oid *argtypes)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, (Oid *) argtypes);

		if (p == NULL)
			elog(ERROR, "could not prepare \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "could not keep the plan of \"%s\"", sql);
		*plan = p;
	}
	return *plan;
}

/* Execute a kept plan; raise on SPI failure.  Returns SPI_processed. */
uint64
pgcall_exec(SPIPlanPtr plan, const Datum *values, const char *nulls, bool read_only,
			long count)
{
	int			rc = SPI_execute_plan(plan, (Datum *) values, nulls, read_only, count);

	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/* Column col (1-based) of result row row as a C string, NULL if null. */
char *
pgcall_getstr(uint64 row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/* Column col of result row row as a Datum; *isnull says whether it is null. */
Datum
pgcall_getdatum(uint64 row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}
