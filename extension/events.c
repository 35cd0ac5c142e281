/*
 * events.c: the event log.
 *
 * One event is one row of pgcall.event, addressed to its recipients (a
 * text[] of user ids): a change to a call is written once however many
 * people hear of it, and carries what changed, not the whole call.  Its id
 * is the call's version after it: a client that holds a call of version V
 * (call_get returns it) ignores the call's events with ids up to V and
 * applies the others.
 *
 * Triggers and call functions queue events with pgcall_event_queue(); they
 * stay in TopTransactionContext, follow savepoints (an aborted
 * subtransaction drops its events) and are written at commit by the
 * PRE_COMMIT transaction callback, after every deferred trigger has run:
 *
 *   0. hand the queue to the webhook outbox (webhook.c);
 *   1. build each event's payload (all but its id) and its recipients
 *      array, reading the call, or the participant that changed, as
 *      committed; open the event table, its indexes and checks;
 *   2. in pgcall.event_order = lock (the default), take the event lock,
 *      held to the end of the commit, so no other transaction assigns
 *      event ids until this one is visible.  It is the lock NOTIFY takes at
 *      commit anyway (exclusive, on object 0 of pg_database), taken a
 *      little earlier: an advisory lock would let any role stall every
 *      event-writing commit, and a second lock would serialize commits
 *      twice.  In 'horizon' order (event_order.c) no lock is taken, except
 *      by a transaction that announces presence (read under the lock, so
 *      that the last presence event about a user is the last state);
 *   3. give each event an id (pgcall_event_next_id(), event_order.c and
 *      event_ids.c: the WAL timeline in its top bits), write its row
 *      straight into the table and its indexes (EventWriter), payloads of
 *      256 bytes or more compressed, and in 'lock' order send one NOTIFY
 *      on the event channel (a secret random name, see event_channel())
 *      whose payload is the id range.
 *
 * In 'lock' order step 2 makes ids commit-ordered: every event with a
 * smaller id is already visible when an event becomes visible, so a reader
 * that saw id N resumes with "id > N" and misses nothing, even when the
 * transactions that queued events began in another order.  Only step 3 is
 * serialized.  In 'horizon' order readers stop below the first id a
 * transaction still in flight may commit (pgcall_event_horizon()), with the
 * same guarantee, and commits flush their WAL together.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/toast_compression.h"
#include "access/toast_internals.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/memutils.h"
#include "pgtime.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "pgcall.h"
#include "rowread.h"

/*
 * Every event type pgcall sends: who gets it and when.  Queuing an event of
 * another type is a bug; pgcall.event_types() returns this list and the
 * event catalog in docs/events.md is generated from it.
 */
typedef struct EventType
{
	const char *type;
	const char *recipients;
	const char *description;
} EventType;

static const EventType event_types[] = {
	{"call.started", "the caller", "A call you started exists and rings the others; data: your participant.  Carries the whole call, participants included."},
	{"call.incoming", "the invitees", "Someone calls you: ring.  One event for everyone invited with the same status at once; data.status is theirs (your participant is in call.participants); call.created_by is the caller, and data.caller their {id, name, avatar} from the profile source (pgcall.user_profile), or null when it has no row for them.  Carries the whole call, participants included."},
	{"call.accepted", "every participant", "Someone answered; the call is active.  data.by: who."},
	{"call.ended", "every participant", "The call ended after it was answered (reason completed, failed or terminated).  data: reason, by, duration_seconds.  Carries the whole call: ending it closes every participant without events of their own."},
	{"call.cancelled", "every participant", "The caller hung up before anyone answered.  Carries the whole call."},
	{"call.rejected", "every participant", "Everyone invited declined.  Carries the whole call."},
	{"call.missed", "every participant", "Nobody answered before the ring timeout.  Carries the whole call."},
	{"call.busy", "every participant", "Everyone invited was already in a call.  Carries the whole call."},
	{"call.unavailable", "every participant", "Everyone invited was offline (the caller asked for require_online).  Carries the whole call."},
	{"participant.invited", "everyone in the call or being rung, and the participant", "Someone was added to the call."},
	{"participant.ringing", "everyone in the call or being rung, and the participant", "A participant's device rings."},
	{"participant.joined", "everyone in the call or being rung, and the participant", "A participant answered or joined; data.device_id says which device (other devices of that user stop ringing: answered elsewhere)."},
	{"participant.left", "everyone in the call or being rung, and the participant", "A participant hung up their own part."},
	{"participant.declined", "everyone in the call or being rung, and the participant", "A participant declined; data.reason is theirs."},
	{"participant.missed", "everyone in the call or being rung, and the participant", "A participant's invitation timed out (data.reason timeout) or they were offline (unavailable)."},
	{"participant.busy", "everyone in the call or being rung, and the participant", "A participant was in another call."},
	{"participant.removed", "everyone in the call or being rung, and the participant", "An admin removed a participant: their client must leave the call; they cannot rejoin."},
	{"participant.media", "everyone in the call or being rung, and the participant", "A participant's microphone, camera or screen share changed."},
	{"participant.disconnected", "everyone else in the call or being rung", "A joined participant's sockets all went away pgcall.disconnect_grace ago and they are not back: they may be gone (data.since: when).  Past pgcall.disconnect_leave_after they leave (participant.left, reason disconnected; a direct call then ends)."},
	{"participant.reconnected", "everyone else in the call or being rung", "A participant announced by participant.disconnected has a socket again (data.since: when they went away)."},
	{"call.signal", "the participant it is addressed to", "A WebRTC message (offer, answer, candidate, end_of_candidates, renegotiate) from another participant; no call, and it does not change the call's version."},
	{"presence.changed", "the subject's followers the presence policy lets see them", "A user you follow (presence_subscribe) came online, went offline, or joined or left a call: data {user_id, visible, online, in_call, since}.  Also sent when you start or stop sharing a call with them, as pgcall.presence_visible decides: visible false (online false) when you may no longer see them.  No call_id: it is about a user, not a call."},
};

