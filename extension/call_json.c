/*
 * call_json.c: the call object.
 *
 * Every call_* function returns it: the call and its participants as JSON,
 * with the effective statuses (a call still marked ringing after its
 * deadline reads as ended/missed) and its version, the id of its latest
 * event.  Events carry parts of it: the call's own members, the participant
 * that changed, or (call.started, call.incoming and the end events) the
 * whole call.  pgcall's own functions (and the event flush), which run as
 * the tables' owner, get it built in C from the rows (below); anyone that
 * row-level security applies to (pgcall.call_json() called by a user) gets
 * it from the kept plans of the queries, which define it.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/skey.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/uuid.h"

#include "pgcall.h"
#include "rowread.h"

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

/* --- the call object built in C -----------------------------------------------
 *
 * What call_json_query (and call_fields_query and participant_query, for
 * events and the replies about a large call) compute, read straight from
 * the rows: the call by its primary key, its participants by theirs, its
 * version from event_call_idx, written the way json_build_object and json_agg write
 * (", " between members, " : " after a key, timestamps as JsonEncodeDateTime
 * writes them in the session's time zone), so the text is the same byte for
 * byte: events carry it as is.  Taken only when row-level security leaves
 * the three tables alone for the current user (pgcall's SECURITY DEFINER
 * functions, run by the tables' owner); anyone else gets the query, under
 * their policies.  test/sql/call_object.sql compares the two for calls in
 * every state and lists the columns, so a column change shows there.
 */

/* The members, written as json_build_object writes them. */
static void
obj_key(StringInfo buf, const char *key)
{
	if (buf->data[buf->len - 1] != '{')
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, " : ");
}

