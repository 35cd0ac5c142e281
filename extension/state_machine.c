/*
 * state_machine.c: the call and participant state machines, as data.
 *
 * The BEFORE triggers (call_triggers.c) allow exactly these transitions,
 * and pgcall.state_transitions() returns them, so the diagram in
 * docs/state-machine.svg is drawn from the same table the database
 * enforces (script/docs generates it).
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
