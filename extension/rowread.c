/*
 * rowread.c: rows read by index and written, without SQL.
 *
 * pgcall's own functions run as the owner of its tables (SECURITY
 * DEFINER), and some of what they read on every call is a handful of rows
 * found by key: the call object (call_json.c), whether an invitee is busy
 * or online and whether the other side is already ringing us (call_start.c,
 * call_common.c).  A statement through SPI costs its executor start, its
 * nodes and their expressions each time (tens of thousands of
 * instructions); an index scan here costs a few thousand.  What is read is
 * what a statement would read: a new snapshot after CommandCounterIncrement
 * (pgcall_statement_snapshot), as SPI takes one for each statement in READ
 * COMMITTED, and the heap's visible version of each row the index finds,
 * whose columns the caller checks again (a partial index may hold entries
 * of versions that no longer match its predicate).
 *
 * Row-level security is not applied: callers read as the tables' owner,
 * which it leaves alone unless forced (pgcall_owner_reads tells).
 *
 * The writer (pgcall_writer_*) puts rows straight into a table and its
 * indexes, as logical replication's apply does: the table's checks are
 * applied, its triggers are not, so a caller uses it only where it knows
 * what the triggers would do (events.c: a table without triggers;
 * call_triggers.c: a foreign key whose row it holds).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/makefuncs.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "pgcall.h"
#include "rowread.h"

/* Whether the current user owns relid and row-level security leaves it alone. */
bool
pgcall_owner_reads(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		ok;

	if (!HeapTupleIsValid(tup))
		return false;
	ok = ((Form_pg_class) GETSTRUCT(tup))->relowner == GetUserId() &&
		!((Form_pg_class) GETSTRUCT(tup))->relforcerowsecurity;
	ReleaseSysCache(tup);
	return ok;
}

/* As SPI runs a statement: see the changes made so far, in a new snapshot. */
Snapshot
pgcall_statement_snapshot(void)
{
	CommandCounterIncrement();
	return RegisterSnapshot(GetTransactionSnapshot());
}

/*
 * Call visit(slot, arg) for each row of rel that index indexid finds with
 * its first nkeys columns equal to keys (uuid or text values, the text
 * compared in the index column's collation), in index order (backward:
 * from the end), until it returns false.  The slot holds the heap's
 * visible version of the row, valid until the next; slot_getattr reads
 * its columns without copying it.
 */