/*
 * Events with at most this many recipients are in the GIN index on
 * recipients (event_recipients_idx, whose predicate says the same number);
 * events_since finds the others through the user's calls.
 */
#define PGCALL_EVENT_INDEXED_RECIPIENTS 64

typedef struct QueuedEvent
{
	SubTransactionId subid;
	char	   *type;
	char	   *call_id;		/* text form of the call's uuid, or NULL */
	char	   *data;			/* JSON object */
	PgcallEventCall with_call;	/* what of the call to add */
	char	   *participant;	/* add this participant's object, or NULL */
	TimestampTz at;
	int			nrecipients;	/* sorted, distinct */
	char	  **recipients;
	bool		presence;		/* a presence touch: participant is the subject,
								 * call_id the call whose sharing changed (or
								 * NULL), recipients none yet */
	bool		state;			/* the subject's own state may have changed */
} QueuedEvent;

static List *queued = NIL;		/* of QueuedEvent *, in TopTransactionContext */

/*
 * The NOTIFY channel of events: a random name per installation in
 * pgcall.event_channel, which no application role can read (any role may
 * LISTEN to a channel whose name it knows).  Read once per backend and
 * installation, as the table's owner; the caller is in a transaction.
 */
static const char *
event_channel(void)
{
	static char channel[NAMEDATALEN];
	static Oid	channel_relid = InvalidOid;
	Oid			relid = pgcall_relid("event_channel");
	PgcallOwner owner;
	char	   *name = NULL;

	if (relid == channel_relid)
		return channel;
	PushActiveSnapshot(GetTransactionSnapshot());
	pgcall_enter_owner(&owner, relid);
	SPI_connect();
	if (SPI_execute("SELECT name FROM pgcall.event_channel", true, 2) == SPI_OK_SELECT &&
		SPI_processed == 1)
		name = pgcall_getstr(0, 1);
	if (name == NULL || strlen(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("pgcall.event_channel must hold one channel name"),
				 errhint("Reinstall the extension: DROP EXTENSION pgcall; CREATE EXTENSION pgcall.")));
	strlcpy(channel, name, sizeof(channel));
	SPI_finish();
	pgcall_leave_owner(&owner);
	PopActiveSnapshot();
	channel_relid = relid;
	return channel;
}

/* Format ts as ISO 8601 in UTC with microseconds into buf (32 bytes). */
void
pgcall_format_timestamp(TimestampTz ts, char *buf, size_t size)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		elog(ERROR, "timestamp out of range");
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
			 tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int) fsec);
}

static int
strptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * Sort names[0..n): most arrive sorted but for a few at the end (a call's
 * audience read in index order, in a database whose collation orders as
 * strcmp does, then the participant the event is about), which go into
 * place by binary search; anything else is sorted whole.
 */
#define SORT_TAIL_INSERTED 4

