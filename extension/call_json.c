/*
 * call_json.c: the call object.
 *
 * Every call_* function returns it: the call and its participants as JSON,
 * with the effective statuses (a call still marked ringing after its
 * deadline reads as ended/missed) and its version, the id of its latest
 * event.  Events carry parts of it: the call's own members, the participant
 * that changed, or (call.started, call.incoming and the end events) the
 * whole call.  One kept plan serves the SQL function pgcall.call_json() and
 * the C callers.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/uuid.h"

#include "pgcall.h"

/* The call's own members, without participants (c is pgcall.call). */
#define CALL_FIELDS \
	"   'id', c.id, " \
	"   'kind', c.kind, " \
	"   'media', c.media, " \
	"   'status', pgcall.effective_call_status(c.status, c.ring_deadline), " \
	"   'end_reason', CASE WHEN pgcall.effective_call_status(c.status, c.ring_deadline) = 'ended' " \
	"                      THEN COALESCE(c.end_reason, 'missed') END, " \
	"   'channel_id', c.channel_id, " \
	"   'room_id', c.room_id, " \
	"   'created_by', c.created_by, " \
	"   'answered_by', c.answered_by, " \
	"   'ended_by', c.ended_by, " \
	"   'title', c.title, " \
	"   'description', c.description, " \
	"   'is_public', c.is_public, " \
	"   'max_participants', c.max_participants, " \
	"   'created_at', c.created_at, " \
	"   'ring_deadline', c.ring_deadline, " \
	"   'answered_at', c.answered_at, " \
	"   'ended_at', COALESCE(c.ended_at, CASE WHEN pgcall.effective_call_status(c.status, c.ring_deadline) <> c.status " \
	"                                         THEN c.ring_deadline END), " \
	"   'duration_seconds', COALESCE(c.duration_seconds, " \
	"                                CASE WHEN pgcall.effective_call_status(c.status, c.ring_deadline) <> c.status THEN 0 END) "

/* One participant (p is pgcall.participant). */
#define PARTICIPANT_OBJECT \
	"json_build_object( " \
	"   'user_id', p.user_id, " \
	"   'role', p.role, " \
	"   'status', pgcall.effective_participant_status(p.status, p.ring_deadline), " \
	"   'reason', CASE WHEN pgcall.effective_participant_status(p.status, p.ring_deadline) <> p.status " \
	"                  THEN 'timeout' ELSE p.reason END, " \
	"   'invited_at', p.invited_at, " \
	"   'joined_at', p.joined_at, " \
	"   'left_at', p.left_at, " \
	"   'joined_seconds', p.joined_seconds, " \
	"   'device_id', p.device_id, " \
	"   'mic_muted', p.mic_muted, " \
	"   'camera_off', p.camera_off, " \
	"   'sharing_screen', p.sharing_screen) "

/*
 * The call with its participants, and its version: the largest event id of
 * the call in the same snapshot (event_call_idx), null before its first
 * event commits.  Events carry the object without the version (their id is
 * theirs), so the two come apart.
 */
static const char *const call_json_query =
	"SELECT json_build_object( " CALL_FIELDS ", "
	"   'participants', ( "
	"       SELECT json_agg(" PARTICIPANT_OBJECT " ORDER BY p.invited_at, p.user_id) "
	"         FROM pgcall.participant p "
	"        WHERE p.call_id = c.id)), "
	"   (SELECT max(e.id) FROM pgcall.event e WHERE e.call_id = c.id) "
	" FROM pgcall.call c "
	"WHERE c.id = $1::uuid ";

static const char *const call_fields_query =
	"SELECT json_build_object( " CALL_FIELDS ") FROM pgcall.call c WHERE c.id = $1::uuid";

static const char *const participant_query =
	"SELECT " PARTICIPANT_OBJECT " FROM pgcall.participant p "
	"WHERE p.call_id = $1::uuid AND p.user_id = $2";

/* Append , "version" : N} to the call object json (which ends with '}'). */
static char *
with_version(const char *json, const char *version)
{
	size_t		len = strlen(json);
	StringInfoData buf;

	Assert(len > 0 && json[len - 1] == '}');
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, json, len - 1);
	appendStringInfo(&buf, ", \"version\" : %s}", version ? version : "null");
	return buf.data;
}

/*
 * The call object of call_id as JSON text, or NULL when there is no such
 * call (or row-level security hides it).  SPI must be connected; the result
 * lives in the SPI procedure context.  The events of this transaction may
 * use it, without its version, as their snapshot of the call (events.c
 * decides whether they can).
 */
char *
pgcall_call_json_text(const char *call_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(call_id)};
	char	   *json;

	if (pgcall_exec(pgcall_plan(&plan, call_json_query, 1, types), values, NULL, false, 1) == 0)
		return NULL;
	json = pgcall_getstr(0, 1);
	if (json == NULL)
		return NULL;
	pgcall_event_remember_call(call_id, json);
	return with_version(json, pgcall_getstr(0, 2));
}

/*
 * For events: the call with its participants and without a version
 * (full), or only its own members (!full).  NULL when there is no such call.
 */
char *
pgcall_call_json_for_event(const char *call_id, bool full)
{
	static SPIPlanPtr full_plan = NULL;
	static SPIPlanPtr fields_plan = NULL;
	static const Oid types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(call_id)};

	if (pgcall_exec(full ? pgcall_plan(&full_plan, call_json_query, 1, types)
					: pgcall_plan(&fields_plan, call_fields_query, 1, types),
					values, NULL, false, 1) == 0)
		return NULL;
	return pgcall_getstr(0, 1);
}