void
pgcall_index_visit(Relation rel, Oid indexid, const IndexKey *keys, int nkeys, Snapshot snap,
				   bool backward, bool (*visit) (TupleTableSlot *slot, void *arg), void *arg)
{
	Relation	idx = index_open(indexid, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan;
	ScanKeyData skey[INDEX_MAX_KEYS];

	Assert(nkeys > 0 && nkeys <= IndexRelationGetNumberOfKeyAttributes(idx));
	for (int i = 0; i < nkeys; i++)
	{
		if (keys[i].type == UUIDOID)
			ScanKeyInit(&skey[i], i + 1, BTEqualStrategyNumber, F_UUID_EQ, keys[i].value);
		else if (keys[i].type == TEXTOID)
			ScanKeyEntryInitialize(&skey[i], 0, i + 1, BTEqualStrategyNumber, InvalidOid,
								   idx->rd_indcollation[i], F_TEXTEQ, keys[i].value);
		else
			elog(ERROR, "pgcall_index_visit: key of type %u", keys[i].type);
	}
	scan = index_beginscan(rel, idx, snap, nkeys, 0);
	index_rescan(scan, skey, nkeys, NULL, 0);
	while (index_getnext_slot(scan, backward ? BackwardScanDirection : ForwardScanDirection, slot))
		if (!visit(slot, arg))
			break;
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(idx, AccessShareLock);
}

typedef struct RowsCopy
{
	IndexRow   *rows;
	int			n;
	int			cap;
	int			max;
} RowsCopy;

static bool
copy_row(TupleTableSlot *slot, void *arg)
{
	RowsCopy   *c = arg;
	TupleDesc	desc = slot->tts_tupleDescriptor;
	IndexRow   *r;

	if (c->n == c->cap)
	{
		c->cap *= 2;
		c->rows = repalloc(c->rows, sizeof(IndexRow) * c->cap);
	}
	r = &c->rows[c->n];
	r->values = palloc(sizeof(Datum) * desc->natts);
	r->nulls = palloc(sizeof(bool) * desc->natts);
	r->pos = c->n;
	heap_deform_tuple(ExecCopySlotHeapTuple(slot), desc, r->values, r->nulls);
	c->n++;
	return c->n != c->max;
}

/*
 * The rows pgcall_index_visit would visit, at most max of them (0: all),
 * as IndexRows with their columns deformed; returns how many.
 */
int
pgcall_index_rows(Relation rel, Oid indexid, const IndexKey *keys, int nkeys, Snapshot snap,
				  int max, bool backward, IndexRow **rows)
{
	RowsCopy	c = {palloc(sizeof(IndexRow) * 4), 0, 4, max};

	pgcall_index_visit(rel, indexid, keys, nkeys, snap, backward, copy_row, &c);
	*rows = c.rows;
	return c.n;
}

/*
 * Attribute number (0-based) of column name in desc; an internal error if
 * missing.  The answers are kept, per name (the callers pass string
 * constants, so a name is its pointer) and table, until the relation cache
 * of any table is invalidated (ALTER TABLE among it).
 */
#define COL_CACHE_SIZE 64

typedef struct ColCacheEntry
{
	Oid			relid;
	const char *name;
	int			att;
} ColCacheEntry;

static ColCacheEntry col_cache[COL_CACHE_SIZE];
static int	col_cache_used = 0;
static bool col_cache_callback = false;

static void
col_cache_reset(Datum arg, Oid relid)
{
	col_cache_used = 0;
}

static int
col_lookup(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return i;
	}
	elog(ERROR, "column \"%s\" is missing from one of pgcall's tables", name);
	return -1;
}

int
pgcall_column(TupleDesc desc, const char *name)
{
	int			att;

	for (int i = 0; i < col_cache_used; i++)
		if (col_cache[i].name == name && col_cache[i].relid == desc->tdtypeid)
			return col_cache[i].att;
	att = col_lookup(desc, name);
	if (!col_cache_callback)
	{
		CacheRegisterRelcacheCallback(col_cache_reset, (Datum) 0);
		col_cache_callback = true;
	}
	if (col_cache_used < COL_CACHE_SIZE)
		col_cache[col_cache_used++] = (ColCacheEntry)
		{
			desc->tdtypeid, name, att
		};
	return att;
}

/* The text column att of r as a C string, NULL when null. */
const char *
pgcall_row_text(const IndexRow *r, int att)
{
	return r->nulls[att] ? NULL : TextDatumGetCString(r->values[att]);
}

/* Whether the text column att of r is s (false when null), without copying it. */
bool
pgcall_row_text_is(const IndexRow *r, int att, const char *s)
{
	text	   *t;
	int			len;

	if (r->nulls[att])
		return false;
	t = DatumGetTextPP(r->values[att]);
	len = VARSIZE_ANY_EXHDR(t);
	return (int) strlen(s) == len && memcmp(VARDATA_ANY(t), s, len) == 0;
}

/* Whether the timestamptz column att of r is at or before now() (false when null). */
bool
pgcall_row_past(const IndexRow *r, int att)
{
	return !r->nulls[att] &&
		DatumGetTimestampTz(r->values[att]) <= GetCurrentTransactionStartTimestamp();
}

/*
 * The parsed checks of the tables written here, kept for the backend's
 * life: ExecConstraints parses each check from its stored text again for
 * every ResultRelInfo, 15,000 to 25,000 instructions for each of pgcall's
 * (a C function over several columns), once per transaction with events.
 * An entry holds the texts it was parsed from and is used only while the
 * table's checks are still exactly those texts.
 */
typedef struct CheckCache
{
	Oid			relid;
	int			ncheck;
	char	  **ccbin;
	Node	  **expr;
} CheckCache;

#define CHECK_CACHE_SIZE 8
static CheckCache check_cache[CHECK_CACHE_SIZE];

