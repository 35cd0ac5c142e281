/*
 * event_ids.c: event ids that keep increasing across a failover.
 *
 * A client resumes with "the events after id N", so an id must never be
 * handed out twice, nor below one a client may have seen.  On one server
 * pgcall.event_id_seq gives that (flush_events() draws ids under the event
 * lock, in commit order).  An asynchronous standby promoted to primary may
 * lack the old primary's last transactions, and the sequence with them: it
 * would hand out again ids that clients already saw, and those clients
 * would skip the new events.
 *
 * So an id is (epoch << 40) + n, with n < 2^40, and the epoch is the WAL
 * insertion timeline minus one (plus an offset, below).  A promotion starts
 * a new, larger timeline, so the first id drawn on the new primary jumps to
 * the start of its epoch, above every id of the old timeline whatever the
 * standby had replayed.  On a server that was never promoted (timeline 1)
 * ids are the sequence's values, as they always were.
 *
 * The sequence holds whole ids, not n: ids stay increasing even when the
 * timeline goes down, which pg_upgrade does (the new cluster starts on
 * timeline 1 with the old data and sequence).  When the sequence is ahead
 * of the timeline's epoch, the difference is stored in
 * pgcall.event_id_epoch.timeline_offset, so that a promotion after the
 * upgrade still moves to a larger epoch.  That row is written only under
 * the event lock, and only then.
 *
 * Ids stay at most 2^53 - 1, the largest integer JavaScript reads exactly:
 * epochs 0 to 8191, so timelines up to 8192 without an offset.  Beyond,
 * no event can be written and the commit fails with a clear error.
 */
#include "postgres.h"

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/fmgrprotos.h"
#include "utils/snapmgr.h"

#include "pgcall.h"

#define EVENT_ID_EPOCH_SHIFT 40
#define EVENT_ID_MAX ((INT64CONST(1) << 53) - 1)
#define EVENT_ID_MAX_EPOCH (EVENT_ID_MAX >> EVENT_ID_EPOCH_SHIFT)

/* The timeline offset as last read, for the sequence it was read with. */
static Oid	offset_seqid = InvalidOid;
static int64 offset_cached;

/* pgcall.event_id_epoch.timeline_offset, read as of now when latest. */
static int64
read_offset(bool latest)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	int			rc;

	rc = SPI_execute_snapshot(pgcall_plan(&plan, "SELECT timeline_offset FROM pgcall.event_id_epoch",
										  0, NULL),
							  NULL, NULL, latest ? GetLatestSnapshot() : InvalidSnapshot,
							  InvalidSnapshot, true, false, 2);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("pgcall.event_id_epoch must hold one row"),
				 errhint("Reinstall the extension: DROP EXTENSION pgcall; CREATE EXTENSION pgcall.")));
	return DatumGetInt32(pgcall_getdatum(0, 1, &isnull));
}

static void
write_offset(int64 offset)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum((int32) offset)};
	int			rc;

	rc = SPI_execute_snapshot(pgcall_plan(&plan, "UPDATE pgcall.event_id_epoch SET timeline_offset = $1",
										  1, types),
							  values, NULL, GetLatestSnapshot(), InvalidSnapshot, false, false, 0);
	if (rc != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "could not update pgcall.event_id_epoch: %s", SPI_result_code_string(rc));
}

static void
exhausted(int64 next, TimeLineID tli, int64 offset)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("pgcall event ids are exhausted"),
			 errdetail("Event ids stay below 2^53 so that JavaScript clients read them exactly; "
					   "the next would be " INT64_FORMAT " (timeline %u, offset " INT64_FORMAT ").",
					   next, tli, offset),
			 errhint("Each promotion starts a new epoch of 2^40 ids and at most 8192 fit: see \"Failover\" in docs/protocol.md.")));
}

/*
 * The next event id, from the sequence seqid (pgcall.event_id_seq).  The
 * caller holds the event lock, so ids come out in commit order.
 */
int64
pgcall_event_id_next(Oid seqid)
{
	return pgcall_event_id_settle(seqid, nextval_internal(seqid, false), false);
}

/*
 * The id for id, a value just drawn from the sequence seqid: itself, or
 * above it when a new epoch starts.  The caller holds the event lock;
 * drawn_before says the value was drawn before the lock was taken
 * (pgcall_event_id_in_epoch), and is drawn again when an epoch starts, for
 * another backend may have started it meanwhile.
 */
int64
pgcall_event_id_settle(Oid seqid, int64 id, bool drawn_before)
{
	TimeLineID	tli = GetWALInsertionTimeLine();
	int64		epoch;

	if (offset_seqid != seqid)
	{
		offset_cached = read_offset(false);
		offset_seqid = seqid;
	}
	epoch = (int64) tli - 1 + offset_cached;
	if ((id >> EVENT_ID_EPOCH_SHIFT) > epoch)
	{
		/*
		 * The sequence is past this timeline's epoch: another backend raised
		 * the offset, or the timeline went down (pg_upgrade), or 2^40 ids
		 * were drawn on one timeline.  Continue from the sequence, and store
		 * the offset that says so, for the next promotion to go above it.
		 */
		offset_cached = read_offset(true);
		epoch = (int64) tli - 1 + offset_cached;
		if ((id >> EVENT_ID_EPOCH_SHIFT) > epoch)
		{
			if (id > EVENT_ID_MAX)
				exhausted(id, tli, offset_cached);
			epoch = id >> EVENT_ID_EPOCH_SHIFT;
			offset_cached = epoch - ((int64) tli - 1);
			write_offset(offset_cached);
		}
	}
	if (epoch > EVENT_ID_MAX_EPOCH)
		exhausted((epoch << EVENT_ID_EPOCH_SHIFT) + 1, tli, offset_cached);
	if (id <= epoch << EVENT_ID_EPOCH_SHIFT && drawn_before)
		return pgcall_event_id_next(seqid);
	if (id <= epoch << EVENT_ID_EPOCH_SHIFT)
	{
		/* the first id on a new timeline: jump above every older epoch */
		id = (epoch << EVENT_ID_EPOCH_SHIFT) + 1;
		DirectFunctionCall2(setval_oid, ObjectIdGetDatum(seqid), Int64GetDatum(id));
	}
	return id;
}

/*
 * For pgcall.event_order = horizon (event_order.c), which draws without the
 * event lock: the next value of the sequence in *id when it is an id of the
 * current epoch as last known, with nothing to write; false when the draw
 * needs pgcall_event_id_next under the event lock (the value drawn here is
 * then left unused).
 */
bool
pgcall_event_id_in_epoch(Oid seqid, int64 *id)
{
	int64		epoch;

	/*
	 * The offset read without the lock: one read before another backend's
	 * change (under the lock) only makes the epoch look lower, and an id
	 * above it goes to pgcall_event_id_next, which reads it again.
	 */
	if (offset_seqid != seqid)
	{
		offset_cached = read_offset(false);
		offset_seqid = seqid;
	}
	*id = nextval_internal(seqid, false);
	epoch = (int64) GetWALInsertionTimeLine() - 1 + offset_cached;
	return epoch <= EVENT_ID_MAX_EPOCH && (*id >> EVENT_ID_EPOCH_SHIFT) == epoch &&
		*id > (epoch << EVENT_ID_EPOCH_SHIFT) && *id <= EVENT_ID_MAX;
}
