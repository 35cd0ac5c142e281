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
 * indexes, as logical replication's apply does, with the table's checks
 * (kept planned: see WriterPrep) and its columns' defaults.  Either its row
 * triggers fire, as an INSERT statement's would (pgcall_write_rows: a new
 * call's row, its participants, a conference's new member), or none does,
 * where the caller knows what they would do (pgcall_writer_insert;
 * events.c: a table without triggers; call_triggers.c: a foreign key
 * whose row it holds).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "executor/tuptable.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
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
 * compared in the index column's collation) or, for a timestamptz key,
 * at most it, in index order (backward: from the end), until it returns
 * false.  The slot holds the heap's visible version of the row, valid
 * until the next; slot_getattr reads its columns without copying it.
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
		if (keys[i].type == UUIDOID && !keys[i].upto)
			ScanKeyInit(&skey[i], i + 1, BTEqualStrategyNumber, F_UUID_EQ, keys[i].value);
		else if (keys[i].type == TEXTOID && !keys[i].upto)
			ScanKeyEntryInitialize(&skey[i], 0, i + 1, BTEqualStrategyNumber, InvalidOid,
								   idx->rd_indcollation[i], F_TEXTEQ, keys[i].value);
		else if (keys[i].type == TIMESTAMPTZOID && keys[i].upto)
			ScanKeyInit(&skey[i], i + 1, BTLessEqualStrategyNumber, F_TIMESTAMPTZ_LE, keys[i].value);
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
	return !r->nulls[att] && pgcall_text_is(r->values[att], s);
}

/* Whether the text value d is s, compared in place (no copy of a short value). */
bool
pgcall_text_is(Datum d, const char *s)
{
	text	   *t = DatumGetTextPP(d);
	int			len = VARSIZE_ANY_EXHDR(t);

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
 * What writing rows of a table needs that does not change from one
 * transaction to the next, kept for the backend's life (WriterPrep): each
 * index's IndexInfo with its predicate and expressions ready to run, and
 * the table's checks, column defaults and generated columns planned and
 * ready to run.  ExecOpenIndices builds the IndexInfos again for every
 * writer, and ExecPrepareExpr plans each expression again: together some
 * 20,000 instructions a table, four tables a call (docs/benchmarks.md).
 *
 * A prep is made once for a table and dropped when the relation cache
 * says the table or one of its indexes changed, or when any function does
 * (a default may call one inlined).  A writer may still use a dropped prep
 * (an invalidation arrives while indexes are opened, or a trigger writes
 * the same table): preps are counted by the writers using them, and a
 * dropped one is freed by its last writer, or at the transaction's end
 * after an error left its writers unclosed.  Each writer gets its own copy
 * of every IndexInfo, whose index access method may keep state in it
 * (ii_AmCache) for that writer only.
 */
typedef struct WriterPrep
{
	Oid			relid;
	MemoryContext cxt;			/* everything below */
	int			refs;			/* writers open with it */
	bool		dropped;
	int			nindexes;
	Oid		   *indexes;
	IndexInfo **info;
	ExprState **checks;			/* NULL when the table has none */
	ExprState **defaults;		/* per column, NULL where none */
	ExprState **generated;		/* per column, or NULL when none */
	int			ngenerated;
	struct WriterPrep *next;
} WriterPrep;

static WriterPrep *preps = NULL;	/* current and dropped ones still in use */
static bool prep_callbacks = false;

static void
prep_free(WriterPrep *p)
{
	WriterPrep **pp;

	for (pp = &preps; *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	MemoryContextDelete(p->cxt);	/* p is in it too */
}

static void
prep_drop(WriterPrep *p)
{
	p->dropped = true;
	if (p->refs == 0)
		prep_free(p);
}

/* the table relid or one of its indexes changed (InvalidOid: anything) */
static void
prep_relcache_callback(Datum arg, Oid relid)
{
	WriterPrep *next;

	for (WriterPrep *p = preps; p != NULL; p = next)
	{
		bool		hit = !OidIsValid(relid) || p->relid == relid;

		next = p->next;
		for (int i = 0; i < p->nindexes && !hit; i++)
			hit = p->indexes[i] == relid;
		if (hit && !p->dropped)
			prep_drop(p);
	}
}

static void
prep_proc_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	prep_relcache_callback(arg, InvalidOid);
}

/*
 * At the end of a transaction no writer is open, also those an error left
 * unclosed: the dropped preps go, the others are unused.
 */
static void
prep_xact_callback(XactEvent event, void *arg)
{
	WriterPrep *next;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PREPARE && event != XACT_EVENT_PARALLEL_COMMIT &&
		event != XACT_EVENT_PARALLEL_ABORT)
		return;
	for (WriterPrep *p = preps; p != NULL; p = next)
	{
		next = p->next;
		p->refs = 0;
		if (p->dropped)
			prep_free(p);
	}
}