static Node **
parsed_checks(Relation rel)
{
	TupleConstr *constr = rel->rd_att->constr;
	Oid			relid = RelationGetRelid(rel);
	CheckCache *c = NULL;
	MemoryContext old;

	for (int i = 0; i < CHECK_CACHE_SIZE && c == NULL; i++)
		if (check_cache[i].relid == relid || check_cache[i].relid == InvalidOid)
			c = &check_cache[i];
	if (c == NULL)
		return NULL;			/* more tables than kept: parse as usual */
	if (c->relid == relid && c->ncheck == constr->num_check)
	{
		bool		same = true;

		for (int i = 0; i < c->ncheck && same; i++)
			same = strcmp(c->ccbin[i], constr->check[i].ccbin) == 0;
		if (same)
			return c->expr;
	}
	if (c->relid == relid)
	{
		for (int i = 0; i < c->ncheck; i++)
			pfree(c->ccbin[i]);
		pfree(c->ccbin);
		pfree(c->expr);			/* the trees stay: a few KB, only when checks change */
	}
	old = MemoryContextSwitchTo(CacheMemoryContext);
	c->ccbin = palloc(sizeof(char *) * Max(constr->num_check, 1));
	c->expr = palloc(sizeof(Node *) * Max(constr->num_check, 1));
	for (int i = 0; i < constr->num_check; i++)
	{
		c->ccbin[i] = pstrdup(constr->check[i].ccbin);
		c->expr[i] = stringToNode(constr->check[i].ccbin);
	}
	MemoryContextSwitchTo(old);
	c->relid = relid;
	c->ncheck = constr->num_check;
	return c->expr;
}

/* w's checks planned from the kept trees, where ExecConstraints looks for them. */
static void
writer_checks(RowWriter *w)
{
	TupleConstr *constr = w->rel->rd_att->constr;
	Node	  **expr;
	MemoryContext old;

	if (constr == NULL || constr->num_check == 0 || (expr = parsed_checks(w->rel)) == NULL)
		return;
	old = MemoryContextSwitchTo(w->estate->es_query_cxt);
	w->rri->ri_ConstraintExprs = palloc(sizeof(ExprState *) * constr->num_check);
	for (int i = 0; i < constr->num_check; i++)
		w->rri->ri_ConstraintExprs[i] = ExecPrepareExpr((Expr *) copyObjectImpl(expr[i]), w->estate);
	MemoryContextSwitchTo(old);
}

/*
 * Ready w to write rows of rel (opened by the caller with RowExclusiveLock):
 * its executor state, its indexes opened and a slot.  False, and nothing
 * to close, for a table the writer cannot fill as an INSERT would: not a
 * plain table, a partition, or with stored generated columns.
 */
bool
pgcall_writer_open(RowWriter *w, Relation rel)
{
	RangeTblEntry *rte;

	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relispartition ||
		(rel->rd_att->constr && rel->rd_att->constr->has_generated_stored))
		return false;
	w->rel = rel;
	w->estate = CreateExecutorState();
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(rel);
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(w->estate, list_make1(rte));
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, rel, 1, NULL, 0);
	w->estate->es_opened_result_relations = list_make1(w->rri);
	w->estate->es_output_cid = GetCurrentCommandId(true);
	ExecOpenIndices(w->rri, false);
	writer_checks(w);
	w->slot = ExecInitExtraTupleSlot(w->estate, RelationGetDescr(rel), &TTSOpsVirtual);
	return true;
}

/*
 * Write the row in w's slot (stored virtual, every column set): the
 * table's checks and not-null constraints, the heap, every index.  No
 * trigger fires.
 */
void
pgcall_writer_insert(RowWriter *w)
{
	if (w->rel->rd_att->constr)
		ExecConstraints(w->rri, w->slot, w->estate);
	simple_table_tuple_insert(w->rel, w->slot);
	if (w->rri->ri_NumIndices > 0)
		list_free(ExecInsertIndexTuples(w->rri, w->slot, w->estate, false, false, NULL, NIL));
	ResetPerTupleExprContext(w->estate);
}

void
pgcall_writer_close(RowWriter *w)
{
	ExecCloseIndices(w->rri);
	ExecResetTupleTable(w->estate->es_tupleTable, false);
	FreeExecutorState(w->estate);
}
