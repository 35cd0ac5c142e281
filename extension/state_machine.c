/*
 * state_machine.c: the call and participant state machines, as data.
 *
 * The BEFORE triggers (call_triggers.c) allow exactly these transitions,
 * and pgcall.state_transitions() returns them, so the diagram in
 * docs/state-machine.svg is drawn from the same table the database
 * enforces (script/docs generates it).
 *
 * The statuses, end reasons, kinds and roles are C enums (pgcall.h) in the
 * functions that change calls; the tables below are the one place they
 * become the text stored in the columns, and back.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "pgcall.h"

typedef struct Transition
{
	const char *machine;
	const char *from;
	const char *to;
	const char *how;
} Transition;

static const Transition transitions[] = {
	{"call", "ringing", "active", "someone answers"},
	{"call", "ringing", "ended", "cancelled, rejected, missed, busy, unavailable, terminated"},
	{"call", "active", "ended", "completed, failed, terminated"},

	{"participant", "invited", "ringing", "the device rings"},
	{"participant", "invited", "joined", "answers"},
	{"participant", "invited", "declined", "declines"},
	{"participant", "invited", "missed", "timeout, cancelled, unavailable"},
	{"participant", "invited", "busy", "in another call"},
	{"participant", "ringing", "joined", "answers"},
	{"participant", "ringing", "declined", "declines"},
	{"participant", "ringing", "missed", "timeout, cancelled"},
	{"participant", "ringing", "busy", "busy on the device"},
	{"participant", "joined", "left", "hangs up, call ends"},
	{"participant", "left", "joined", "rejoins"},
	{"participant", "declined", "joined", "joins after all"},
	{"participant", "missed", "joined", "joins later"},
	{"participant", "busy", "joined", "joins later"},
	{"participant", "invited", "removed", "removed by an admin"},
	{"participant", "ringing", "removed", "removed by an admin"},
	{"participant", "joined", "removed", "removed by an admin"},
	{"participant", "left", "removed", "removed by an admin"},
	{"participant", "declined", "removed", "removed by an admin"},
	{"participant", "missed", "removed", "removed by an admin"},
	{"participant", "busy", "removed", "removed by an admin"},
};

/* Whether machine may go from one status to another; staying is allowed. */
bool
pgcall_transition_ok(const char *machine, const char *from, const char *to)
{
	if (strcmp(from, to) == 0)
		return true;
	for (int i = 0; i < lengthof(transitions); i++)
		if (strcmp(transitions[i].machine, machine) == 0 &&
			strcmp(transitions[i].from, from) == 0 &&
			strcmp(transitions[i].to, to) == 0)
			return true;
	return false;
}

PG_FUNCTION_INFO_V1(pgcall_state_transitions);

/* state_transitions() RETURNS TABLE(machine, from_status, to_status, how) */
Datum
pgcall_state_transitions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < lengthof(transitions); i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = CStringGetTextDatum(transitions[i].machine);
		values[1] = CStringGetTextDatum(transitions[i].from);
		values[2] = CStringGetTextDatum(transitions[i].to);
		values[3] = CStringGetTextDatum(transitions[i].how);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* --- the values as enums ----------------------------------------------------- */

/*
 * One table per enum: its values' text in enum order, index 0 being the
 * enum's NONE (NULL in the column).  Every conversion goes through
 * enum_name and enum_value below.
 */
typedef struct EnumText
{
	const char *what;			/* for errors: "call status" */
	const char *const *names;
	int			n;
} EnumText;

#define ENUM_VALUES(...) ((const char *const[]) {NULL, __VA_ARGS__})

/* table: the text of enum Type, whose last value is last. */
#define ENUM_TEXT(table, Type, last, what, ...) \
	static const EnumText table = {(what), ENUM_VALUES(__VA_ARGS__), lengthof(ENUM_VALUES(__VA_ARGS__))}; \
	StaticAssertDecl(lengthof(ENUM_VALUES(__VA_ARGS__)) == (last) + 1, #table " matches " #Type)

ENUM_TEXT(call_kinds, CallKind, CALL_CONFERENCE, "call kind", "direct", "group", "conference");
ENUM_TEXT(call_statuses, CallStatus, CALL_ENDED, "call status", "ringing", "active", "ended");
ENUM_TEXT(end_reasons, EndReason, END_TERMINATED, "end reason", "completed", "cancelled", "rejected",
		  "missed", "busy", "unavailable", "failed", "terminated");
ENUM_TEXT(part_statuses, PartStatus, PART_REMOVED, "participant status", "invited", "ringing",
		  "joined", "left", "declined", "missed", "busy", "removed");
ENUM_TEXT(part_roles, PartRole, ROLE_MEMBER, "participant role", "caller", "callee", "host", "member");

/* The index of s in t (1..n-1), 0 for NULL, -1 when unknown. */
static int
enum_lookup(const EnumText *t, const char *s)
{
	if (s == NULL)
		return 0;
	for (int i = 1; i < t->n; i++)
		if (strcmp(t->names[i], s) == 0)
			return i;
	return -1;
}

/* Text stored in a column: anything else is a bug, not a client's error. */
static int
enum_value(const EnumText *t, const char *s)
{
	int			i = enum_lookup(t, s);

	if (i < 0)
		elog(ERROR, "unknown %s \"%s\"", t->what, s);
	return i;
}

static const char *
enum_name(const EnumText *t, int v)
{
	if (v < 0 || v >= t->n)
		elog(ERROR, "%s %d out of range", t->what, v);
	return t->names[v];
}

/*
 * The conversions pgcall.h declares, for each enum: pgcall_<x>_name(v),
 * pgcall_<x>_of(text), and, for text a client gives, pgcall_<x>_lookup(s,
 * &v), false when s is NULL or not one of them.  The static assertions
 * of ENUM_TEXT keep each table as long as its enum.
 */
#define ENUM_CONVERSIONS(Type, x, table) \
	const char * \
	pgcall_##x##_name(Type v) \
	{ \
		return enum_name(&table, v); \
	} \
	Type \
	pgcall_##x##_of(const char *s) \
	{ \
		return (Type) enum_value(&table, s); \
	}

#define ENUM_LOOKUP(Type, x, table) \
	bool \
	pgcall_##x##_lookup(const char *s, Type *v) \
	{ \
		int			i = enum_lookup(&table, s); \
		\
		if (i <= 0) \
			return false; \
		*v = (Type) i; \
		return true; \
	}

ENUM_CONVERSIONS(CallKind, call_kind, call_kinds)
ENUM_CONVERSIONS(CallStatus, call_status, call_statuses)
ENUM_CONVERSIONS(EndReason, end_reason, end_reasons)
ENUM_CONVERSIONS(PartStatus, part_status, part_statuses)
ENUM_CONVERSIONS(PartRole, part_role, part_roles)
ENUM_LOOKUP(PartStatus, part_status, part_statuses)
ENUM_LOOKUP(EndReason, end_reason, end_reasons)
