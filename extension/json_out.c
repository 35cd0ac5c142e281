/*
 * json_out.c: building the JSON that functions return and events carry.
 *
 * Objects are written as text into a StringInfo that starts with "{"; the
 * members below add their comma themselves.  pgcall_jsonb_result() turns the
 * text into a jsonb result and closes the caller's SPI connection.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/json.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/fmgrprotos.h"

#include "pgcall.h"

static void
member_key(StringInfo buf, const char *key)
{
	if (buf->len > 1)
		appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
}

/* "key": "value" (null when value is NULL) */
void
pgcall_json_member(StringInfo buf, const char *key, const char *value)
{
	member_key(buf, key);
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

/* "key": true|false */
void
pgcall_json_bool(StringInfo buf, const char *key, bool value)
{
	member_key(buf, key);
	appendStringInfoString(buf, value ? "true" : "false");
}

/*
 * The JSON text in buf as a jsonb Datum that outlives the SPI connection,
 * which the caller then closes.
 */
Datum
pgcall_jsonb_datum(StringInfo buf)
{
	Datum		d = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf->data));

	return SPI_datumTransfer(d, false, -1);
}

/* pgcall_jsonb_datum, closing the SPI connection. */
Datum
pgcall_jsonb_result(StringInfo buf)
{
	Datum		d = pgcall_jsonb_datum(buf);

	SPI_finish();
	return d;
}
