/*
 * call_args.c: the arguments of the call functions, read and checked in one
 * place for call_*, conference_create and the admin_* functions: optional
 * and required values, media types, reasons, invitee lists, limits.
 * Each raises its own SQLSTATE with a message naming the argument.
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

#define REASON_MAX 200

/* --- argument checks ----------------------------------------------------- */

/* 'audio', 'voice' or 'video', any case, to 'audio' or 'video'. */
const char *
pgcall_arg_media(const char *type)
{
	if (pg_strcasecmp(type, "audio") == 0 || pg_strcasecmp(type, "voice") == 0)
		return "audio";
	if (pg_strcasecmp(type, "video") == 0)
		return "video";
	ereport(ERROR,
			(errcode(ERRCODE_PGCALL_INVALID_MEDIA),
			 errmsg("call type \"%s\" is not audio or video", type),
			 errhint("Pass type => 'audio' (or 'voice') or type => 'video'.")));
	return NULL;
}

/* Optional short free text (a reason): at most 200 bytes, no control characters. */
void
pgcall_check_reason(const char *reason, const char *what)
{
	if (reason == NULL)
		return;
	if (strlen(reason) > REASON_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_REASON),
				 errmsg("%s must be at most %d bytes long", what, REASON_MAX)));
	for (const char *p = reason; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_INVALID_REASON),
					 errmsg("%s must not contain control characters", what)));
}

/* Argument n as a C string, or NULL. */
char *
pgcall_arg_text(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/* Argument n (a uuid) as text, or NULL. */
char *
pgcall_arg_uuid(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL
		: DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(n)));
}

/* Argument n (a uuid, called name) as text; P400R when it is null. */
char *
pgcall_arg_required_uuid(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_MISSING_ARGUMENT),
				 errmsg("%s is required", name)));
	return pgcall_arg_uuid(fcinfo, n);
}

/* An optional id (a device, a room): NULL, or an id as user ids are. */
void
pgcall_check_optional_id(const char *id, const char *what)
{
	if (id != NULL)
		pgcall_check_user_id(id, what);
}

/* Argument n (a boolean) as -1 (null), 0 or 1. */
int
pgcall_arg_bool(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? -1 : (PG_GETARG_BOOL(n) ? 1 : 0);
}

/*
 * The max_participants argument n of a function, or dflt when it is null:
 * 2 to 10000.
 */
int
pgcall_arg_max_participants(FunctionCallInfo fcinfo, int n, int dflt)
{
	int			max;

	if (PG_ARGISNULL(n))
		return dflt;
	max = PG_GETARG_INT32(n);
	if (max < 2 || max > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_INVITEES),
				 errmsg("max_participants must be between 2 and 10000"),
				 errdetail("The value given is %d.", max)));
	return max;
}

/* Validate and deduplicate-check the invitees; returns them as C strings. */
char **
pgcall_check_invitees(ArrayType *arr, const char *me, int *count)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	  **out;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_INVITEES),
				 errmsg("invitees must be a one-dimensional array of user ids")));
	/* Counted before anything is copied: the list may be huge. */
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (n > pgcall_max_invitees)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_TOO_MANY_INVITEES),
				 errmsg("too many invitees: %d, at most %d can be invited at once", n,
						pgcall_max_invitees),
				 errdetail("Every invitee is rung and told about everyone else in the call."),
				 errhint("Invite fewer people, or ask an administrator to raise pgcall.max_invitees.")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_INVITEES),
				 errmsg("invitees must name at least one user"),
				 errhint("Pass invitees => ARRAY['<user id>'] (over HTTP: \"invitees\": [\"<user id>\"]).")));
	out = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_INVALID_INVITEES),
					 errmsg("invitees must not contain null")));
		out[i] = TextDatumGetCString(elems[i]);
		pgcall_check_user_id(out[i], "an invitee's user id");
		if (strcmp(out[i], me) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_PGCALL_INVALID_INVITEES),
					 errmsg("you cannot invite yourself"),
					 errdetail("invitees contains your own user id.")));
		for (int j = 0; j < i; j++)
			if (strcmp(out[i], out[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_PGCALL_INVALID_INVITEES),
						 errmsg("invitee \"%s\" is listed twice", out[i])));
	}
	*count = n;
	return out;
}

/*
 * Create a call from me to the invitees.  Returns the call, locked; *glare
 * says that it is instead the other person's ringing call, now answered.
 */

/* The ring_timeout argument n: 5 to 600 seconds, or 0 (the default) when null. */
int
pgcall_arg_ring_timeout(FunctionCallInfo fcinfo, int n)
{
	int			v;

	if (PG_ARGISNULL(n))
		return 0;
	v = PG_GETARG_INT32(n);
	if (v < 5 || v > 600)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_TTL),
				 errmsg("ring_timeout must be between 5 and 600 seconds"),
				 errdetail("The value given is %d.", v),
				 errhint("Omit it to use pgcall.ring_timeout (%d seconds).", pgcall_ring_timeout)));
	return v;
}