static void
obj_text(StringInfo buf, const char *key, const char *value)
{
	obj_key(buf, key);
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

static void
obj_col_text(StringInfo buf, const char *key, IndexRow *r, int att)
{
	obj_text(buf, key, pgcall_row_text(r, att));
}

static void
obj_col_bool(StringInfo buf, const char *key, IndexRow *r, int att)
{
	obj_key(buf, key);
	if (r->nulls[att])
		appendStringInfoString(buf, "null");
	else
		appendStringInfoString(buf, DatumGetBool(r->values[att]) ? "true" : "false");
}

static void
obj_int(StringInfo buf, const char *key, bool isnull, int32 value)
{
	obj_key(buf, key);
	if (isnull)
		appendStringInfoString(buf, "null");
	else
		appendStringInfo(buf, "%d", value);
}

static void
obj_col_int(StringInfo buf, const char *key, IndexRow *r, int att)
{
	obj_int(buf, key, r->nulls[att], r->nulls[att] ? 0 : DatumGetInt32(r->values[att]));
}

static void
obj_time(StringInfo buf, const char *key, bool isnull, Datum value)
{
	obj_key(buf, key);
	if (isnull)
		appendStringInfoString(buf, "null");
	else
	{
		char		ts[MAXDATELEN + 1];

		JsonEncodeDateTime(ts, value, TIMESTAMPTZOID, NULL);
		appendStringInfo(buf, "\"%s\"", ts);
	}
}

static void
obj_col_time(StringInfo buf, const char *key, IndexRow *r, int att)
{
	obj_time(buf, key, r->nulls[att], r->values[att]);
}

/* CALL_FIELDS of the call row r */
static void
append_call_fields(StringInfo buf, TupleDesc d, IndexRow *r)
{
	const char *status = pgcall_row_text(r, pgcall_column(d, "status"));
	int			deadline = pgcall_column(d, "ring_deadline");
	int			ended_at = pgcall_column(d, "ended_at");
	int			duration = pgcall_column(d, "duration_seconds");
	/* pgcall.effective_call_status */
	bool		expired = strcmp(status, "ringing") == 0 && pgcall_row_past(r, deadline);
	const char *eff = expired ? "ended" : status;
	const char *reason = pgcall_row_text(r, pgcall_column(d, "end_reason"));

	obj_key(buf, "id");
	escape_json(buf, DatumGetCString(DirectFunctionCall1(uuid_out, r->values[pgcall_column(d, "id")])));
	obj_col_text(buf, "kind", r, pgcall_column(d, "kind"));
	obj_col_text(buf, "media", r, pgcall_column(d, "media"));
	obj_text(buf, "status", eff);
	obj_text(buf, "end_reason", strcmp(eff, "ended") == 0 ? (reason ? reason : "missed") : NULL);
	obj_col_text(buf, "channel_id", r, pgcall_column(d, "channel_id"));
	obj_col_text(buf, "room_id", r, pgcall_column(d, "room_id"));
	obj_col_text(buf, "created_by", r, pgcall_column(d, "created_by"));
	obj_col_text(buf, "answered_by", r, pgcall_column(d, "answered_by"));
	obj_col_text(buf, "ended_by", r, pgcall_column(d, "ended_by"));
	obj_col_text(buf, "title", r, pgcall_column(d, "title"));
	obj_col_text(buf, "description", r, pgcall_column(d, "description"));
	obj_col_bool(buf, "is_public", r, pgcall_column(d, "is_public"));
	obj_col_int(buf, "max_participants", r, pgcall_column(d, "max_participants"));
	obj_col_time(buf, "created_at", r, pgcall_column(d, "created_at"));
	obj_col_time(buf, "ring_deadline", r, deadline);
	obj_col_time(buf, "answered_at", r, pgcall_column(d, "answered_at"));
	if (!r->nulls[ended_at])
		obj_col_time(buf, "ended_at", r, ended_at);
	else
		obj_time(buf, "ended_at", !expired, r->values[deadline]);
	if (!r->nulls[duration])
		obj_col_int(buf, "duration_seconds", r, duration);
	else
		obj_int(buf, "duration_seconds", !expired, 0);
}

/* PARTICIPANT_OBJECT of the participant row r */
static void
append_participant(StringInfo buf, TupleDesc d, IndexRow *r)
{
	const char *status = pgcall_row_text(r, pgcall_column(d, "status"));
	/* pgcall.effective_participant_status over pgcall.rings_until */
	bool		expired = (strcmp(status, "invited") == 0 || strcmp(status, "ringing") == 0) &&
		pgcall_row_past(r, pgcall_column(d, "ring_deadline"));

	appendStringInfoChar(buf, '{');
	obj_col_text(buf, "user_id", r, pgcall_column(d, "user_id"));
	obj_col_text(buf, "role", r, pgcall_column(d, "role"));
	obj_text(buf, "status", expired ? "missed" : status);
	if (expired)
		obj_text(buf, "reason", "timeout");
	else
		obj_col_text(buf, "reason", r, pgcall_column(d, "reason"));
	obj_col_time(buf, "invited_at", r, pgcall_column(d, "invited_at"));
	obj_col_time(buf, "joined_at", r, pgcall_column(d, "joined_at"));
	obj_col_time(buf, "left_at", r, pgcall_column(d, "left_at"));
	obj_col_int(buf, "joined_seconds", r, pgcall_column(d, "joined_seconds"));
	obj_col_text(buf, "device_id", r, pgcall_column(d, "device_id"));
	obj_col_bool(buf, "mic_muted", r, pgcall_column(d, "mic_muted"));
	obj_col_bool(buf, "camera_off", r, pgcall_column(d, "camera_off"));
	obj_col_bool(buf, "sharing_screen", r, pgcall_column(d, "sharing_screen"));
	appendStringInfoChar(buf, '}');
}

/* ORDER BY p.invited_at, p.user_id: the rows come by user id, keep that order on ties */
static int invited_at_att;

static int
by_invited_at(const void *a, const void *b)
{
	const IndexRow *x = a;
	const IndexRow *y = b;
	TimestampTz tx = DatumGetTimestampTz(x->values[invited_at_att]);
	TimestampTz ty = DatumGetTimestampTz(y->values[invited_at_att]);

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return x->pos - y->pos;
}

/*
 * call_json_query's two columns, built in C: the call object (*json, ending
 * in '}') and its version (*version, NULL when none; not read when version
 * is NULL), or false when there is no such call.  Without participants
 * (!full) it is call_fields_query's.
 */
static bool
build_call_json(const char *call_id, bool full, char **json, char **version)
{
	IndexKey	key = {UUIDOID, DirectFunctionCall1(uuid_in, CStringGetDatum(call_id))};
	Relation	call_rel;
	Relation	part_rel;
	Relation	event_rel;
	Snapshot	snap = pgcall_statement_snapshot();
	IndexRow	   *call_row;
	IndexRow	   *parts;
	IndexRow	   *ev;
	int			nparts;
	StringInfoData buf;
	bool		found;

	call_rel = table_open(pgcall_relid("call"), AccessShareLock);
	found = pgcall_index_rows(call_rel, RelationGetPrimaryKeyIndex(call_rel), &key, 1, snap, 0,
							  false, &call_row) > 0;
	if (found)
	{
		initStringInfo(&buf);
		appendStringInfoChar(&buf, '{');
		append_call_fields(&buf, RelationGetDescr(call_rel), call_row);
		if (full)
		{
			part_rel = table_open(pgcall_relid("participant"), AccessShareLock);
			nparts = pgcall_index_rows(part_rel, RelationGetPrimaryKeyIndex(part_rel), &key, 1, snap,
									   0, false, &parts);
			obj_key(&buf, "participants");
			if (nparts == 0)
				appendStringInfoString(&buf, "null");
			else
			{
				invited_at_att = pgcall_column(RelationGetDescr(part_rel), "invited_at");
				qsort(parts, nparts, sizeof(IndexRow), by_invited_at);
				appendStringInfoChar(&buf, '[');
				for (int i = 0; i < nparts; i++)
				{
					if (i > 0)
						appendStringInfoString(&buf, ", ");
					append_participant(&buf, RelationGetDescr(part_rel), &parts[i]);
				}
				appendStringInfoChar(&buf, ']');
			}
			table_close(part_rel, AccessShareLock);
		}
		appendStringInfoChar(&buf, '}');
		*json = buf.data;

		if (version)
		{
			event_rel = table_open(pgcall_relid("event"), AccessShareLock);
			if (pgcall_index_rows(event_rel, pgcall_relid("event_call_idx"), &key, 1, snap, 1, true, &ev) > 0)
				*version = psprintf(INT64_FORMAT,
									DatumGetInt64(ev->values[pgcall_column(RelationGetDescr(event_rel), "id")]));
			else
				*version = NULL;
			table_close(event_rel, AccessShareLock);
		}
	}
	table_close(call_rel, AccessShareLock);
	UnregisterSnapshot(snap);
	return found;
}

/* participant_query, built in C: NULL when there is no such participant. */
static char *
build_participant_json(const char *call_id, const char *user_id)
{
	IndexKey	keys[2] = {{UUIDOID, DirectFunctionCall1(uuid_in, CStringGetDatum(call_id))},
	{TEXTOID, CStringGetTextDatum(user_id)}};
	Snapshot	snap = pgcall_statement_snapshot();
	Relation	rel = table_open(pgcall_relid("participant"), AccessShareLock);
	IndexRow   *row;
	char	   *json = NULL;

	if (pgcall_index_rows(rel, RelationGetPrimaryKeyIndex(rel), keys, 2, snap, 0, false, &row) > 0)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		append_participant(&buf, RelationGetDescr(rel), row);
		json = buf.data;
	}
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snap);
	return json;
}