/* expr (a stored tree's text) planned and ready to run, in the current context */
static ExprState *
prep_expr(const char *text)
{
	return ExecInitExpr(expression_planner((Expr *) stringToNode(text)), NULL);
}

/* The prep of rel, made now if there is none; counted as used by one more writer. */
static WriterPrep *
prep_get(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	TupleConstr *constr = desc->constr;
	WriterPrep *p;
	MemoryContext cxt;
	MemoryContext old;
	List	   *indexes;
	ListCell   *lc;
	int			i;

	for (p = preps; p != NULL; p = p->next)
		if (p->relid == relid && !p->dropped)
		{
			p->refs++;
			return p;
		}
	if (!prep_callbacks)
	{
		CacheRegisterRelcacheCallback(prep_relcache_callback, (Datum) 0);
		CacheRegisterSyscacheCallback(PROCOID, prep_proc_callback, (Datum) 0);
		RegisterXactCallback(prep_xact_callback, NULL);
		prep_callbacks = true;
	}

	/* made in a context of its own, which an error in between leaves to its parent */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "pgcall writer", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	p = palloc0(sizeof(WriterPrep));
	p->relid = relid;
	p->cxt = cxt;
	indexes = RelationGetIndexList(rel);
	p->nindexes = list_length(indexes);
	p->indexes = palloc(sizeof(Oid) * Max(p->nindexes, 1));
	p->info = palloc(sizeof(IndexInfo *) * Max(p->nindexes, 1));
	i = 0;
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), RowExclusiveLock);
		IndexInfo  *ii = BuildIndexInfo(index);

		if (ii->ii_Predicate != NIL)
			ii->ii_PredicateState = ExecInitQual(ii->ii_Predicate, NULL);
		if (ii->ii_Expressions != NIL)
			ii->ii_ExpressionsState = ExecInitExprList(ii->ii_Expressions, NULL);
		p->indexes[i] = lfirst_oid(lc);
		p->info[i++] = ii;
		index_close(index, NoLock);
	}
	if (constr && constr->num_check > 0)
	{
		p->checks = palloc(sizeof(ExprState *) * constr->num_check);
		for (i = 0; i < constr->num_check; i++)
			p->checks[i] = prep_expr(constr->check[i].ccbin);
	}
	p->defaults = palloc0(sizeof(ExprState *) * desc->natts);
	if (constr && constr->has_generated_stored)
		p->generated = palloc0(sizeof(ExprState *) * desc->natts);
	for (i = 0; constr && i < constr->num_defval; i++)
	{
		int			att = constr->defval[i].adnum - 1;
		ExprState  *e = prep_expr(constr->defval[i].adbin);

		if (TupleDescAttr(desc, att)->attgenerated == ATTRIBUTE_GENERATED_STORED)
		{
			p->generated[att] = e;
			p->ngenerated++;
		}
		else
			p->defaults[att] = e;
	}
	MemoryContextSwitchTo(old);
	MemoryContextSetParent(cxt, CacheMemoryContext);
	p->refs = 1;
	p->next = preps;
	preps = p;
	return p;
}

static void
prep_release(WriterPrep *p)
{
	if (--p->refs == 0 && p->dropped)
		prep_free(p);
}

/*
 * rel's indexes opened into w->rri, as ExecOpenIndices opens them, with a
 * copy of the prep's IndexInfo each.
 */
static void
writer_open_indexes(RowWriter *w)
{
	WriterPrep *p = w->prep;
	ResultRelInfo *rri = w->rri;

	rri->ri_NumIndices = p->nindexes;
	if (p->nindexes == 0)
		return;
	rri->ri_IndexRelationDescs = palloc(sizeof(Relation) * p->nindexes);
	rri->ri_IndexRelationInfo = palloc(sizeof(IndexInfo *) * p->nindexes);
	for (int i = 0; i < p->nindexes; i++)
	{
		IndexInfo  *ii = palloc(sizeof(IndexInfo));

		rri->ri_IndexRelationDescs[i] = index_open(p->indexes[i], RowExclusiveLock);
		memcpy(ii, p->info[i], sizeof(IndexInfo));
		ii->ii_AmCache = NULL;
		ii->ii_Context = CurrentMemoryContext;
		rri->ri_IndexRelationInfo[i] = ii;
	}
}