static void
sort_names(char **names, int n)
{
	int			sorted = 1;

	while (sorted < n && strcmp(names[sorted - 1], names[sorted]) <= 0)
		sorted++;
	if (n - sorted > SORT_TAIL_INSERTED)
	{
		qsort(names, n, sizeof(char *), strptr_cmp);
		return;
	}
	for (; sorted < n; sorted++)
	{
		char	   *name = names[sorted];
		int			lo = 0,
					hi = sorted;

		while (lo < hi)
		{
			int			mid = lo + (hi - lo) / 2;

			if (strcmp(names[mid], name) <= 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		memmove(&names[lo + 1], &names[lo], sizeof(char *) * (sorted - lo));
		names[lo] = name;
	}
}

/* Add recipients (a List of char *) to ev's, keeping them sorted and distinct. */
static void
add_recipients(QueuedEvent *ev, List *recipients)
{
	ListCell   *lc;
	int			n = ev->nrecipients;
	int			out = 0;

	if (recipients == NIL)
		return;
	ev->recipients = ev->recipients
		? repalloc(ev->recipients, sizeof(char *) * (n + list_length(recipients)))
		: palloc(sizeof(char *) * list_length(recipients));
	foreach(lc, recipients)
		ev->recipients[n++] = pstrdup(lfirst(lc));
	sort_names(ev->recipients, n);
	for (int i = 0; i < n; i++)
		if (out == 0 || strcmp(ev->recipients[out - 1], ev->recipients[i]) != 0)
			ev->recipients[out++] = ev->recipients[i];
	ev->nrecipients = out;
}

/*
 * Queue an event of the given type for the recipients (a List of char *;
 * duplicates are sent once).  data is a JSON object; NULL means {}.
 * with_call says what of the call it carries, participant (a user id, or
 * NULL) whose participant object.  Invitations to one call with the same
 * data in a row (call_start's or call_invite's invitees) become one event
 * addressed to all of them.
 */
void
pgcall_event_queue(const char *type, const char *call_id, List *recipients,
				   const char *data, PgcallEventCall with_call, const char *participant)
{
	MemoryContext old;
	QueuedEvent *ev;
	bool		known = false;

	for (int i = 0; i < lengthof(event_types) && !known; i++)
		known = strcmp(event_types[i].type, type) == 0;
	if (!known)
		elog(ERROR, "pgcall event type \"%s\" is not in the event catalog", type);
	if (call_id == NULL)
		elog(ERROR, "pgcall event \"%s\" names no call", type);
	if (data == NULL)
		data = "{}";

	old = MemoryContextSwitchTo(TopTransactionContext);
	if (queued != NIL && strcmp(type, "call.incoming") == 0)
	{
		/* the last event queued, presence touches aside */
		ev = NULL;
		for (int i = list_length(queued) - 1; i >= 0 && ev == NULL; i--)
			if (!((QueuedEvent *) list_nth(queued, i))->presence)
				ev = list_nth(queued, i);
		if (ev != NULL && ev->subid == GetCurrentSubTransactionId() &&
			strcmp(ev->type, type) == 0 && strcmp(ev->call_id, call_id) == 0 &&
			strcmp(ev->data, data) == 0 && ev->with_call == with_call &&
			ev->participant == NULL && participant == NULL)
		{
			add_recipients(ev, recipients);
			MemoryContextSwitchTo(old);
			return;
		}
	}
	ev = palloc0(sizeof(QueuedEvent));
	ev->subid = GetCurrentSubTransactionId();
	ev->type = pstrdup(type);
	ev->call_id = pstrdup(call_id);
	ev->data = pstrdup(data);
	ev->with_call = with_call;
	ev->participant = participant ? pstrdup(participant) : NULL;
	ev->at = GetCurrentTimestamp();
	add_recipients(ev, recipients);
	/* one addressed to nobody makes no row, but webhooks hear of it */
	queued = lappend(queued, ev);
	MemoryContextSwitchTo(old);
}

/*
 * Queue a presence touch: subject's presence may have changed (state), or
 * who shares a call with them (call_id).  Turned into presence.changed
 * events at commit (presence.c), once per distinct touch.
 */
void
pgcall_presence_changed(const char *subject, const char *call_id, bool state)
{
	MemoryContext old;
	QueuedEvent *ev;
	ListCell   *lc;

	foreach(lc, queued)
	{
		ev = lfirst(lc);
		if (ev->presence && ev->state == state && strcmp(ev->participant, subject) == 0 &&
			(ev->call_id == NULL ? call_id == NULL
			 : call_id != NULL && strcmp(ev->call_id, call_id) == 0) &&
			ev->subid == GetCurrentSubTransactionId())
			return;
	}
	old = MemoryContextSwitchTo(TopTransactionContext);
	ev = palloc0(sizeof(QueuedEvent));
	ev->subid = GetCurrentSubTransactionId();
	ev->type = "presence.changed";
	ev->call_id = call_id ? pstrdup(call_id) : NULL;
	ev->participant = pstrdup(subject);
	ev->presence = true;
	ev->state = state;
	ev->at = GetCurrentTimestamp();
	queued = lappend(queued, ev);
	MemoryContextSwitchTo(old);
}

/*
 * Snapshots of calls built earlier in this transaction (by the call_*
 * function that queued the events, for its own result), to spare the flush
 * the same query.  One is used only when the flush would read exactly what
 * it holds:
 *
 *   - nothing was written since it was built: it records the command id it
 *     read at, and the flush advances the command counter first, which only
 *     moves when a later statement (or trigger) used that command id to
 *     write anything at all;
 *   - no subtransaction was rolled back since (that forgets them all);
 *   - the same role read it as the flush reads, the owner of pgcall.call and
 *     pgcall.participant, which row-level security does not filter, and in
 *     the same time zone (timestamps are written in the session's zone).
 *
 * Anything else, and the flush queries the call as before.
 */
typedef struct CallSnapshot
{
	char	   *call_id;
	char	   *json;
	CommandId	cid;
	Oid			userid;
	pg_tz	   *tz;
} CallSnapshot;

static List *built = NIL;		/* of CallSnapshot *, in TopTransactionContext */

/* Whether the current user owns rel and row-level security leaves it alone. */
static bool
reads_unfiltered(Oid relid, Oid userid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		ok;

	if (!HeapTupleIsValid(tup))
		return false;
	ok = ((Form_pg_class) GETSTRUCT(tup))->relowner == userid &&
		!((Form_pg_class) GETSTRUCT(tup))->relforcerowsecurity;
	ReleaseSysCache(tup);
	return ok;
}

/*
 * call_json.c: json is the call object of call_id, just read with SPI
 * (whose statement advanced the command counter before it read).
 */
void
pgcall_event_remember_call(const char *call_id, const char *json)
{
	Oid			userid = GetUserId();
	MemoryContext old;
	CallSnapshot *snap = NULL;
	ListCell   *lc;

	if (!reads_unfiltered(pgcall_relid("call"), userid) ||
		!reads_unfiltered(pgcall_relid("participant"), userid))
		return;
	old = MemoryContextSwitchTo(TopTransactionContext);
	foreach(lc, built)
	{
		CallSnapshot *s = lfirst(lc);

		if (strcmp(s->call_id, call_id) == 0)
		{
			snap = s;
			pfree(snap->json);
			break;
		}
	}
	if (snap == NULL)
	{
		snap = palloc(sizeof(CallSnapshot));
		snap->call_id = pstrdup(call_id);
		built = lappend(built, snap);
	}
	snap->json = pstrdup(json);
	snap->cid = GetCurrentCommandId(false);
	snap->userid = userid;
	snap->tz = session_timezone;
	MemoryContextSwitchTo(old);
}

/*
 * The call as JSON text for an event, with its participants (full) or
 * without, fetched once per call and kind per flush.  "null" when the call
 * is gone.
 */
static const char *
call_snapshot(List **cache, const char *call_id, bool full, CommandId cid)
{
	ListCell   *lc;
	CallSnapshot *snap;
	char	   *json = NULL;

	foreach(lc, *cache)
	{
		snap = lfirst(lc);
		if ((snap->userid != InvalidOid) == full && strcmp(snap->call_id, call_id) == 0)
			return snap->json;
	}
	if (full)
	{
		foreach(lc, built)
		{
			snap = lfirst(lc);
			if (strcmp(snap->call_id, call_id) == 0)
			{
				if (snap->cid == cid && snap->userid == GetUserId() && snap->tz == session_timezone)
					json = snap->json;
				break;
			}
		}
	}
	if (json == NULL)
		json = pgcall_call_json_for_event(call_id, full);
	snap = palloc0(sizeof(CallSnapshot));
	snap->call_id = pstrdup(call_id);
	snap->json = json ? json : "null";
	snap->userid = full ? GetUserId() : InvalidOid;	/* marks the kind */
	*cache = lappend(*cache, snap);
	return snap->json;
}

/*
 * The presence touches of the transaction as the arguments of
 * pgcall.presence_fanout(): subjects, call ids (or
 * NULL) and whether the subject's own state may have changed.
 */
static void
presence_args(int ntouches, Datum *args)
{
	Datum	   *subjects = palloc(sizeof(Datum) * ntouches);
	Datum	   *calls = palloc(sizeof(Datum) * ntouches);
	bool	   *call_nulls = palloc(sizeof(bool) * ntouches);
	Datum	   *states = palloc(sizeof(Datum) * ntouches);
	int			dims[1] = {ntouches};
	int			lbs[1] = {1};
	int			t = 0;
	ListCell   *lc;

	foreach(lc, queued)
	{
		QueuedEvent *ev = lfirst(lc);

		if (!ev->presence)
			continue;
		subjects[t] = CStringGetTextDatum(ev->participant);
		call_nulls[t] = ev->call_id == NULL;
		calls[t] = ev->call_id ? DirectFunctionCall1(uuid_in, CStringGetDatum(ev->call_id)) : (Datum) 0;
		states[t] = BoolGetDatum(ev->state);
		t++;
	}
	args[0] = PointerGetDatum(construct_array(subjects, ntouches, TEXTOID, -1, false, TYPALIGN_INT));
	args[1] = PointerGetDatum(construct_md_array(calls, call_nulls, 1, dims, lbs, UUIDOID,
												 UUID_LEN, false, TYPALIGN_CHAR));
	args[2] = PointerGetDatum(construct_array(states, ntouches, BOOLOID, 1, true, TYPALIGN_CHAR));
}

/*
 * Whether anyone follows a touched subject, or a subject touched about a
 * call follows anyone: if not, the touches make no event, and this
 * commit needs no event lock.
 *
 * The caller holds ROW EXCLUSIVE on pgcall.presence_subscription, which
 * presence_subscribe's SHARE ROW EXCLUSIVE waits for (and the other way
 * round), and this reads with a snapshot taken after it: no subscription
 * can appear between this look and the commit, and a subscription that
 * committed before it is seen.  A table that never held a row has no page
 * (and gets its first one before such a subscription commits): then there
 * is nothing to look for.
 */
static bool
presence_followed(void)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[2] = {TEXTARRAYOID, TEXTARRAYOID};
	Relation	rel;
	BlockNumber blocks;
	Datum	   *subjects = palloc(sizeof(Datum) * list_length(queued));
	Datum	   *sharing = palloc(sizeof(Datum) * list_length(queued));
	int			nsubjects = 0;
	int			nsharing = 0;
	Datum		values[2];
	bool		isnull;
	ListCell   *lc;

	rel = table_open(pgcall_relid("presence_subscription"), NoLock);
	blocks = RelationGetNumberOfBlocks(rel);
	table_close(rel, NoLock);
	if (blocks == 0)
		return false;

	foreach(lc, queued)
	{
		QueuedEvent *ev = lfirst(lc);

		if (!ev->presence)
			continue;
		subjects[nsubjects++] = CStringGetTextDatum(ev->participant);
		if (ev->call_id != NULL)
			sharing[nsharing++] = CStringGetTextDatum(ev->participant);
	}
	values[0] = PointerGetDatum(construct_array(subjects, nsubjects, TEXTOID, -1, false, TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_array(sharing, nsharing, TEXTOID, -1, false, TYPALIGN_INT));
	pgcall_exec(pgcall_plan(&plan,
							"SELECT EXISTS (SELECT FROM pgcall.presence_subscription s WHERE s.subject = ANY ($1)) "
							"OR EXISTS (SELECT FROM pgcall.presence_subscription s WHERE s.subscriber = ANY ($2))",
							2, types),
				values, NULL, false, 1);
	return DatumGetBool(pgcall_getdatum(0, 1, &isnull));
}

/*
 * The presence touches as presence.changed events, computed under the event
 * lock with a snapshot taken after it: of two commits that change one
 * user's presence (on two bridges, say), the one whose event comes last
 * read what the other did.  The writes go through insert_plan, ids
 * through seqid, as flush_events'.
 */
static void
flush_presence(Oid seqid, SPIPlanPtr insert_plan, Datum *args, int64 *first_id, int64 *last_id)
{
	static SPIPlanPtr fanout_plan = NULL;
	static const Oid fanout_types[3] = {TEXTARRAYOID, UUIDARRAYOID, BOOLARRAYOID};
	SPITupleTable *tt;
	uint64		n;
	char		at[40];

	/* see this transaction's writes, and everything committed before the lock */
	CommandCounterIncrement();
	n = pgcall_exec(pgcall_plan(&fanout_plan,
								"SELECT recipients, data FROM pgcall.presence_fanout($1, $2, $3)",
								3, fanout_types),
					args, NULL, false, 0);
	tt = SPI_tuptable;
	pgcall_format_timestamp(GetCurrentTimestamp(), at, sizeof(at));
	for (uint64 r = 0; r < n; r++)
	{
		bool		isnull;
		Datum		recipients = SPI_getbinval(tt->vals[r], tt->tupdesc, 1, &isnull);
		char	   *data = TextDatumGetCString(SPI_getbinval(tt->vals[r], tt->tupdesc, 2, &isnull));
		int64		id = pgcall_event_next_id(seqid);
		StringInfoData payload;
		Datum		values[5];

		initStringInfo(&payload);
		appendStringInfo(&payload,
						 "{\"type\":\"event\",\"id\":" INT64_FORMAT ",\"version\":" INT64_FORMAT
						 ",\"event\":\"presence.changed\",\"at\":\"%s\",\"data\":%s}",
						 id, id, at, data);
		if (*first_id == 0)
			*first_id = id;
		*last_id = id;
		values[0] = Int64GetDatum(id);
		values[1] = (Datum) 0;
		values[2] = CStringGetTextDatum("presence.changed");
		values[3] = recipients;
		values[4] = CStringGetTextDatum(payload.data);
		pgcall_exec(insert_plan, values, " n   ", false, 0);
	}
	SPI_freetuptable(tt);
}

/*
 * Writing event rows straight into pgcall.event and its indexes (as logical
 * replication's apply does), not through an INSERT statement: the rows are
 * written inside the serialized part of the commit, and a statement would
 * spend most of that time starting up (its plan, the unnest of its
 * arrays, reading back the table's checks) rather than writing.  Everything
 * that does not need the ids is done before the event lock: the table and
 * its indexes opened, the checks planned (pgcall_writer_open), the values
 * built.  The row's columns are set by name; a table with a column
 * this does not know (added by hand) gets its rows by an INSERT statement
 * instead, which applies its default.
 */
typedef struct EventWriter
{
	RowWriter	w;
	int			att_id,
				att_call_id,
				att_type,
				att_recipients,
				att_created_at,
				att_payload;
	char		payload_cm;		/* how payloads are compressed */
} EventWriter;

/*
 * Payloads at least this long are compressed as they are written: an event
 * row is most of what a call's commit writes to the WAL, and the commit
 * flush (under NOTIFY's lock) is what bounds event-writing commits per
 * second.  Shorter ones stay as they are.
 */
#define EVENT_COMPRESS_MIN 256

static bool
writer_open(EventWriter *w, Oid relid)
{
	Relation	rel = table_open(relid, RowExclusiveLock);
	TupleDesc	desc = RelationGetDescr(rel);

	w->att_id = w->att_call_id = w->att_type = w->att_recipients = -1;
	w->att_created_at = w->att_payload = -1;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *name = NameStr(att->attname);

		if (att->attisdropped)
			continue;
		if (strcmp(name, "id") == 0 && att->atttypid == INT8OID)
			w->att_id = i;
		else if (strcmp(name, "call_id") == 0 && att->atttypid == UUIDOID)
			w->att_call_id = i;
		else if (strcmp(name, "type") == 0 && att->atttypid == TEXTOID)
			w->att_type = i;
		else if (strcmp(name, "recipients") == 0 && att->atttypid == TEXTARRAYOID)
			w->att_recipients = i;
		else if (strcmp(name, "created_at") == 0 && att->atttypid == TIMESTAMPTZOID)
			w->att_created_at = i;
		else if (strcmp(name, "payload") == 0 && att->atttypid == TEXTOID)
		{
			w->att_payload = i;

			/*
			 * The column's own method when it has one (ALTER TABLE ... SET
			 * COMPRESSION), else lz4 where the server has it: about as
			 * small as pglz on pgcall's JSON at a fraction of its time.
			 */
			if (CompressionMethodIsValid(att->attcompression))
				w->payload_cm = att->attcompression;
			else
#ifdef USE_LZ4
				w->payload_cm = TOAST_LZ4_COMPRESSION;
#else
				w->payload_cm = TOAST_PGLZ_COMPRESSION;
#endif
		}
		else
		{
			table_close(rel, RowExclusiveLock);
			return false;
		}
	}
	if (w->att_id < 0 || w->att_call_id < 0 || w->att_type < 0 || w->att_recipients < 0 ||
		w->att_created_at < 0 || w->att_payload < 0 || rel->trigdesc != NULL ||
		!pgcall_writer_open(&w->w, rel))
	{
		table_close(rel, RowExclusiveLock);
		return false;
	}
	return true;
}

/* Put one event's values in the writer's slot. */
static void
writer_fill(EventWriter *w, int64 id, Datum call_id, Datum type, Datum recipients, Datum payload)
{
	TupleTableSlot *slot = w->w.slot;

	ExecClearTuple(slot);
	for (int i = 0; i < slot->tts_tupleDescriptor->natts; i++)
		slot->tts_isnull[i] = true;
	slot->tts_values[w->att_id] = Int64GetDatum(id);
	slot->tts_values[w->att_call_id] = call_id;
	slot->tts_values[w->att_type] = type;
	slot->tts_values[w->att_recipients] = recipients;
	slot->tts_values[w->att_created_at] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	slot->tts_values[w->att_payload] = payload;
	slot->tts_isnull[w->att_id] = false;
	slot->tts_isnull[w->att_call_id] = false;
	slot->tts_isnull[w->att_type] = false;
	slot->tts_isnull[w->att_recipients] = false;
	slot->tts_isnull[w->att_created_at] = false;
	slot->tts_isnull[w->att_payload] = false;
	ExecStoreVirtualTuple(slot);
}

static void
writer_close(EventWriter *w)
{
	pgcall_writer_close(&w->w);
	table_close(w->w.rel, NoLock);
}

/* The queued events (presence touches aside) to pgcall_webhook_flush(). */
static void
flush_webhooks(void)
{
	PgcallWebhookEvent *events = palloc(sizeof(PgcallWebhookEvent) * list_length(queued));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, queued)
	{
		QueuedEvent *ev = lfirst(lc);

		if (ev->presence)
			continue;
		events[n].type = ev->type;
		events[n].call_id = ev->call_id;
		events[n].nrecipients = ev->nrecipients;
		events[n].recipients = ev->recipients;
		n++;
	}
	if (n > 0)
		pgcall_webhook_flush(events, n);
	pfree(events);
}

