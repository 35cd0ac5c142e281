/*
 * event_order.c: event ids without a lock held through the commit
 * (pgcall.event_order = 'horizon', with shared_preload_libraries = 'pgcall').
 *
 * By default (event_order = 'lock') an event-writing commit takes NOTIFY's
 * lock before it draws its ids and holds it until its commit is flushed
 * (events.c): ids are then in commit order, and a reader that saw id N
 * resumes with "id > N".  The price is that such commits never flush their
 * WAL together: at eight clients a call_session does half of what it could
 * (docs/benchmarks.md, "what the event lock costs").
 *
 * With event_order = 'horizon' no lock is held through the commit.  Instead
 * every event-writing transaction says, in shared memory, that it may still
 * make ids at or above a floor visible, and readers stop below the lowest
 * floor of the transactions still in flight: the horizon.
 *
 *   - A writer, before it draws its first id, records its floor: one more
 *     than the highest id any writer has recorded drawing (hw).  Its ids
 *     come from the sequence after that, so they are above every recorded
 *     id, hence at or above its floor.  After each draw it raises hw, and
 *     its floor to its first id.  When its transaction has ended (commit
 *     visible, or abort) it clears its floor and counts one more finish.
 *   - horizon() = the lowest floor of this database's writers in flight,
 *     or hw + 1 when there is none.  Every id below it was drawn by a
 *     writer that had finished when horizon() ran: a reader that computes
 *     the horizon and then takes its snapshot sees every committed id below
 *     it, and delivers ids in (cursor, horizon), nothing later.
 *   - The bridge is not woken by NOTIFY (whose lock is the one given up):
 *     pgcall.bridge_wait() sleeps on a condition variable until a writer
 *     finishes, then answers with the horizon (fanout.c).
 *
 * hw starts, for a database, from the sequence's last value, read before
 * the entry is made: when no writer has made it yet, none has drawn since
 * the server started, so that value is current.  An entry is keyed by the
 * database and the sequence (a dropped and recreated extension starts
 * afresh); when all 64 are taken, one with no writer in flight is made
 * again later, from its sequence as the first time.  The first id on a new timeline (event_ids.c) and the offset
 * written after pg_upgrade still need draws in order: a writer that meets
 * them takes the event lock for the rest of its transaction, as in 'lock'.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "catalog/pg_database.h"
#include "commands/sequence.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "pgcall.h"

#define ORDER_MAX_DBS 64

typedef struct OrderDb
{
	Oid			db;
	Oid			seq;
	int64		hw;				/* highest id recorded drawn */
} OrderDb;

typedef struct OrderSlot
{
	Oid			db;
	Oid			seq;
	int64		floor;			/* 0: no transaction in flight */
} OrderSlot;

typedef struct OrderShared
{
	LWLock	   *lock;
	ConditionVariable cv;		/* broadcast when a writer finishes */
	pg_atomic_uint64 finished;	/* writers finished so far */
	int			ndbs;
	OrderDb		dbs[ORDER_MAX_DBS];
	OrderSlot	slots[FLEXIBLE_ARRAY_MEMBER];	/* one per backend */
} OrderShared;

enum
{
	EVENT_ORDER_LOCK,
	EVENT_ORDER_HORIZON
};

static const struct config_enum_entry event_order_options[] = {
	{"lock", EVENT_ORDER_LOCK, false},
	{"horizon", EVENT_ORDER_HORIZON, false},
	{NULL, 0, false}
};

static int	event_order = EVENT_ORDER_LOCK;
static OrderShared *shared = NULL;
static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;

/* this backend's transaction: floor recorded, slow draws under the lock */
static bool in_flight = false;
static bool drawn = false;
static bool locked = false;

static Size
order_size(void)
{
	return add_size(offsetof(OrderShared, slots), mul_size(MaxBackends, sizeof(OrderSlot)));
}

static void
order_shmem_request(void)
{
	if (prev_shmem_request)
		prev_shmem_request();
	RequestAddinShmemSpace(order_size());
	RequestNamedLWLockTranche("pgcall_event_order", 1);
}

