/*
 * rowread.h: rows read by index and written, without SQL (rowread.c).
 */
#ifndef PGCALL_ROWREAD_H
#define PGCALL_ROWREAD_H

#include "postgres.h"

#include "nodes/execnodes.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

/* A row read by index: its columns deformed, and the order it was read in. */
typedef struct IndexRow
{
	Datum	   *values;
	bool	   *nulls;
	int			pos;
} IndexRow;

/*
 * One key of an index scan: a uuid or text value (type UUIDOID or
 * TEXTOID) the column equals, or a timestamptz (TIMESTAMPTZOID) it is at
 * most (upto).
 */
typedef struct IndexKey
{
	Oid			type;
	Datum		value;
	bool		upto;			/* column <= value (timestamptz only) */
} IndexKey;

extern bool pgcall_owner_reads(Oid relid);
extern Snapshot pgcall_statement_snapshot(void);
extern void pgcall_index_visit(Relation rel, Oid indexid, const IndexKey *keys, int nkeys,
							   Snapshot snap, bool backward,
							   bool (*visit) (TupleTableSlot *slot, void *arg), void *arg);
extern int	pgcall_index_rows(Relation rel, Oid indexid, const IndexKey *keys, int nkeys,
							  Snapshot snap, int max, bool backward, IndexRow **rows);
extern int	pgcall_column(TupleDesc desc, const char *name);
extern const char *pgcall_row_text(const IndexRow *r, int att);
extern bool pgcall_row_text_is(const IndexRow *r, int att, const char *s);
extern bool pgcall_text_is(Datum d, const char *s);
extern bool pgcall_row_past(const IndexRow *r, int att);

/* Rows written straight into a table and its indexes (pgcall_writer_*). */
typedef struct RowWriter
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;		/* fill tts_values and tts_isnull, then insert */
	ExprState **defaults;		/* per column, for writer_fill (rowread.c) */
	struct WriterPrep *prep;	/* what it was opened with (rowread.c) */
} RowWriter;

extern bool pgcall_writer_open(RowWriter *w, Relation rel);
extern void pgcall_writer_insert(RowWriter *w);
extern void pgcall_writer_close(RowWriter *w);
extern bool pgcall_write_rows(Oid relid, int ncols, const char *const *names, int nrows,
							  const Datum *values, const bool *nulls, Oid held);
extern bool pgcall_write_row(Oid relid, int ncols, const char *const *names, const Datum *values,
							 const char *nulls);

#endif