static void
flush_events(void)
{
	static SPIPlanPtr insert_plan = NULL;
	static const Oid insert_types[5] = {INT8OID, TEXTOID, TEXTOID, TEXTARRAYOID, TEXTOID};
	Oid			seqid;
	int			nev = list_length(queued);
	int			e = 0;
	ListCell   *lc;
	List	   *snapshots = NIL;
	char	  **rests;
	int		   *rest_lens;
	Datum	   *recipients;		/* of the events with rows */
	Datum	   *call_ids;
	Datum	   *uuids;
	Datum	   *types;
	EventWriter writer;
	bool		direct = false;
	int64		first_id = 0,
				last_id = 0;
	char		range[64];
	StringInfoData buf;
	PgcallOwner owner;
	const char *channel;
	CommandId	cid;
	int			ntouches = 0;
	int			nrows = 0;
	bool		followed = false;
	Datum		presence[3];

	/*
	 * Webhooks first, from the same queue: their outbox rows are written
	 * before the event lock is taken and add nothing to the time it is held.
	 */
	flush_webhooks();

	seqid = pgcall_relid("event_id_seq");
	channel = event_channel();

	rests = palloc(sizeof(char *) * nev);
	rest_lens = palloc(sizeof(int) * nev);
	recipients = palloc(sizeof(Datum) * nev);
	call_ids = palloc(sizeof(Datum) * nev);
	uuids = palloc(sizeof(Datum) * nev);
	types = palloc(sizeof(Datum) * nev);

	/*
	 * At commit there is no portal: give SPI the snapshot it needs.  Write
	 * as the event table's owner, with a pinned search_path: the session's
	 * role (an end user) may not write the table, and its search_path must
	 * not decide what the statements below mean.
	 */
	PushActiveSnapshot(GetTransactionSnapshot());
	pgcall_enter_owner(&owner, pgcall_relid("event"));
	SPI_connect();

	/*
	 * The command id the snapshots built earlier must have been read at:
	 * advancing the counter moves it past them if anything wrote since.
	 */
	CommandCounterIncrement();
	cid = GetCurrentCommandId(false);

	/*
	 * Everything but the ids first, before the lock: each event's payload
	 * after its id and its recipients.  This transaction still holds the
	 * row locks of every call and participant it changed, so what it reads
	 * of them is what commits.
	 */
	initStringInfo(&buf);
	foreach(lc, queued)
	{
		QueuedEvent *ev = lfirst(lc);
		char		at[40];
		Datum	   *users;

		if (ev->presence)
		{
			ntouches++;
			continue;
		}
		if (ev->nrecipients == 0)
			continue;
		nrows++;

		pgcall_format_timestamp(ev->at, at, sizeof(at));
		resetStringInfo(&buf);
		appendStringInfoString(&buf, ",\"event\":");
		escape_json(&buf, ev->type);
		appendStringInfoString(&buf, ",\"call_id\":");
		escape_json(&buf, ev->call_id);
		appendStringInfo(&buf, ",\"at\":\"%s\",\"data\":%s", at, ev->data);
		if (ev->with_call != PGCALL_EVENT_NO_CALL)
			appendStringInfo(&buf, ",\"call\":%s",
							 call_snapshot(&snapshots, ev->call_id,
										   ev->with_call == PGCALL_EVENT_FULL_CALL, cid));
		if (ev->participant)
		{
			char	   *p = pgcall_participant_json(ev->call_id, ev->participant);

			appendStringInfo(&buf, ",\"participant\":%s", p ? p : "null");
		}
		appendStringInfoChar(&buf, '}');
		rests[e] = pnstrdup(buf.data, buf.len);
		rest_lens[e] = buf.len;
		users = palloc(sizeof(Datum) * ev->nrecipients);
		for (int r = 0; r < ev->nrecipients; r++)
			users[r] = CStringGetTextDatum(ev->recipients[r]);
		recipients[e] = PointerGetDatum(construct_array(users, ev->nrecipients, TEXTOID,
														-1, false, TYPALIGN_INT));
		call_ids[e] = CStringGetTextDatum(ev->call_id);
		uuids[e] = DirectFunctionCall1(uuid_in, CStringGetDatum(ev->call_id));
		types[e] = CStringGetTextDatum(ev->type);
		e++;
	}
	pgcall_plan(&insert_plan,
				"INSERT INTO pgcall.event (id, call_id, type, recipients, payload) "
				"VALUES ($1, $2::uuid, $3, $4, $5)",
				5, insert_types);

	/*
	 * Presence: keep presence_subscribe from adding followers until this
	 * commits, then look whether anyone follows the users touched at all.
	 */
	if (ntouches > 0)
	{
		LockRelationOid(pgcall_relid("presence_subscription"), RowExclusiveLock);
		CommandCounterIncrement();
		followed = presence_followed();
		if (followed)
			presence_args(ntouches, presence);
	}
	if (nrows == 0 && !followed)
	{
		/* presence of nobody's interest only: no event, no lock */
		SPI_finish();
		pgcall_leave_owner(&owner);
		PopActiveSnapshot();
		queued = NIL;
		return;
	}

	/*
	 * The event table opened for writing, its indexes and checks ready
	 * (pgcall_writer_open), before the lock.
	 */
	if (nrows > 0)
		direct = writer_open(&writer, pgcall_relid("event"));

	/*
	 * The serialized part: from here to the end of the commit no other
	 * event-writing transaction assigns ids.  The lock is the one NOTIFY
	 * itself takes at commit to keep notifications in commit order (an
	 * exclusive lock on the database object 0 of pg_database, held until
	 * the commit is flushed), taken a little earlier: one serialization
	 * instead of two, and no lock of pgcall's own that any role could
	 * take.  Inside it only ids are assigned, and the rows written.
	 */
	if (!pgcall_event_order_horizon() || followed)
		pgcall_event_lock();
	e = 0;
	foreach(lc, queued)
	{
		QueuedEvent *ev = lfirst(lc);
		int64		id;
		char		head[80];
		int			hlen;
		text	   *t;

		if (ev->presence || ev->nrecipients == 0)
			continue;
		id = pgcall_event_next_id(seqid);
		if (first_id == 0)
			first_id = id;
		last_id = id;
		hlen = snprintf(head, sizeof(head),
						"{\"type\":\"event\",\"id\":" INT64_FORMAT ",\"version\":" INT64_FORMAT,
						id, id);
		t = palloc(VARHDRSZ + hlen + rest_lens[e]);
		SET_VARSIZE(t, VARHDRSZ + hlen + rest_lens[e]);
		memcpy(VARDATA(t), head, hlen);
		memcpy(VARDATA(t) + hlen, rests[e], rest_lens[e]);
		if (direct)
		{
			Datum		payload = PointerGetDatum(t);

			if (VARSIZE(t) >= EVENT_COMPRESS_MIN)
			{
				Datum		c = toast_compress_datum(payload, writer.payload_cm);

				if (DatumGetPointer(c) != NULL)
					payload = c;
			}
			writer_fill(&writer, id, uuids[e], types[e], recipients[e], payload);
			pgcall_writer_insert(&writer.w);
		}
		else
		{
			Datum		values[5];

			values[0] = Int64GetDatum(id);
			values[1] = call_ids[e];
			values[2] = types[e];
			values[3] = recipients[e];
			values[4] = PointerGetDatum(t);
			pgcall_exec(insert_plan, values, NULL, false, 0);
		}
		e++;
	}
	if (direct)
		writer_close(&writer);
	if (followed)
		flush_presence(seqid, insert_plan, presence, &first_id, &last_id);
	SPI_finish();
	pgcall_leave_owner(&owner);
	PopActiveSnapshot();

	/* in horizon order the bridge waits in bridge_wait (event_order.c) */
	if (first_id != 0 && !pgcall_event_order_horizon())
	{
		snprintf(range, sizeof(range), INT64_FORMAT "-" INT64_FORMAT, first_id, last_id);
		Async_Notify(channel, range);
	}
	queued = NIL;
}