/*
 * Ready w to write rows of rel (opened by the caller with RowExclusiveLock):
 * its executor state, its indexes opened and a slot.  False, and nothing
 * to close, for a table the writer cannot fill as an INSERT would: not a
 * plain table, a partition, or with an identity column.
 */
bool
pgcall_writer_open(RowWriter *w, Relation rel)
{
	RangeTblEntry *rte;
	MemoryContext old;

	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relispartition)
		return false;
	for (int i = 0; i < RelationGetDescr(rel)->natts; i++)
		if (TupleDescAttr(RelationGetDescr(rel), i)->attidentity)
			return false;
	w->rel = rel;
	w->estate = CreateExecutorState();
	w->prep = prep_get(rel);
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
	old = MemoryContextSwitchTo(w->estate->es_query_cxt);
	writer_open_indexes(w);
	MemoryContextSwitchTo(old);
	/* where ExecConstraints and ExecComputeStoredGenerated look for them */
	w->rri->ri_ConstraintExprs = w->prep->checks;
	if (w->prep->generated)
	{
		w->rri->ri_GeneratedExprs = w->prep->generated;
		w->rri->ri_NumGeneratedNeeded = w->prep->ngenerated;
	}
	w->defaults = w->prep->defaults;
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
	if (w->rel->rd_att->constr && w->rel->rd_att->constr->has_generated_stored)
		ExecComputeStoredGenerated(w->rri, w->estate, w->slot, CMD_INSERT);
	if (w->rel->rd_att->constr)
		ExecConstraints(w->rri, w->slot, w->estate);
	simple_table_tuple_insert(w->rel, w->slot);
	if (w->rri->ri_NumIndices > 0)
		list_free(ExecInsertIndexTuples(w->rri, w->slot, w->estate, false, false, NULL, NIL));
	ResetPerTupleExprContext(w->estate);
}

/*
 * Fill the columns of w's slot that the caller did not set (given[att]
 * false) as an INSERT naming only the others would: the column's default,
 * else null; then store the row.
 */
static void
writer_fill(RowWriter *w, const bool *given)
{
	TupleTableSlot *slot = w->slot;
	ExprContext *econtext = GetPerTupleExprContext(w->estate);

	for (int i = 0; i < slot->tts_tupleDescriptor->natts; i++)
	{
		if (given[i])
			continue;
		/* a generated column is computed as the row is written */
		if (w->defaults[i] != NULL && !TupleDescAttr(slot->tts_tupleDescriptor, i)->attisdropped)
			slot->tts_values[i] = ExecEvalExprSwitchContext(w->defaults[i], econtext,
															&slot->tts_isnull[i]);
		else
		{
			slot->tts_values[i] = (Datum) 0;
			slot->tts_isnull[i] = true;
		}
	}
	ExecStoreVirtualTuple(slot);
}

/*
 * Rows written as one INSERT statement would write them, its row triggers
 * fired (pgcall_write_rows): writer_statement_begin, then
 * writer_insert_fired for each row, then writer_statement_end, which runs
 * the AFTER triggers.  Only for a table whose triggers are all row
 * triggers (writer_fires tells).
 */
static bool
writer_fires(Relation rel)
{
	TriggerDesc *td = rel->trigdesc;

	return td == NULL ||
		!(td->trig_insert_before_statement || td->trig_insert_after_statement ||
		  td->trig_insert_new_table || td->trig_insert_instead_row);
}

static void
writer_statement_begin(RowWriter *w)
{
	w->estate->es_snapshot = GetActiveSnapshot();
	AfterTriggerBeginQuery();
}

static void
writer_insert_fired(RowWriter *w)
{
	ExecSimpleRelationInsert(w->rri, w->estate, w->slot);
	ResetPerTupleExprContext(w->estate);
}

static void
writer_statement_end(RowWriter *w)
{
	AfterTriggerEndQuery(w->estate);
}