static void
order_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup)
		prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("pgcall_event_order", order_size(), &found);
	if (!found)
	{
		memset(shared, 0, order_size());
		shared->lock = &(GetNamedLWLockTranche("pgcall_event_order"))->lock;
		ConditionVariableInit(&shared->cv);
		pg_atomic_init_u64(&shared->finished, 0);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
pgcall_init_event_order(void)
{
	DefineCustomEnumVariable("pgcall.event_order",
							 "How event ids follow commit order: lock (NOTIFY's lock held through each event-writing commit) or horizon (readers stop below the transactions in flight; needs shared_preload_libraries = 'pgcall').",
							 NULL, &event_order, EVENT_ORDER_LOCK, event_order_options,
	/* fixed at start; loaded later (no shared memory), it is lock */
							 process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_INTERNAL,
							 0, NULL, NULL, NULL);
	if (!process_shared_preload_libraries_in_progress || event_order != EVENT_ORDER_HORIZON)
		return;
	prev_shmem_request = shmem_request_hook;
	shmem_request_hook = order_shmem_request;
	prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = order_shmem_startup;
}

/* Whether this server orders events by horizon (and not by the event lock). */
bool
pgcall_event_order_horizon(void)
{
	return shared != NULL && event_order == EVENT_ORDER_HORIZON;
}

/* The database's entry, or NULL; the caller holds the lock. */
static OrderDb *
order_db_find(Oid seqid)
{
	for (int i = 0; i < shared->ndbs; i++)
		if (shared->dbs[i].db == MyDatabaseId && shared->dbs[i].seq == seqid)
			return &shared->dbs[i];
	return NULL;
}

/* The database's entry, made if missing (hw from the sequence); NULL if full. */
static OrderDb *
order_db(Oid seqid, int64 seq_last)
{
	OrderDb    *db = order_db_find(seqid);

	if (db != NULL)
		return db;
	if (shared->ndbs == ORDER_MAX_DBS)
	{
		/*
		 * Full: reuse an entry with no writer in flight (its database may
		 * be gone; if not, it is made again from its sequence, which is
		 * safe for the same reason as the first time: every id drawn so
		 * far belongs to a finished transaction).
		 */
		for (int i = 0; i < shared->ndbs; i++)
		{
			bool		busy = false;

			for (int b = 0; b < MaxBackends && !busy; b++)
				busy = shared->slots[b].floor != 0 && shared->slots[b].db == shared->dbs[i].db &&
					shared->slots[b].seq == shared->dbs[i].seq;
			if (!busy)
			{
				shared->dbs[i] = shared->dbs[--shared->ndbs];
				break;
			}
		}
		if (shared->ndbs == ORDER_MAX_DBS)
			return NULL;
	}
	shared->dbs[shared->ndbs].db = MyDatabaseId;
	shared->dbs[shared->ndbs].seq = seqid;
	shared->dbs[shared->ndbs].hw = seq_last;
	return &shared->dbs[shared->ndbs++];
}

/* The sequence's last value (0 before the first nextval). */
static int64
sequence_last(Oid seqid)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		d;

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = ObjectIdGetDatum(seqid);
	fcinfo->args[0].isnull = false;
	d = pg_sequence_last_value(fcinfo);
	return fcinfo->isnull ? 0 : DatumGetInt64(d);
}

static void too_many_databases(void);

/*
 * With the lock held (exclusive): the database's entry, made if missing.
 * The sequence is read with the lock released (it takes a buffer lock and
 * a relation lock, neither to be waited for under an LWLock); if nobody
 * made the entry meanwhile, no writer drew since the server started, so
 * the value read is still the last.  When the table is full, releases the
 * lock and raises the error.
 */
static OrderDb *
locked_db(Oid seqid)
{
	OrderDb    *db = order_db_find(seqid);
	int64		last;

	if (db != NULL)
		return db;
	LWLockRelease(shared->lock);
	last = sequence_last(seqid);
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	db = order_db(seqid, last);
	if (db == NULL)
	{
		LWLockRelease(shared->lock);
		too_many_databases();
	}
	return db;
}

static OrderSlot *
my_slot(void)
{
	Assert(MyBackendId >= 1 && MyBackendId <= MaxBackends);
	return &shared->slots[MyBackendId - 1];
}

static void
too_many_databases(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("pgcall.event_order = horizon has events in flight in %d databases of this server at once, its most",
					ORDER_MAX_DBS),
			 errhint("Retry; or set pgcall.event_order = lock, or keep pgcall in fewer databases of this server.")));
}

/*
 * The next event id of this transaction (seqid is pgcall.event_id_seq).  In
 * 'lock' order the caller holds the event lock; in 'horizon' order the
 * first call records the transaction's floor.
 */
int64
pgcall_event_next_id(Oid seqid)
{
	int64		id;
	OrderDb    *db;

	if (!pgcall_event_order_horizon())
		return pgcall_event_id_next(seqid);
	if (!in_flight)
	{
		OrderSlot  *slot = my_slot();

		LWLockAcquire(shared->lock, LW_EXCLUSIVE);
		db = locked_db(seqid);
		slot->db = MyDatabaseId;
		slot->seq = seqid;
		slot->floor = db->hw + 1;
		in_flight = true;
		LWLockRelease(shared->lock);
	}
	if (locked)
		id = pgcall_event_id_next(seqid);
	else if (!pgcall_event_id_in_epoch(seqid, &id))
	{
		/* a new timeline's first id, an offset to read or write: in order */
		pgcall_event_lock();
		id = pgcall_event_id_settle(seqid, id, true);
	}
	/* the entry stays: an entry with a writer in flight is never reused */
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	db = order_db_find(seqid);
	Assert(db != NULL);
	if (id > db->hw)
		db->hw = id;
	if (!drawn)
	{
		/* every later id of this transaction is above its first */
		my_slot()->floor = id;
		drawn = true;
	}
	LWLockRelease(shared->lock);
	return id;
}