PG_FUNCTION_INFO_V1(pgcall_bridge_listen);

/* bridge_listen(): LISTEN to the event channel, whose name stays secret. */
Datum
pgcall_bridge_listen(PG_FUNCTION_ARGS)
{
	Async_Listen(event_channel());
	PG_RETURN_VOID();
}

static void
events_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (queued != NIL)
				flush_events();
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (queued != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that changed pgcall calls"),
						 errhint("Run pgcall functions outside two-phase transactions.")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			queued = NIL;		/* its memory went with TopTransactionContext */
			built = NIL;
			pgcall_event_order_finish();
			break;
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			break;
	}
}

static void
events_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, queued)
		{
			QueuedEvent *ev = lfirst(lc);

			if (ev->subid == mySubid)
				ev->subid = parentSubid;
		}
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		built = NIL;			/* may show what the rollback undid */
		foreach(lc, queued)
		{
			QueuedEvent *ev = lfirst(lc);

			if (ev->subid == mySubid)
				queued = foreach_delete_current(queued, lc);
		}
	}
}

void
pgcall_init_events(void)
{
	RegisterXactCallback(events_xact_callback, NULL);
	RegisterSubXactCallback(events_subxact_callback, NULL);
}

PG_FUNCTION_INFO_V1(pgcall_event_types_list);