void
pgcall_writer_close(RowWriter *w)
{
	ExecCloseResultRelations(w->estate);
	ExecResetTupleTable(w->estate->es_tupleTable, false);
	FreeExecutorState(w->estate);
	prep_release(w->prep);
}

/*
 * Leave out of w's row triggers the checks of the table's foreign key to
 * the table held (its RI_FKey_check_ins triggers): for a caller that holds
 * the row each new row references, inserted by its own transaction (which
 * no other can see, let alone delete), so that the check, a statement per
 * row, could only find it.
 */
static void
writer_skip_fk_check(RowWriter *w, Oid held)
{
	TriggerDesc *td = w->rri->ri_TrigDesc;
	int			kept = 0;
	MemoryContext old;

	if (td == NULL || !OidIsValid(held))
		return;
	for (int i = 0; i < td->numtriggers; i++)
	{
		Trigger    *t = &td->triggers[i];

		if (t->tgisinternal && t->tgfoid == F_RI_FKEY_CHECK_INS && t->tgconstrrelid == held)
			continue;
		if (kept != i)
			td->triggers[kept] = *t;
		kept++;
	}
	if (kept == td->numtriggers)
		return;
	td->numtriggers = kept;
	/* the per-trigger arrays InitResultRelInfo made, for the triggers kept */
	old = MemoryContextSwitchTo(w->estate->es_query_cxt);
	w->rri->ri_TrigFunctions = palloc0(sizeof(FmgrInfo) * Max(kept, 1));
	w->rri->ri_TrigWhenExprs = palloc0(sizeof(ExprState *) * Max(kept, 1));
	MemoryContextSwitchTo(old);
}

/*
 * nrows rows of the table relid written as INSERT INTO relid (names...)
 * VALUES (...), (...) would write them (values and nulls row after row,
 * ncols each), its row triggers fired, without the statement: where the
 * current user writes the table as its owner with row-level security not
 * forced, and its triggers are row triggers only.  Returns false, with
 * nothing written, where that does not hold; the caller then runs the
 * INSERT.  A statement costs about as much to start as writing a row or
 * two (docs/benchmarks.md, "fewer statements in a call").  held, when
 * valid, is a table whose rows referenced by the new rows the caller
 * inserted in this transaction: the foreign key's checks are left out
 * (writer_skip_fk_check).
 */
bool
pgcall_write_rows(Oid relid, int ncols, const char *const *names, int nrows,
				  const Datum *values, const bool *nulls, Oid held)
{
	Relation	rel = table_open(relid, RowExclusiveLock);
	TupleDesc	desc = RelationGetDescr(rel);
	RowWriter	w;
	bool	   *given;
	int		   *atts;

	if (!pgcall_owner_reads(relid) || !writer_fires(rel))
	{
		table_close(rel, NoLock);
		return false;
	}
	/* as a statement starts: what was done so far visible, a new snapshot */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!pgcall_writer_open(&w, rel))
	{
		PopActiveSnapshot();
		table_close(rel, NoLock);
		return false;
	}
	given = palloc0(sizeof(bool) * desc->natts);
	atts = palloc(sizeof(int) * ncols);
	for (int c = 0; c < ncols; c++)
		given[atts[c] = pgcall_column(desc, names[c])] = true;

	writer_skip_fk_check(&w, held);
	writer_statement_begin(&w);
	for (int r = 0; r < nrows; r++)
	{
		ExecClearTuple(w.slot);
		for (int c = 0; c < ncols; c++)
		{
			w.slot->tts_values[atts[c]] = values[r * ncols + c];
			w.slot->tts_isnull[atts[c]] = nulls[r * ncols + c];
		}
		writer_fill(&w, given);
		writer_insert_fired(&w);
	}
	writer_statement_end(&w);
	pgcall_writer_close(&w);
	PopActiveSnapshot();
	table_close(rel, NoLock);
	return true;
}

/*
 * One row, its values and nulls as SPI takes them (' ' or 'n'), written
 * by pgcall_write_rows; false where it does not apply.
 */
bool
pgcall_write_row(Oid relid, int ncols, const char *const *names, const Datum *values,
				 const char *nulls)
{
	bool	   *isnull = palloc(sizeof(bool) * ncols);

	for (int i = 0; i < ncols; i++)
		isnull[i] = nulls[i] == 'n';
	return pgcall_write_rows(relid, ncols, names, 1, values, isnull, InvalidOid);
}