/* Whether build_call_json reads what call_json_query would for the current user. */
static bool
builds_in_c(void)
{
	return pgcall_owner_reads(pgcall_relid("call")) && pgcall_owner_reads(pgcall_relid("participant")) &&
		pgcall_owner_reads(pgcall_relid("event"));
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
	Datum		values[1];
	char	   *json;
	char	   *version;

	if (builds_in_c())
	{
		if (!build_call_json(call_id, true, &json, &version))
			return NULL;
		pgcall_event_remember_call(call_id, json);
		return with_version(json, version);
	}
	values[0] = CStringGetTextDatum(call_id);
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
	Datum		values[1];
	char	   *json;

	if (builds_in_c())
		return build_call_json(call_id, full, &json, NULL) ? json : NULL;
	values[0] = CStringGetTextDatum(call_id);
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
 * A call's participant counts as the participant trigger last read them
 * (pgcall_counts_seen, call_triggers.c: its audience scan reads every
 * participant of the call anyway), for what follows in the same request:
 * a join's capacity check, a leave's settling and the reply.  A join to a
 * call of a thousand then counts nobody again.  They hold while nothing
 * has changed since: the same transaction and command (a statement that
 * wrote anything since has moved the command counter on), no participant
 * row written since (the BEFORE trigger forgets them) and no
 * subtransaction rolled back.  Other transactions write a call's
 * participants only under the call's row lock, which the request holds.
 */
static struct
{
	LocalTransactionId lxid;
	CommandId	cid;
	char		call_id[UUID_LEN * 2 + 8];
	int			total;
	int			joined;
}			counts;

/* A subtransaction rolled back may have undone what the counts saw. */
static void
counts_subxact(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		pgcall_counts_forget();
}

void
pgcall_counts_seen(const char *call_id, int total, int joined)
{
	static bool callback = false;

	if (strlen(call_id) >= sizeof(counts.call_id))
		return;
	if (!callback)
	{
		RegisterSubXactCallback(counts_subxact, NULL);
		callback = true;
	}
	counts.lxid = MyProc->lxid;
	counts.cid = GetCurrentCommandId(false);
	strcpy(counts.call_id, call_id);
	counts.total = total;
	counts.joined = joined;
}

void
pgcall_counts_forget(void)
{
	counts.lxid = InvalidLocalTransactionId;
}

bool
pgcall_counts_known(const char *call_id, int *total, int *joined)
{
	if (counts.lxid != MyProc->lxid || counts.lxid == InvalidLocalTransactionId ||
		counts.cid != GetCurrentCommandId(false) || strcmp(counts.call_id, call_id) != 0)
		return false;
	if (total)
		*total = counts.total;
	*joined = counts.joined;
	return true;
}

/* call_summary_query with the counts known (pgcall_counts_known): $2 and $3. */
static const char *const call_summary_counted_query =
	"SELECT json_build_object( " CALL_FIELDS ", "
	"   'participant_count', $2, "
	"   'joined_count', $3), "
	"   (SELECT max(e.id) FROM pgcall.event e WHERE e.call_id = c.id) "
	" FROM pgcall.call c "
	"WHERE c.id = $1::uuid ";

/*
 * The call object of call_id for a reply: with its participants when it has
 * at most inline_max of them (as pgcall_call_json_text), else without them
 * (call_summary_query, or call_summary_counted_query with the counts the
 * participant trigger just made); *listed says which.  Counting stops at
 * inline_max + 1, so a small call pays for no more than it lists; a
 * negative inline_max always lists them, without counting.
 */
char *
pgcall_call_json_for_reply(const char *call_id, int inline_max, bool *listed)
{
	static SPIPlanPtr count_plan = NULL;
	static SPIPlanPtr summary_plan = NULL;
	static SPIPlanPtr counted_plan = NULL;
	static const Oid types[3] = {TEXTOID, INT4OID, INT4OID};
	Datum		values[3] = {CStringGetTextDatum(call_id), Int32GetDatum(inline_max + 1)};
	bool		isnull;
	char	   *json;
	int			total;
	int			joined = 0;
	bool		known;

	*listed = true;
	if (inline_max < 0)
		return pgcall_call_json_text(call_id);
	known = pgcall_counts_known(call_id, &total, &joined);
	if (!known)
	{
		pgcall_exec(pgcall_plan(&count_plan,
								"SELECT count(*) FROM (SELECT FROM pgcall.participant p "
								"WHERE p.call_id = $1::uuid LIMIT $2) s",
								2, types), values, NULL, false, 1);
		total = (int) DatumGetInt64(pgcall_getdatum(0, 1, &isnull));
	}
	*listed = total <= inline_max;
	if (*listed)
		return pgcall_call_json_text(call_id);
	values[1] = Int32GetDatum(total);
	values[2] = Int32GetDatum(joined);
	if (pgcall_exec(known ? pgcall_plan(&counted_plan, call_summary_counted_query, 3, types)
					: pgcall_plan(&summary_plan, call_summary_query, 1, types),
					values, NULL, false, 1) == 0)
		return NULL;
	json = pgcall_getstr(0, 1);
	return json ? with_version(json, pgcall_getstr(0, 2)) : NULL;
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
	Datum		values[2];

	if (builds_in_c())
		return build_participant_json(call_id, user_id);
	values[0] = CStringGetTextDatum(call_id);
	values[1] = CStringGetTextDatum(user_id);
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