/* event_types() RETURNS TABLE(type, recipients, description) */
Datum
pgcall_event_types_list(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < lengthof(event_types); i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(event_types[i].type);
		values[1] = CStringGetTextDatum(event_types[i].recipients);
		values[2] = CStringGetTextDatum(event_types[i].description);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgcall_events_since);

/*
 * events_since(after bigint, max integer) RETURNS TABLE(id bigint, payload text)
 *
 * The current user's events with an id above after, oldest first, at most
 * max of them.  Raises P410A when events after that id were purged, since
 * the result could not be complete.
 */
Datum
pgcall_events_since(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr purged_plan = NULL;
	static SPIPlanPtr fetch_plan = NULL;
	static const Oid fetch_types[4] = {TEXTOID, INT8OID, INT4OID, INT8OID};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *user_id = pgcall_require_user();
	int64		below;
	int64		after;
	int32		max = PG_ARGISNULL(1) ? 1000 : PG_GETARG_INT32(1);
	int64		purged;
	bool		isnull;
	Datum		values[4];
	uint64		n;
	SPIPlanPtr	plan;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("after must not be null"),
				 errhint("Pass the id of the last event the client saw, or 0 for every event still kept.")));
	after = PG_GETARG_INT64(0);
	if (max < 1 || max > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_INVALID_LIMIT),
				 errmsg("max must be between 1 and 10000"),
				 errdetail("The value given is %d.", max)));

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	pgcall_exec(pgcall_plan(&purged_plan, "SELECT through_id FROM pgcall.event_purged", 0, NULL),
				NULL, NULL, true, 1);
	purged = DatumGetInt64(pgcall_getdatum(0, 1, &isnull));
	if (after < purged)
		ereport(ERROR,
				(errcode(ERRCODE_PGCALL_EVENTS_PURGED),
				 errmsg("events after id " INT64_FORMAT " are no longer kept", after),
				 errdetail("Events up to id " INT64_FORMAT " were purged.", purged),
				 errhint("Reload the state of your calls (call_get, call_history) and resume from the id of the next event you receive.")));

	/*
	 * Events addressed to few people come from the GIN index on recipients,
	 * which holds only those; the others (the changes of a large call) from
	 * the calls the user is in, by event_call_idx.  Every recipient of an
	 * event is a participant of its call, and purge() deletes a call only
	 * after its events.  "ORDER BY e.id + 0": the plan is kept (generic), and
	 * ordering by the bare id lets it walk event_pkey from after, reading
	 * every later event of everyone, instead of the user's few from the
	 * GIN index.
	 */
	values[0] = CStringGetTextDatum(user_id);
	values[1] = Int64GetDatum(after);
	values[2] = Int32GetDatum(max);
	below = pgcall_event_horizon(pgcall_relid("event_id_seq"));
	values[3] = Int64GetDatum(below);
	plan = pgcall_plan(&fetch_plan,
								"SELECT id, payload FROM ("
								" (SELECT e.id, e.payload FROM pgcall.event e "
								"   WHERE e.recipients @> ARRAY[$1] "
								"     AND pg_catalog.cardinality(e.recipients) <= " CppAsString2(PGCALL_EVENT_INDEXED_RECIPIENTS)
								"     AND e.id > $2 AND e.id < $4 ORDER BY e.id + 0 LIMIT $3) "
								" UNION ALL "
								" (SELECT e.id, e.payload FROM pgcall.participant p "
								"   CROSS JOIN LATERAL (SELECT e.id, e.payload FROM pgcall.event e "
								"     WHERE e.call_id = p.call_id AND e.id > $2 AND e.id < $4 "
								"       AND pg_catalog.cardinality(e.recipients) > " CppAsString2(PGCALL_EVENT_INDEXED_RECIPIENTS)
								"       AND e.recipients @> ARRAY[$1] ORDER BY e.id LIMIT $3) e "
								"   WHERE p.user_id = $1)) s "
								"ORDER BY id LIMIT $3",
								4, fetch_types);

	/*
	 * In horizon order (event_order.c) the events below the horizon, read
	 * with a snapshot taken after it; in lock order the horizon is
	 * INT64_MAX and the statement's snapshot sees every event in order.
	 */
	if (pgcall_event_order_horizon())
	{
		if (SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(), InvalidSnapshot,
								 true, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "reading events failed");
		n = SPI_processed;
	}
	else
		n = pgcall_exec(plan, values, NULL, false, 0);
	for (uint64 r = 0; r < n; r++)
	{
		Datum		out[2];
		bool		nulls[2] = {false, false};

		out[0] = pgcall_getdatum(r, 1, &nulls[0]);
		out[1] = pgcall_getdatum(r, 2, &nulls[1]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}
