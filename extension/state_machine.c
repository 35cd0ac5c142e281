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

static const char *const call_kinds[] = {NULL, "direct", "group", "conference"};
static const char *const call_statuses[] = {NULL, "ringing", "active", "ended"};
static const char *const end_reasons[] = {NULL, "completed", "cancelled", "rejected", "missed",
"busy", "unavailable", "failed", "terminated"};
static const char *const part_statuses[] = {NULL, "invited", "ringing", "joined", "left",
"declined", "missed", "busy", "removed"};
static const char *const part_roles[] = {NULL, "caller", "callee", "host", "member"};

StaticAssertDecl(lengthof(call_kinds) == CALL_CONFERENCE + 1, "call_kinds matches CallKind");
StaticAssertDecl(lengthof(call_statuses) == CALL_ENDED + 1, "call_statuses matches CallStatus");
StaticAssertDecl(lengthof(end_reasons) == END_TERMINATED + 1, "end_reasons matches EndReason");
StaticAssertDecl(lengthof(part_statuses) == PART_REMOVED + 1, "part_statuses matches PartStatus");
StaticAssertDecl(lengthof(part_roles) == ROLE_MEMBER + 1, "part_roles matches PartRole");

/* The index of s in names (1..n-1), 0 for NULL, -1 when unknown. */
static int
lookup(const char *const *names, int n, const char *s)
{
	if (s == NULL)
		return 0;
	for (int i = 1; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

static int
value_of(const char *const *names, int n, const char *s, const char *what)
{
	int			i = lookup(names, n, s);

	if (i < 0)
		elog(ERROR, "unknown %s \"%s\"", what, s);
	return i;
}

static const char *
name_of(const char *const *names, int n, int v, const char *what)
{
	if (v < 0 || v >= n)
		elog(ERROR, "%s %d out of range", what, v);
	return names[v];
}

const char *
pgcall_call_kind_name(CallKind v)
{
	return name_of(call_kinds, lengthof(call_kinds), v, "call kind");
}

const char *
pgcall_call_status_name(CallStatus v)
{
	return name_of(call_statuses, lengthof(call_statuses), v, "call status");
}

const char *
pgcall_end_reason_name(EndReason v)
{
	return name_of(end_reasons, lengthof(end_reasons), v, "end reason");
}

const char *
pgcall_part_status_name(PartStatus v)
{
	return name_of(part_statuses, lengthof(part_statuses), v, "participant status");
}

const char *
pgcall_part_role_name(PartRole v)
{
	return name_of(part_roles, lengthof(part_roles), v, "participant role");
}

CallKind
pgcall_call_kind_of(const char *s)
{
	return (CallKind) value_of(call_kinds, lengthof(call_kinds), s, "call kind");
}

CallStatus
pgcall_call_status_of(const char *s)
{
	return (CallStatus) value_of(call_statuses, lengthof(call_statuses), s, "call status");
}

EndReason
pgcall_end_reason_of(const char *s)
{
	return (EndReason) value_of(end_reasons, lengthof(end_reasons), s, "end reason");
}

PartStatus
pgcall_part_status_of(const char *s)
{
	return (PartStatus) value_of(part_statuses, lengthof(part_statuses), s, "participant status");
}

PartRole
pgcall_part_role_of(const char *s)
{
	return (PartRole) value_of(part_roles, lengthof(part_roles), s, "participant role");
}

/* For text a client gives: false when s is NULL or not a participant status. */
bool
pgcall_part_status_lookup(const char *s, PartStatus *v)
{
	int			i = lookup(part_statuses, lengthof(part_statuses), s);

	if (i <= 0)
		return false;
	*v = (PartStatus) i;
	return true;
}

/* For text a client gives: false when s is NULL or not an end reason. */
bool
pgcall_end_reason_lookup(const char *s, EndReason *v)
{
	int			i = lookup(end_reasons, lengthof(end_reasons), s);

	if (i <= 0)
		return false;
	*v = (EndReason) i;
	return true;
}
