/*
 * errors.c: pgcall.error_codes(), the catalog of pgcall's SQLSTATEs.
 *
 * The list itself lives in errors.h; this file only turns it into rows.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/formatting.h"

#include "errors.h"

typedef struct ErrcodeEntry
{
	const char *name;
	char		code[6];
	const char *description;
} ErrcodeEntry;

#define PGCALL_ERRCODE_ENTRY(name, a, b, c, d, e, desc) \
	{#name, {a, b, c, d, e, '\0'}, desc},

static const ErrcodeEntry errcode_entries[] = {
	PGCALL_ERRCODE_LIST(PGCALL_ERRCODE_ENTRY)
};

PG_FUNCTION_INFO_V1(pgcall_error_codes);

/*
 * error_codes() returns (code, http_status, name, description) for every
 * SQLSTATE pgcall raises.
 */
Datum
pgcall_error_codes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);

	for (int i = 0; i < lengthof(errcode_entries); i++)
	{
		const ErrcodeEntry *entry = &errcode_entries[i];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		char	   *name = asc_tolower(entry->name, strlen(entry->name));

		values[0] = CStringGetTextDatum(entry->code);
		values[1] = Int32GetDatum(atoi(entry->code + 1));
		values[2] = CStringGetTextDatum(name);
		values[3] = CStringGetTextDatum(entry->description);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