/*
 * The event lock (NOTIFY's, see events.c), held to the end of the commit: in
 * 'lock' order by every event-writing commit; in 'horizon' order by those
 * that read what they announce under it (presence) or draw ids that must
 * come out in order (pgcall_event_next_id).
 */
void
pgcall_event_lock(void)
{
	LockSharedObject(DatabaseRelationId, InvalidOid, 0, AccessExclusiveLock);
	if (pgcall_event_order_horizon())
		locked = true;
}

/* At the end of the transaction: the floor cleared, the bridge woken. */
void
pgcall_event_order_finish(void)
{
	locked = false;
	if (!in_flight)
		return;
	in_flight = false;
	drawn = false;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	my_slot()->floor = 0;
	LWLockRelease(shared->lock);
	pg_atomic_fetch_add_u64(&shared->finished, 1);
	ConditionVariableBroadcast(&shared->cv);
}

/*
 * The horizon of this database's events: every id below it was drawn by a
 * transaction that has ended.  Take the snapshot to read them with after.
 * INT64_MAX in 'lock' order (ids are in commit order already).
 */
int64
pgcall_event_horizon(Oid seqid)
{
	int64		h;
	OrderDb    *db;

	if (!pgcall_event_order_horizon())
		return PG_INT64_MAX;
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	db = locked_db(seqid);
	h = db->hw + 1;
	for (int i = 0; i < MaxBackends; i++)
	{
		OrderSlot  *s = &shared->slots[i];

		if (s->floor != 0 && s->floor < h && s->db == MyDatabaseId && s->seq == seqid)
			h = s->floor;
	}
	LWLockRelease(shared->lock);
	return h;
}

PG_FUNCTION_INFO_V1(pgcall_bridge_wait);

/*
 * bridge_wait(seen bigint, timeout_ms integer, OUT finished bigint,
 *             OUT below bigint)
 *
 * For the bridge's listener in 'horizon' order: waits until the count of
 * finished event-writing transactions is not seen any more (at most
 * timeout_ms, up to a minute; seen null: no wait), then gives the count and
 * the horizon, read in that order, so that a transaction ending after the
 * horizon was read makes the next wait return at once.  Both null in 'lock'
 * order: the bridge LISTENs instead.
 */
Datum
pgcall_bridge_wait(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	uint64		finished;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "bridge_wait must return a record");
	desc = BlessTupleDesc(desc);
	if (!pgcall_event_order_horizon())
	{
		nulls[0] = nulls[1] = true;
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
	}
	finished = pg_atomic_read_u64(&shared->finished);
	if (!PG_ARGISNULL(0) && !PG_ARGISNULL(1) && (uint64) PG_GETARG_INT64(0) == finished)
	{
		int32		timeout = Min(Max(PG_GETARG_INT32(1), 0), 60000);
		TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout);

		ConditionVariablePrepareToSleep(&shared->cv);
		while ((finished = pg_atomic_read_u64(&shared->finished)) == (uint64) PG_GETARG_INT64(0))
		{
			long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);

			if (left <= 0 ||
				ConditionVariableTimedSleep(&shared->cv, left, PG_WAIT_EXTENSION))
				break;
		}
		ConditionVariableCancelSleep();
		finished = pg_atomic_read_u64(&shared->finished);
	}
	values[0] = Int64GetDatum((int64) finished);
	values[1] = Int64GetDatum(pgcall_event_horizon(pgcall_relid("event_id_seq")));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

PG_FUNCTION_INFO_V1(pgcall_bridge_event_horizon);

/*
 * bridge_event_horizon(): where a starting bridge begins, the largest id
 * committed (or purged) below which no transaction is still in flight: the
 * horizon is read first, then the events with a snapshot taken after it.
 */
Datum
pgcall_bridge_event_horizon(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {INT8OID};
	int64		below = pgcall_event_horizon(pgcall_relid("event_id_seq"));
	Datum		values[1] = {Int64GetDatum(below)};
	bool		isnull;
	int64		last;

	SPI_connect();
	if (SPI_execute_snapshot(pgcall_plan(&plan,
										 "SELECT COALESCE((SELECT max(id) FROM pgcall.event WHERE id < $1), "
										 "                (SELECT through_id FROM pgcall.event_purged))",
										 1, types),
							 values, NULL, GetLatestSnapshot(), InvalidSnapshot, true, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "reading the event horizon failed");
	last = DatumGetInt64(pgcall_getdatum(0, 1, &isnull));
	SPI_finish();
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_INT64(last);
}