/*
 * The call without its participants, for the replies about a large call
 * (pgcall_call_reply in call_common.c): participant_count (everyone in its list, whatever their status) and
 * joined_count (in it now) instead of the list, and its version.  The list
 * is paged by pgcall.call_participants.  NULL when there is no such call.
 */
static const char *const call_summary_query =
	"SELECT json_build_object( " CALL_FIELDS ", "
	"   'participant_count', n.total, "
	"   'joined_count', n.joined), "
	"   (SELECT max(e.id) FROM pgcall.event e WHERE e.call_id = c.id) "
	" FROM pgcall.call c, "
	"      LATERAL (SELECT count(*) AS total, count(*) FILTER (WHERE p.status = 'joined') AS joined "
	"                 FROM pgcall.participant p WHERE p.call_id = c.id) n "
	"WHERE c.id = $1::uuid ";

/*
 * The call object of call_id for a reply: with its participants when it has
 * at most inline_max of them (as pgcall_call_json_text), else without them
 * (call_summary_query); *listed says which.  Counting stops at inline_max + 1,
 * so a small call pays for no more than it lists; a negative inline_max
 * always lists them, without counting.
 */
char *
pgcall_call_json_for_reply(const char *call_id, int inline_max, bool *listed)
{
	static SPIPlanPtr count_plan = NULL;
	static SPIPlanPtr summary_plan = NULL;
	static const Oid types[2] = {TEXTOID, INT4OID};
	Datum		values[2] = {CStringGetTextDatum(call_id), Int32GetDatum(inline_max + 1)};
	bool		isnull;
	char	   *json;

	*listed = true;
	if (inline_max < 0)
		return pgcall_call_json_text(call_id);
	pgcall_exec(pgcall_plan(&count_plan,
							"SELECT count(*) FROM (SELECT FROM pgcall.participant p "
							"WHERE p.call_id = $1::uuid LIMIT $2) s",
							2, types), values, NULL, false, 1);
	*listed = DatumGetInt64(pgcall_getdatum(0, 1, &isnull)) <= inline_max;
	if (*listed)
		return pgcall_call_json_text(call_id);
	if (pgcall_exec(pgcall_plan(&summary_plan, call_summary_query, 1, types), values, NULL, false, 1) == 0)
		return NULL;
	json = pgcall_getstr(0, 1);
	if (json == NULL)
		return NULL;
	return with_version(json, pgcall_getstr(0, 2));
}

/*
 * One page of a call's participants, by user id: those after `after` (all
 * when NULL), at most max of them, as {"participants": [...], "next": the
 * last user id when more follow, else null, "version": the call's version
 * when read}.
 */
char *
pgcall_participants_page_json(const char *call_id, const char *after, int max)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		values[3] = {CStringGetTextDatum(call_id),
							 after ? CStringGetTextDatum(after) : (Datum) 0,
							 Int32GetDatum(max)};
	char		nulls[3] = {' ', after ? ' ' : 'n', ' '};
	bool		isnull;
	bool		more;
	char	   *next;
	char	   *version;
	StringInfoData buf;

	pgcall_exec(pgcall_plan(&plan,
							"SELECT COALESCE(json_agg(s.o ORDER BY s.uid) FILTER (WHERE s.n <= $3), '[]'::json), "
							"       max(s.uid) FILTER (WHERE s.n <= $3), count(*) > $3, "
							"       (SELECT max(e.id) FROM pgcall.event e WHERE e.call_id = $1::uuid) "
							"  FROM (SELECT p.user_id AS uid, " PARTICIPANT_OBJECT " AS o, "
							"               row_number() OVER (ORDER BY p.user_id) AS n "
							"          FROM pgcall.participant p "
							"         WHERE p.call_id = $1::uuid AND ($2::text IS NULL OR p.user_id > $2) "
							"         ORDER BY p.user_id LIMIT $3 + 1) s",
							3, types), values, nulls, false, 1);
	more = DatumGetBool(pgcall_getdatum(0, 3, &isnull));
	next = pgcall_getstr(0, 2);
	version = pgcall_getstr(0, 4);
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"participants\":%s,\"next\":", pgcall_getstr(0, 1));
	if (more && next)
		escape_json(&buf, next);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfo(&buf, ",\"version\":%s}", version ? version : "null");
	return buf.data;
}

/* The participant object of user_id in call_id, NULL when there is none. */
char *
pgcall_participant_json(const char *call_id, const char *user_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(call_id), CStringGetTextDatum(user_id)};

	if (pgcall_exec(pgcall_plan(&plan, participant_query, 2, types), values, NULL, false, 1) == 0)
		return NULL;
	return pgcall_getstr(0, 1);
}

PG_FUNCTION_INFO_V1(pgcall_call_json);

/* call_json(call_id uuid) RETURNS json */
Datum
pgcall_call_json(PG_FUNCTION_ARGS)
{
	char	   *call_id = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(0)));
	char	   *json;
	Datum		result = (Datum) 0;

	SPI_connect();
	json = pgcall_call_json_text(call_id);
	if (json)
		result = SPI_datumTransfer(CStringGetTextDatum(json), false, -1);
	SPI_finish();
	if (json == NULL)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}
